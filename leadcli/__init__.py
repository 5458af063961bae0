"""leadcli: a command-line CRM for sales leads over one local SQLite file, and the library under it.

    from leadcli import Database
    db = Database("leads.db")

`Database` is loaded on first use, so `import leadcli` stays cheap (see leadcli/api.py).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Database", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Database":
        # By name, so that type checkers do not see the package's face depend on everything below it.
        from importlib import import_module

        return import_module("leadcli.api").Database
    raise AttributeError(f"module 'leadcli' has no attribute {name!r}")
