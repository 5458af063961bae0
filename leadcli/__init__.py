"""leadcli: a command-line CRM for sales leads over one local SQLite file."""

__version__ = "0.1.0"
