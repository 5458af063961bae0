"""leadcli db: where the database is and its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The database file: its path, schema migrations, checks and backups.",
                  no_args_is_help=True)


@app.command("path")
def path() -> None:
    """Print the database file's path (from --db, LEADCLI_DB or the user data dir), or its URL.

    \b
    Example:
      leadcli db path
      LEADCLI_DB=/srv/crm/leads.db leadcli db path
    """
    from leadcli import output
    from leadcli.commands._context import current_store

    output.line(current_store().location)


@app.command("migrate")
def migrate() -> None:
    """Bring the database's schema up to date (also done on every open).

    \b
    Example:
      leadcli db migrate
    """
    from leadcli import output
    from leadcli.commands._context import current_store
    from leadcli.store.migrations import LATEST

    applied = current_store().migrate()
    if applied:
        output.message(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        output.message(f"the schema is up to date (version {LATEST})")


@app.command("check")
def check() -> None:
    """Run the integrity and foreign-key checks and say what is wrong (exit 1 if anything is).

    \b
    Example:
      leadcli db check
      leadcli --format json db check
    """
    from leadcli import output
    from leadcli.commands._context import current_store
    from leadcli.errors import DatabaseError
    from leadcli.output import Column

    findings = current_store().check()
    output.rows(findings, [Column("check"), Column("ok"), Column("detail", wrap=True)])
    failed = [f["check"] for f in findings if not f["ok"]]
    if failed:
        raise DatabaseError(f"the database has problems: {', '.join(failed)}",
                            hint="restore a backup (`leadcli db backup` makes them) or fix the file's mode")
    output.message("the database is healthy")


@app.command("backup")
def backup(
    target: Annotated[Path, typer.Argument(help="Where to write the copy.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Overwrite TARGET if it exists.")] = False,
) -> None:
    """Copy the database to FILE with SQLite's online backup API (safe while other commands run).

    On PostgreSQL use pg_dump, or `leadcli db copy --to FILE`.

    \b
    Example:
      leadcli db backup ~/backups/leads-$(date +%F).db
    """
    from leadcli import output
    from leadcli.commands._context import current_store

    db = current_store()
    size = db.backup(target, force=force)
    output.message(f"backed up {db.location} to {target} ({size:,} bytes, mode 0600)")


@app.command("copy")
def copy(
    to: Annotated[str, typer.Option("--to", help="The target: a postgresql+psycopg:// URL or a SQLite file.",
                                    show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace the rows of a target that holds data.")] = False,
) -> None:
    """Copy the whole database to another one (SQLite file <-> PostgreSQL), checking every table.

    Each table's rows are counted and checksummed in the source and the copy; any difference, or a
    target that already holds data (without --force), writes nothing.

    \b
    Example:
      leadcli db copy --to postgresql+psycopg://crm@db.example.com/leads
      leadcli --db postgresql+psycopg://crm@db.example.com/leads db copy --to ~/leads-copy.db
    """
    from leadcli import output
    from leadcli.commands._context import current_store
    from leadcli.output import Column
    from leadcli.store import Store
    from leadcli.store.copy import copy as copy_database

    source, target = current_store(), Store(to)
    findings = copy_database(source, target, force=force)
    output.rows(findings, [Column("table"), Column("rows"), Column("copied"), Column("checksum"), Column("ok")])
    total = sum(f["rows"] for f in findings)
    output.message(f"copied {total:,} rows in {len(findings)} tables from {source.location} to {target.location}")
