"""leadcli db: where the database is and its schema."""

from __future__ import annotations

import typer

app = typer.Typer(help="The database file: its path, schema migrations, checks and backups.",
                  no_args_is_help=True)


@app.command("path")
def path() -> None:
    """Print the database file's path (from --db, LEADCLI_DB or the user data dir).

    \b
    Example:
      leadcli db path
      LEADCLI_DB=/srv/crm/leads.db leadcli db path
    """
    from leadcli import db, output

    output.line(str(db.resolve_path()))


@app.command("migrate")
def migrate() -> None:
    """Bring the database's schema up to date (also done on every open).

    \b
    Example:
      leadcli db migrate
    """
    from leadcli import db, output
    from leadcli.migrations import LATEST

    applied = db.migrate()
    if applied:
        output.message(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        output.message(f"the schema is up to date (version {LATEST})")
