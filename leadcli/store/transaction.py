"""One transaction per command: a session that commits on success and rolls back on any error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from leadcli.store import sqlite_runs
from leadcli.store.paths import resolve_path
from leadcli.store.session_common import session_in_transaction
from leadcli.store.sqlite import driver_error, engine, ensure_wal, translate_error
from leadcli.store.sqlite_migrate import migrate

if TYPE_CHECKING:
    from sqlmodel import Session


@contextmanager
def session(write: bool = False, path: Path | None = None) -> Iterator[Session]:
    """A SQLModel session inside one transaction: committed on success, rolled back on any error.

    `write=True` starts with BEGIN IMMEDIATE, so the command waits (up to the busy timeout) for
    the write lock instead of failing half-way. Library code may use savepoints
    (`session.begin_nested()`); `session.commit()` inside the block only releases a savepoint.
    """
    from sqlalchemy.exc import DatabaseError as SADatabaseError
    from sqlalchemy.exc import OperationalError

    path = path or resolve_path()
    migrate(path, for_write=write)
    eng = engine(path)
    try:
        with eng.connect() as conn:
            if write:  # an import killed between its batches is rolled back first (one query when none)
                sqlite_runs.recover(cast(sqlite3.Connection, conn.connection.driver_connection), path)
            conn = conn.execution_options(leadcli_begin="IMMEDIATE" if write else "DEFERRED")
            with session_in_transaction(conn) as s:
                yield s
        if write:
            ensure_wal(path)
    except (OperationalError, SADatabaseError, sqlite3.DatabaseError) as exc:
        orig = driver_error(exc)
        if orig is not None:
            raise translate_error(orig, path) from exc
        raise
