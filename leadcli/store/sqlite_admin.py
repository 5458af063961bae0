"""`db check` and `db backup` on a SQLite file: integrity, foreign keys, file mode, online backup."""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import suppress
from pathlib import Path

from leadcli.errors import DatabaseError
from leadcli.store.migrations import LATEST
from leadcli.store.paths import file_mode, private_folder, resolve_path
from leadcli.store.sqlite import BUSY_TIMEOUT_MS, file_state, schema_version, translate_error
from leadcli.store.sqlite_file import connect_ro, inspect, uri
from leadcli.store.sqlite_migrate import migrate


def check(path: Path | None = None) -> list[dict]:
    """Integrity and foreign-key checks; one row per finding, `ok` rows when all is well."""
    path = path or resolve_path()
    if not path.exists():
        raise DatabaseError(f"no database at {path}", hint="create one with any command, e.g. `leadcli list`")
    state = inspect(path)  # refuses another application's file or one that is not SQLite, untouched
    try:
        con = connect_ro(path, state.immutable, BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from exc
    try:
        return _findings(con, path)
    except sqlite3.DatabaseError as exc:
        raise translate_error(exc, path) from exc
    finally:
        con.close()


def _findings(con: sqlite3.Connection, path: Path) -> list[dict]:
    version = schema_version(con)
    findings: list[dict] = [{"check": "schema version", "ok": version <= LATEST,
                             "detail": f"{version} (this leadcli knows up to {LATEST})"}]
    problems = _pragma_rows(con, "integrity_check")
    findings.append({"check": "integrity", "ok": problems == ["ok"],
                     "detail": "ok" if problems == ["ok"] else "; ".join(problems[:20])})
    try:
        orphans = con.execute("PRAGMA foreign_key_check").fetchall()
        detail = "; ".join(f"{t} row {r} points at a missing {p}" for t, r, p, _ in orphans[:20])
    except sqlite3.DatabaseError as exc:  # too damaged to read
        orphans, detail = [exc], f"could not be checked: {exc}"
    findings.append({"check": "foreign keys", "ok": not orphans, "detail": detail or "ok"})
    mode = file_mode(path)
    findings.append({"check": "file mode", "ok": mode & 0o077 == 0,
                     "detail": oct(mode) + ("" if mode & 0o077 == 0 else " (others can read it: chmod 600)")})
    return findings


def _pragma_rows(con: sqlite3.Connection, pragma: str) -> list[str]:
    """The rows of an integrity pragma; a file too damaged to walk is one problem, not a crash."""
    try:
        return [row[0] for row in con.execute(f"PRAGMA {pragma}")]
    except sqlite3.DatabaseError as exc:
        return [f"the file could not be read through: {exc}"]


def backup(target: Path, *, force: bool = False, path: Path | None = None) -> int:
    """Copy the database to `target` with SQLite's online backup API; returns the bytes written.

    The copy is one consistent snapshot even while other commands write, and is created 0600: written
    to a temporary file beside `target` and renamed, so a full disk leaves neither a partial copy nor
    debris, and a symbolic link at `target` is replaced, never followed.
    """
    source = path or resolve_path()
    if not source.exists():
        raise DatabaseError(f"no database at {source}", hint="check --db / LEADCLI_DB")
    target = target.expanduser()
    if target.resolve() == source.resolve():
        raise DatabaseError("the backup would overwrite the database itself", hint="choose another file name")
    if os.path.isdir(target):
        raise DatabaseError(f"{target} is a folder", hint="give the backup a file name")
    if os.path.lexists(target) and not force:
        raise DatabaseError(f"{target} already exists", hint="choose another name or pass --force")
    migrate(source, for_write=False)
    tmp = _temp_beside(target)
    try:
        _copy(source, tmp)
        os.replace(tmp, target)
    except (sqlite3.Error, OSError) as exc:
        _remove(tmp)
        raise _write_error(exc, target, source) from exc
    except BaseException:
        _remove(tmp)
        raise
    return target.stat().st_size


def _temp_beside(target: Path) -> Path:
    """A new, empty 0600 file in `target`'s folder (made 0700 if missing), with a name nobody else has."""
    import tempfile

    try:
        private_folder(target.parent)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise DatabaseError(f"cannot write {target} ({exc.strerror})",
                            hint="check the folder exists and is writable") from None
    os.close(fd)
    return Path(name)


def _remove(tmp: Path) -> None:
    for name in (str(tmp), f"{tmp}-journal", f"{tmp}-wal", f"{tmp}-shm"):
        with suppress(OSError):
            os.unlink(name)


def _write_error(exc: sqlite3.Error | OSError, target: Path, source: Path) -> DatabaseError:
    if isinstance(exc, sqlite3.Error) and ("malformed" in str(exc) or "not a database" in str(exc)):
        return translate_error(exc, source)
    text = str(exc) if isinstance(exc, sqlite3.Error) else (exc.strerror or str(exc))
    if "full" in text or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DatabaseError(f"cannot write the backup {target}: the disk is full",
                             hint=f"free some space (or write elsewhere); {target} was left as it was")
    return DatabaseError(f"cannot write the backup {target} ({text})", hint=f"{target} was left as it was")


def _copy(source: Path, target: Path) -> None:
    state = file_state(source)
    src = connect_ro(source, state.immutable, BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(uri(target, "rw"), uri=True)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
