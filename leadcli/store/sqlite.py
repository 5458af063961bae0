"""Where the database lives, how it is opened, and how each command gets one transaction.

SQLite specifics (pragmas, WAL, file mode, BEGIN IMMEDIATE) live here and nowhere else.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from leadcli.errors import DatabaseError
from leadcli.store.paths import create_private_file, file_mode, now_iso, resolve_path

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


# ---------------------------------------------------------------- migrations


def schema_version(raw: sqlite3.Connection) -> int:
    return raw.execute("PRAGMA user_version").fetchone()[0]


def migrate(path: Path | None = None, upto: int | None = None) -> list[str]:
    """Apply every pending migration (or those up to version `upto`); return the names applied.

    Refuses databases newer than this program.
    """
    from leadcli.store.migrations import LATEST, MIGRATIONS

    eng = engine(path)
    applied: list[str] = []
    try:
        raw = eng.raw_connection()
    except Exception as exc:
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.DatabaseError):
            raise _translate(orig, path or resolve_path()) from exc
        raise
    try:
        dbapi = raw.driver_connection
        current = _checked_version(dbapi, LATEST, path)
        if current == LATEST:
            return applied
        for version, name, statements in MIGRATIONS:
            if version <= current or (upto is not None and version > upto):
                continue
            dbapi.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the lock.
                if schema_version(dbapi) >= version:
                    dbapi.execute("ROLLBACK")
                    continue
                for statement in statements:
                    dbapi.execute(statement)
                dbapi.execute(
                    "INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, now_iso()),
                )
                dbapi.execute(f"PRAGMA user_version = {int(version)}")
                dbapi.execute("COMMIT")
            except BaseException:
                dbapi.execute("ROLLBACK")
                raise
            applied.append(name)
        return applied
    except sqlite3.DatabaseError as exc:
        raise _translate(exc, path or resolve_path()) from exc
    finally:
        raw.close()


def _checked_version(dbapi: sqlite3.Connection, latest: int, path: Path | None) -> int:
    current = schema_version(dbapi)
    if current > latest:
        raise DatabaseError(
            f"the database {path or resolve_path()} has schema version {current}, "
            f"newer than this leadcli understands ({latest}); it was left untouched",
            hint="upgrade leadcli (pip install -U leadcli) or point --db at another database",
        )
    return current


def _translate(exc: sqlite3.DatabaseError, path: Path) -> DatabaseError:
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


# ---------------------------------------------------------------- one transaction per command


@contextmanager
def session(write: bool = False, path: Path | None = None) -> Iterator[Session]:
    """A SQLModel session inside one transaction: committed on success, rolled back on any error.

    `write=True` starts with BEGIN IMMEDIATE, so the command waits (up to the busy timeout) for
    the write lock instead of failing half-way. Library code may use savepoints
    (`session.begin_nested()`); `session.commit()` inside the block only releases a savepoint.
    """
    from sqlalchemy.exc import DatabaseError as SADatabaseError
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    path = path or resolve_path()
    migrate(path)
    eng = engine(path)
    try:
        with eng.connect() as conn:
            conn = conn.execution_options(leadcli_begin="IMMEDIATE" if write else "DEFERRED")
            trans = conn.begin()
            s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
            try:
                yield s
                s.flush()
                trans.commit()
            except BaseException:
                trans.rollback()
                raise
            finally:
                s.close()
    except (OperationalError, SADatabaseError) as exc:
        orig = getattr(exc, "orig", None)
        if isinstance(orig, sqlite3.DatabaseError):
            raise _translate(orig, path) from exc
        raise


def raw_connection(s: Session) -> sqlite3.Connection:
    """The sqlite3 connection under a session, for executemany on hot paths (same transaction)."""
    return s.connection().connection.driver_connection


# ---------------------------------------------------------------- checks and backups


def check(path: Path | None = None) -> list[dict]:
    """Integrity and foreign-key checks; one row per finding, `ok` rows when all is well."""
    path = path or resolve_path()
    if not path.exists():
        raise DatabaseError(f"no database at {path}", hint="create one with any command, e.g. `leadcli list`")
    from leadcli.store.migrations import LATEST

    findings: list[dict] = []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _translate(exc, path) from exc
    try:
        version = schema_version(con)
        findings.append({"check": "schema version", "ok": version <= LATEST,
                         "detail": f"{version} (this leadcli knows up to {LATEST})"})
        problems = [row[0] for row in con.execute("PRAGMA integrity_check")]
        findings.append({"check": "integrity", "ok": problems == ["ok"],
                         "detail": "ok" if problems == ["ok"] else "; ".join(problems[:20])})
        orphans = con.execute("PRAGMA foreign_key_check").fetchall()
        findings.append({"check": "foreign keys", "ok": not orphans,
                         "detail": "ok" if not orphans else "; ".join(
                             f"{t} row {r} points at a missing {p}" for t, r, p, _ in orphans[:20])})
        mode = file_mode(path)
        findings.append({"check": "file mode", "ok": mode & 0o077 == 0,
                         "detail": oct(mode) + ("" if mode & 0o077 == 0 else " (others can read it: chmod 600)")})
    except sqlite3.DatabaseError as exc:
        raise _translate(exc, path) from exc
    finally:
        con.close()
    return findings


def backup(target: Path, *, force: bool = False, path: Path | None = None) -> int:
    """Copy the database to `target` with SQLite's online backup API; returns the bytes written.

    The copy is one consistent snapshot even while other commands write, and is created 0600.
    """
    source = path or resolve_path()
    if not source.exists():
        raise DatabaseError(f"no database at {source}", hint="check --db / LEADCLI_DB")
    target = target.expanduser()
    if target.resolve() == source.resolve():
        raise DatabaseError("the backup would overwrite the database itself", hint="choose another file name")
    if target.exists():
        if not force:
            raise DatabaseError(f"{target} already exists", hint="choose another name or pass --force")
        target.unlink()
    migrate(source)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    create_private_file(tmp)
    try:
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
            src.close()
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise _translate(exc, source) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.stat().st_size
