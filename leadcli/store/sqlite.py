"""SQLite: the engine, its pragmas (WAL, busy timeout, foreign keys), the database file, and
what SQLite's errors mean to a user.

SQLite specifics live here and in the other `store/sqlite_*.py` modules, nowhere else.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, cast

from leadcli.errors import DatabaseError
from leadcli.store.paths import create_private_file, resolve_path
from leadcli.store.sqlite_file import FileState, damaged_error, inspect, quick_check, readonly_error, uri

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

# A million-row import holds the write lock for ~13 s (BENCHMARKS.md); an interactive command
# waits that out with room to spare instead of failing with "database is locked".
BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_states: dict[str, FileState] = {}


def _prepare_file(path: Path) -> FileState:
    """Create a new database file, or look at an existing one before any write (refusing files that are
    not leadcli databases); what was found is kept for the engine's connections."""
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except PermissionError:
        raise DatabaseError(f"cannot reach the database {path}: a folder on the way is not open to you",
                            hint="check the folders' permissions, or pass another file with --db PATH or "
                                 "LEADCLI_DB") from None
    if is_dir:
        raise DatabaseError(f"{path} is a folder, not a database file", hint="pass a file path with --db")
    if not exists:
        create_private_file(path)
    try:
        return inspect(path)
    except PermissionError:
        raise DatabaseError(f"cannot read the database {path}: the file is not open to you",
                            hint="check the file's permissions, or pass another file with --db") from None


def file_state(path: Path) -> FileState:
    """What was found on the file when this process first opened it (see `sqlite_file.inspect`)."""
    engine(path)
    return _states[str(path)]


def check_for_write(path: Path) -> None:
    """Before the first write of a command: refuse (DatabaseError, nothing written) a damaged file or one
    we cannot write."""
    state = file_state(path)
    try:
        quick_check(path, state)
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from exc
    if state.damaged:
        raise damaged_error(path, state.damaged)
    if state.readonly:
        raise readonly_error(path)


def ensure_wal(path: Path) -> None:
    """After a command's first successful write, put the file in WAL mode if it is not yet (a new database,
    a restored backup): a one-time header change, made only once the command has written anyway, so that
    a read or refused command never changes a byte of the file."""
    state = file_state(path)
    if state.wal or state.readonly or state.damaged:
        return
    try:
        with closing(engine(path).raw_connection()) as raw:
            dbapi = cast(sqlite3.Connection, raw.driver_connection)
            state.wal = dbapi.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise translate_error(exc, path) from exc
        # another process holds the file: the next writing command switches it


def _on_connect(state: FileState, dbapi_conn, _record) -> None:
    # SQLAlchemy's pysqlite driver otherwise issues its own BEGINs; we issue ours (see _on_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    if state.readonly or state.damaged:
        # Reads only: any write fails at once (translated by translate_error).
        cur.execute("PRAGMA query_only = ON")
    # WAL (set by ensure_wal after the first write) + NORMAL survives a crashed or killed process;
    # only a power cut may lose the last commit.
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _on_begin(conn) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then
    # writes can fail with SQLITE_BUSY at once in WAL mode, without waiting on busy_timeout.
    mode = conn.get_execution_options().get("leadcli_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def engine(path: Path | None = None) -> Engine:
    """The engine of the database at `path` (made once per file and process).

    Connections open exactly the file named (see `sqlite_file.uri`), never create one (that is
    `_prepare_file`'s, 0600), and are read-only on a file we cannot write or that is damaged."""
    path = path or resolve_path()
    key = str(path)
    if key not in _engines:
        from functools import partial

        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        state = _prepare_file(path)
        name = uri(path, "ro" if state.readonly else "rw", state.immutable)

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(name, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)

        eng = create_engine("sqlite+pysqlite://", creator=connect, poolclass=NullPool)
        event.listen(eng, "connect", partial(_on_connect, state))
        event.listen(eng, "begin", _on_begin)
        _engines[key], _states[key] = eng, state
    return _engines[key]


def dispose_all() -> None:
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()
    _states.clear()


def raw_connection(s: Session) -> sqlite3.Connection:
    """The sqlite3 connection under a session, for executemany on hot paths (same transaction)."""
    return cast(sqlite3.Connection, s.connection().connection.driver_connection)


# What a second rollback says when SQLite already rolled the transaction back on its own.
_ROLLBACK_NOISE = ("no transaction is active", "no such savepoint")


def driver_error(exc: BaseException) -> sqlite3.DatabaseError | None:
    """The driver's database error behind `exc` (itself, or what SQLAlchemy wrapped), if any.

    A failed rollback ("cannot rollback - no transaction is active") is never the answer: the error
    it happened while handling (a full disk, say) is."""
    seen: set[int] = set()
    found: sqlite3.DatabaseError | None = None
    at: BaseException | None = exc
    while at is not None and id(at) not in seen:
        seen.add(id(at))
        orig = getattr(at, "orig", at)
        if isinstance(orig, sqlite3.DatabaseError):
            if not any(noise in str(orig) for noise in _ROLLBACK_NOISE):
                return orig
            found = found or orig
        at = at.__context__
    return found


def translate_error(exc: sqlite3.Error, path: Path) -> DatabaseError:
    """A driver error as a message that says what happened to the user's file and what to do."""
    text = str(exc)
    state = _states.get(str(path))
    if "malformed" in text or "corrupt" in text or (state is not None and state.damaged and "readonly" in text):
        return damaged_error(path, state.damaged if state is not None and state.damaged else f"SQLite says: {text}")
    if "not a database" in text:
        return DatabaseError(
            f"{path} is not a readable leadcli database (SQLite says: {text})",
            hint="check the path given with --db / LEADCLI_DB, or restore a backup",
        )
    if "locked" in text or "busy" in text:
        return DatabaseError(
            f"the database {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s",
            hint="wait for the other leadcli command (e.g. a running import) to finish and retry",
        )
    if "disk is full" in text:
        return DatabaseError(f"the disk holding the database {path} is full ({text}); nothing was changed",
                             hint="free some space and run the command again")
    if state is not None and state.readonly and ("readonly" in text or "unable to open" in text):
        return readonly_error(path)
    if "readonly" in text or "unable to open" in text:
        return DatabaseError(f"cannot write to the database {path} ({text})",
                             hint="check the file's permissions or pass another --db")
    return DatabaseError(f"database error on {path}: {text}")


def schema_version(raw: sqlite3.Connection) -> int:
    return raw.execute("PRAGMA user_version").fetchone()[0]
