"""What a SQLite file is before leadcli writes a byte to it: ours, another application's, not SQLite at all,
damaged, or read-only for us. Every look here is read-only, so a refused file keeps every byte.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from leadcli.errors import DatabaseError

HEADER = b"SQLite format 3\x00"
# `PRAGMA quick_check` reads the whole file (about 2 ms per MB): done once before the first write of a
# command to a file up to this size; a bigger file is trusted until SQLite itself reports damage
# (SQLITE_CORRUPT), so start-up stays flat at a million leads. Read commands never pay for it.
QUICK_CHECK_BYTES = 4 * 1024 * 1024
# The tables of a leadcli database that has no schema record yet never exist in one.
OURS = "schema_migration"


@dataclass
class FileState:
    """What leadcli found when it first opened the file in this process."""

    readonly: bool = False  # the file or its folder cannot be written by us
    damaged: str = ""  # the first problem `PRAGMA quick_check` reported, or ""
    immutable: bool = False  # a WAL file in a read-only folder with no -shm: opened as immutable
    checked: bool = False  # `quick_check` has run (or the file is too big for it to be cheap)
    wal: bool = False  # the file is in WAL mode (its header says so, or we switched it)


def uri(path: Path, mode: str = "rw", immutable: bool = False) -> str:
    """The SQLite URI of the file named `path`, every character of the name escaped: a `?`, `#` or `%41`
    in a file name is part of the name, never a query or an escape."""
    name = quote(os.fsencode(os.path.abspath(path)), safe="/")
    return f"file:{name}?mode={mode}" + ("&immutable=1" if immutable else "")


def connect_ro(path: Path, immutable: bool = False, timeout: float = 30.0) -> sqlite3.Connection:
    return sqlite3.connect(uri(path, "ro", immutable), uri=True, timeout=timeout, check_same_thread=False)


def writable(path: Path) -> bool:
    """True when we may write the file and create its journal beside it."""
    folder = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)


def inspect(path: Path) -> FileState:
    """Refuse (DatabaseError) a file that is not a leadcli database; else what is known of it.

    Call it on an existing file before any connection that may write (WAL switch, migration)."""
    with open(path, "rb") as fh:
        head = fh.read(100)
    state = FileState(readonly=not writable(path))
    if not head:
        return state  # an empty file is a new database
    if not head.startswith(HEADER):
        raise DatabaseError(f"{path} is not a readable leadcli database (not a SQLite file); leadcli left it untouched",
                            hint="check the path given with --db / LEADCLI_DB")
    state.wal = wal = len(head) > 19 and head[18] == 2
    state.immutable = state.readonly and wal and not os.path.exists(f"{path}-shm") and \
        not os.access(path.parent if str(path.parent) else ".", os.W_OK)
    try:
        con = connect_ro(path, state.immutable)
    except sqlite3.Error as exc:
        raise _unreadable(path, exc) from exc
    try:
        _refuse_foreign(con, path)
    except sqlite3.DatabaseError as exc:
        if not _is_damage(exc):
            raise _unreadable(path, exc) from exc
        state.damaged, state.checked = str(exc), True
    finally:
        con.close()
    return state


def quick_check(path: Path, state: FileState) -> None:
    """Fill `state.damaged` from `PRAGMA quick_check` (read-only) when the file is small enough for it
    to be cheap; once per file and process."""
    if state.checked:
        return
    state.checked = True
    if os.path.getsize(path) > QUICK_CHECK_BYTES:
        return
    try:
        con = connect_ro(path, state.immutable)
        try:
            found = con.execute("PRAGMA quick_check(1)").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if not _is_damage(exc):
            raise
        found = str(exc)
    state.damaged = "" if found == "ok" else str(found)


def _is_damage(exc: sqlite3.Error) -> bool:
    return "malformed" in str(exc) or "corrupt" in str(exc)


def _refuse_foreign(con: sqlite3.Connection, path: Path) -> None:
    names = [row[0] for row in con.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if not names or OURS in names:
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise DatabaseError(f"{path} is a SQLite database of another application (tables: {shown}); "
                        "leadcli left it untouched",
                        hint="point --db / LEADCLI_DB at a leadcli database, or at a new file to start one")


def _unreadable(path: Path, exc: sqlite3.Error) -> DatabaseError:
    return DatabaseError(f"{path} is not a readable leadcli database (SQLite says: {exc}); leadcli left it untouched",
                         hint="check the path given with --db / LEADCLI_DB, or restore a backup")


def damaged_error(path: Path, detail: str) -> DatabaseError:
    import shlex

    return DatabaseError(f"the database {path} is damaged ({detail}); nothing was changed",
                         hint=f"see the damage with `leadcli --db {shlex.quote(str(path))} db check`; save what "
                              "can be read with "
                              "`leadcli db backup FILE` (or `sqlite3 FILE .recover`) and restore a good backup")


def readonly_error(path: Path, why: str = "this command changes it") -> DatabaseError:
    return DatabaseError(f"the database {path} is read-only for you ({why}); nothing was changed",
                         hint="read commands work on it; to change it, make the file and its folder writable "
                              "(or copy it with `leadcli db backup FILE`)")
