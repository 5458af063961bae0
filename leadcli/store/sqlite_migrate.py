"""Applying the migrations of `migrations.py` to a SQLite file, each with its record, atomically."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

from leadcli.errors import DatabaseError
from leadcli.store.migrations import LATEST, MIGRATIONS
from leadcli.store.paths import now_iso, resolve_path
from leadcli.store.sqlite import (
    check_for_write,
    driver_error,
    engine,
    ensure_wal,
    file_state,
    schema_version,
    translate_error,
)
from leadcli.store.sqlite_file import readonly_error


def migrate(path: Path | None = None, upto: int | None = None, *, for_write: bool = True) -> list[str]:
    """Apply every pending migration (or those up to version `upto`); return the names applied.

    Refuses databases newer than this program, and, when `for_write` (the caller writes next) or a
    migration is pending, damaged files and files we cannot write (`check_for_write`).
    """
    path = path or resolve_path()
    try:
        raw = engine(path).raw_connection()
    except Exception as exc:
        orig = driver_error(exc)
        if orig is not None:
            raise translate_error(orig, path) from exc
        raise
    try:
        dbapi = cast(sqlite3.Connection, raw.driver_connection)
        current = _checked_version(dbapi, path)
        if for_write or current < LATEST:
            _refuse_unwritable(path, current)
        if current == LATEST:
            return []
        applied = [name for version, name, statements in MIGRATIONS
                   if current < version and (upto is None or version <= upto)
                   and _apply(dbapi, version, name, statements)]
    except sqlite3.DatabaseError as exc:
        raise translate_error(exc, path) from exc
    finally:
        raw.close()
    ensure_wal(path)
    return applied


def _apply(dbapi: sqlite3.Connection, version: int, name: str, statements: list[str]) -> bool:
    """One migration and its record in one transaction; False when another process was first."""
    dbapi.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        if schema_version(dbapi) >= version:
            dbapi.execute("ROLLBACK")  # nothing written yet: our own transaction is still open
            return False
        for statement in statements:
            dbapi.execute(statement)
        dbapi.execute(
            "INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, now_iso()),
        )
        dbapi.execute(f"PRAGMA user_version = {int(version)}")
        dbapi.execute("COMMIT")
    except BaseException:
        if dbapi.in_transaction:  # SQLite may have rolled back on its own (a full disk): nothing to undo
            dbapi.execute("ROLLBACK")
        raise
    return True


def _refuse_unwritable(path: Path, current: int) -> None:
    """A migration is a write, and so is what a writing command does next."""
    if current < LATEST and file_state(path).readonly:
        why = (f"its schema {current} needs an upgrade to {LATEST}, which writes to it; make it writable "
               "once and run `leadcli db migrate`") if current else "a new database needs its tables created"
        raise readonly_error(path, why)
    check_for_write(path)


def _checked_version(dbapi: sqlite3.Connection, path: Path) -> int:
    current = schema_version(dbapi)
    if current > LATEST:
        raise DatabaseError(
            f"the database {path} has schema version {current}, "
            f"newer than this leadcli understands ({LATEST}); it was left untouched",
            hint="upgrade leadcli (pip install -U leadcli) or point --db at another database",
        )
    return current
