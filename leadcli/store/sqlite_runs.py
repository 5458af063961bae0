"""Imports that commit in batches: the lock that says a run is alive, and the rollback of a dead one.

A large import into a large SQLite database commits its new leads in batches (see `sqlite_bulk`),
so other commands can write between them. Until its last transaction the run's `import_run` row
says it is in progress (`finished_at` is empty) and names the id range it reserved. While it
runs, the import holds a shared `flock` on `<database>-import.lock`; the operating system drops
that lock when the process ends, however it ends (`kill -9` included).

The next command that writes (or the next import) finds in-progress runs; when it can take the
lock exclusively no import is alive, so those runs were abandoned: their leads, activities and
run rows are deleted, from the top id down in bounded transactions (each one records how far it
got, so a rollback killed half-way is finished by the next command). A run that is still alive
holds the lock and is left alone.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadcli.errors import Notice

IN_PROGRESS = ""  # `import_run.finished_at` of a run whose batches are still being written
_DELETE_ROWS = 50_000  # leads deleted per transaction when rolling back an abandoned run
PAUSE = 0.12  # s between two transactions: longer than SQLite's busy handler sleeps (100 ms)


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + "-import.lock")


def _open_lock(db: Path) -> int | None:
    try:
        return os.open(lock_path(db), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None  # a folder we cannot write: no batched import can run there either


@contextmanager
def running(db: Path) -> Iterator[None]:
    """Held by an import from before its run is recorded as in progress until it is finished."""
    fd = _open_lock(db)
    if fd is None:
        from leadcli.errors import DatabaseError

        raise DatabaseError(f"cannot create the import's lock file {lock_path(db)}",
                            hint="the database's folder must be writable for a large import")
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def in_progress(raw: sqlite3.Connection) -> list[tuple[int, int | None, int | None]]:
    """(id, first_lead_id, last_lead_id) of the runs recorded as in progress."""
    try:
        return raw.execute("SELECT id, first_lead_id, last_lead_id FROM import_run WHERE finished_at = ? "
                           "ORDER BY id DESC", (IN_PROGRESS,)).fetchall()
    except sqlite3.OperationalError:
        return []  # no import_run table (yet): nothing to recover


def recover(raw: sqlite3.Connection, db: Path) -> list[int]:
    """Roll back the in-progress runs of imports that died; the ids of the runs rolled back.

    Call outside any transaction on `raw`. Costs one query on `import_run` when nothing is in progress.
    """
    if raw.in_transaction or not in_progress(raw):
        return []
    fd = _open_lock(db)
    if fd is None:
        return []
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []  # an import is running: its run is alive
        runs = in_progress(raw)  # read again under the lock: no import can start meanwhile
        for run_id, first, last in runs:
            _roll_back(raw, run_id, first, last)
    finally:
        os.close(fd)
    if runs:
        warnings.warn(Notice(
            "rolled back " + ", ".join(f"import run {r}" for r, _, _ in runs)
            + ": interrupted before it finished (its leads are removed; import the file again)"), stacklevel=2)
    return [r for r, _, _ in runs]


def _key(run_id: int) -> str:
    return f"import.dropped_indexes.{run_id}"


def keep_indexes(raw: sqlite3.Connection, run_id: int, sqls: list[str]) -> None:
    """The definitions of the indexes run `run_id` drops for its batches (in its transaction)."""
    import json

    raw.execute("INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (_key(run_id), json.dumps(sqls)))


def build_indexes(raw: sqlite3.Connection, run_id: int, sqls: list[str]) -> None:
    """Build the indexes `sqls` that are missing, each in its own transaction with a pause after
    it, then forget them. SQLite sorts each in pieces the size of a small cache with two helper
    threads: faster than with the import's big cache, and less memory (see `insert_leads`)."""
    cache_size = raw.execute("PRAGMA main.cache_size").fetchone()[0]
    raw.execute("PRAGMA main.cache_size = -4096")
    raw.execute("PRAGMA threads = 2")
    try:
        for sql in sqls:
            _transaction(raw, re.sub(r"^CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", sql, count=1))
            time.sleep(PAUSE)
    finally:
        raw.execute("PRAGMA threads = 0")
        raw.execute(f"PRAGMA main.cache_size = {int(cache_size)}")
    _transaction(raw, "DELETE FROM setting WHERE key = ?", (_key(run_id),))


def _transaction(raw: sqlite3.Connection, sql: str, params: tuple = ()) -> None:
    raw.execute("BEGIN IMMEDIATE")
    try:
        raw.execute(sql, params)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


def _dropped_indexes(raw: sqlite3.Connection, run_id: int) -> list[str]:
    import json

    row = raw.execute("SELECT value FROM setting WHERE key = ?", (_key(run_id),)).fetchone()
    return [str(sql) for sql in json.loads(row[0])] if row else []


def _roll_back(raw: sqlite3.Connection, run_id: int, first: int | None, last: int | None) -> None:
    """Delete what an abandoned run wrote: its leads top down in bounded transactions, then the run.
    Indexes it dropped are built first: deleting leads without them would scan a table per lead."""
    dropped = _dropped_indexes(raw, run_id)
    if dropped:
        build_indexes(raw, run_id, dropped)
    while first is not None and last is not None and last >= first:
        low = max(first, last - _DELETE_ROWS + 1)
        raw.execute("BEGIN IMMEDIATE")
        try:
            raw.execute("DELETE FROM lead WHERE id BETWEEN ? AND ?", (low, last))
            raw.execute("UPDATE import_run SET last_lead_id = ? WHERE id = ?", (low - 1, run_id))
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        last = low - 1
        time.sleep(PAUSE)
    raw.execute("BEGIN IMMEDIATE")
    try:
        raw.execute("DELETE FROM activity WHERE run_id = ?", (run_id,))
        raw.execute("DELETE FROM import_change WHERE run_id = ?", (run_id,))
        raw.execute("DELETE FROM import_run WHERE id = ?", (run_id,))
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
