"""`db check` and `db backup` on a SQLite file: integrity, foreign keys, file mode, online backup."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from leadcli.errors import DatabaseError
from leadcli.store.migrations import LATEST
from leadcli.store.paths import create_private_file, file_mode, resolve_path
from leadcli.store.sqlite import BUSY_TIMEOUT_MS, schema_version, translate_error
from leadcli.store.sqlite_migrate import migrate


def check(path: Path | None = None) -> list[dict]:
    """Integrity and foreign-key checks; one row per finding, `ok` rows when all is well."""
    path = path or resolve_path()
    if not path.exists():
        raise DatabaseError(f"no database at {path}", hint="create one with any command, e.g. `leadcli list`")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
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
        _copy(source, tmp)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise translate_error(exc, source) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
