"""SQLite: the engine, its pragmas (WAL, busy timeout, foreign keys), the database file, and
what SQLite's errors mean to a user.

SQLite specifics live here and in the other `store/sqlite_*.py` modules, nowhere else.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, cast

from leadcli.errors import DatabaseError
from leadcli.store.paths import create_private_file, resolve_path

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

# A million-row import holds the write lock for ~13 s (BENCHMARKS.md); an interactive command
# waits that out with room to spare instead of failing with "database is locked".
BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}


def _prepare_file(path: Path) -> None:
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except PermissionError:
        raise DatabaseError(f"cannot reach the database {path}: a folder on the way is not open to you",
                            hint="check the folders' permissions, or pass another file with --db PATH or "
                                 "LEADCLI_DB") from None
    if exists:
        if is_dir:
            raise DatabaseError(f"{path} is a folder, not a database file", hint="pass a file path with --db")
        return
    create_private_file(path)


def _on_connect(dbapi_conn, _record) -> None:
    # SQLAlchemy's pysqlite driver otherwise issues its own BEGINs; we issue ours (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
    from leadcli.store.migrations import LATEST

    # Switching to WAL rewrites the header: never do it to a database from a newer leadcli.
    if mode != "wal" and cur.execute("PRAGMA user_version").fetchone()[0] <= LATEST:
        cur.execute("PRAGMA journal_mode = WAL")
    # WAL + NORMAL survives a crashed or killed process; only a power cut may lose the last commit.
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _on_begin(conn) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then
    # writes can fail with SQLITE_BUSY at once in WAL mode, without waiting on busy_timeout.
    mode = conn.get_execution_options().get("leadcli_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def engine(path: Path | None = None) -> Engine:
    """The engine of the database at `path` (made once per file and process)."""
    path = path or resolve_path()
    key = str(path)
    if key not in _engines:
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        _prepare_file(path)
        eng = create_engine(
            f"sqlite+pysqlite:///{path}",
            poolclass=NullPool,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(eng, "connect", _on_connect)
        event.listen(eng, "begin", _on_begin)
        _engines[key] = eng
    return _engines[key]


def dispose_all() -> None:
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()


def raw_connection(s: Session) -> sqlite3.Connection:
    """The sqlite3 connection under a session, for executemany on hot paths (same transaction)."""
    return cast(sqlite3.Connection, s.connection().connection.driver_connection)


def driver_error(exc: BaseException) -> sqlite3.DatabaseError | None:
    """The driver's database error behind `exc` (itself, or what SQLAlchemy wrapped), if any."""
    orig = getattr(exc, "orig", exc)
    return orig if isinstance(orig, sqlite3.DatabaseError) else None


def translate_error(exc: sqlite3.Error, path: Path) -> DatabaseError:
    """A driver error as a message that says what happened to the user's file and what to do."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return DatabaseError(
            f"{path} is not a readable leadcli database (SQLite says: {text})",
            hint="check the path given with --db / LEADCLI_DB, or restore a backup",
        )
    if "locked" in text or "busy" in text:
        return DatabaseError(
            f"the database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s",
            hint="wait for the other leadcli command (e.g. a running import) to finish and retry",
        )
    if "readonly" in text or "unable to open" in text:
        return DatabaseError(f"cannot write to the database {path} ({text})",
                             hint="check the file's permissions or pass another --db")
    return DatabaseError(f"database error on {path}: {text}")


def schema_version(raw: sqlite3.Connection) -> int:
    return raw.execute("PRAGMA user_version").fetchone()[0]
