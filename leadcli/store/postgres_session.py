"""One transaction per command on PostgreSQL: a session that commits on success and rolls back on any error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from leadcli.errors import DatabaseError
from leadcli.store.postgres import engine, is_driver_error, translate_error
from leadcli.store.postgres_migrate import migrate
from leadcli.store.session_common import session_in_transaction

if TYPE_CHECKING:
    from sqlmodel import Session

# pg_advisory_xact_lock key of leadcli's interactive writers ("wrt!" in ASCII).
WRITE_LOCK_KEY = 0x77727421


@contextmanager
def session(url: str, write: bool = False) -> Iterator[Session]:
    """A SQLModel session inside one transaction: committed on success, rolled back on any error.

    `write=True` waits for the other writing commands first (an advisory lock held to the commit)."""
    migrate(url)
    try:
        # As SQLite's BEGIN IMMEDIATE: interactive writers take turns (waiting up to lock_timeout),
        # so a command that reads then writes (convert, next) sees what the writer before it did.
        # Imports write through their own connection and do not queue here.
        lock = _wait_for_writers if write else None
        with engine(url).connect() as conn, session_in_transaction(conn, after_begin=lock) as s:
            yield s
    except Exception as exc:
        if isinstance(exc, DatabaseError) or not is_driver_error(exc):
            raise
        raise translate_error(exc, url) from exc


def _wait_for_writers(conn: Any) -> None:
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
