"""The write lock stays short: a large import commits in batches, stays one run, and a run killed
between two batches is rolled back by the next command that writes; `import undo` writes back only
the columns an import changes, whatever a crafted database holds.

The batches are forced small here (LEADCLI_IMPORT_BATCH_ROWS) so the suite runs in seconds; the
figures at 1,000,000 + 1,000,000 leads are `bench/import.py --preload`'s (BENCHMARKS.md).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# The file itself: SQLite's write lock, file locks, a crafted SQLite file.
pytestmark = pytest.mark.sqlite_only

HEADER = ["First Name", "Last Name", "Email", "Company", "Lead Source", "Lead Status", "Industry"]


def _csv(path: Path, n: int, start: int = 0, company: str = "Co") -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(start, start + n):
            w.writerow([f"First{i}", f"Last{i}", f"p{i}@c{i % 97}.example", f"{company} {i % 97}",
                        ["web", "referral"][i % 2], ["Open - Not Contacted", "Qualified"][i % 2], "IT"])
    return path


def _leadcli(db: Path, *args: str, batch: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "LEADCLI_DB": str(db)}
    if batch:
        env["LEADCLI_IMPORT_BATCH_ROWS"] = str(batch)
    return subprocess.Popen([sys.executable, "-m", "leadcli", "-q", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run(db: Path, *args: str, batch: int | None = None) -> tuple[str, str]:
    proc = _leadcli(db, *args, batch=batch)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode(), err.decode()


def _query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _leads(db: Path) -> list[tuple]:
    """The leads as a user sees them (no timestamps), and their history and tags."""
    return (_query(db, "SELECT id, name, email, company, source, status, fields FROM lead ORDER BY id")
            + _query(db, "SELECT lead_id, from_status, to_status, reason FROM status_change ORDER BY 1, 2, 3")
            + _query(db, "SELECT lead_id, tag FROM lead_tag ORDER BY 1, 2"))


@pytest.fixture
def base(tmp_path: Path) -> Path:
    db = tmp_path / "base.db"
    _run(db, "import", str(_csv(tmp_path / "first.csv", 300, start=1_000_000)))
    return db


@pytest.fixture
def big_base(tmp_path: Path) -> Path:
    """A database with more leads than the imports below: their batches update the indexes in place."""
    db = tmp_path / "big-base.db"
    _run(db, "import", str(_csv(tmp_path / "first.csv", 5000, start=1_000_000)))
    return db


def _indexes(db: Path) -> list[tuple]:
    return _query(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")


class Writer(threading.Thread):
    """A concurrent interactive writer: BEGIN IMMEDIATE every 20 ms (waiting on SQLite's busy
    handler, as `add` does); its longest wait, and how many writes it made while a run was in progress."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db, self.stop = db, threading.Event()
        self.longest, self.during_run = 0.0, 0

    def run(self) -> None:
        con = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        while not self.stop.is_set():
            time.sleep(0.02)
            started = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            self.longest = max(self.longest, time.perf_counter() - started)
            busy = con.execute("SELECT count(*) FROM import_run WHERE finished_at = ''").fetchone()[0]
            con.execute("INSERT OR REPLACE INTO setting (key, value) VALUES ('test.probe', ?)", (str(time.time()),))
            con.execute("COMMIT")
            self.during_run += busy
        con.close()


def test_a_batched_import_lets_writers_in_between_its_batches_and_stays_one_run(tmp_path, base):
    big = _csv(tmp_path / "big.csv", 6000)
    writer = Writer(base)
    writer.start()
    out, _ = _run(base, "import", str(big), "--json", batch=400)
    writer.stop.set()
    writer.join()
    summary = json.loads(out)
    assert summary["created"] == 6000 and summary["run_id"] == 2
    # Between the batches the lock was free: the writer got in many times while the run was open,
    # and never waited long for it.
    assert writer.during_run >= 5, writer.during_run
    assert writer.longest < 2.0, writer.longest
    runs = _query(base, "SELECT id, first_lead_id, last_lead_id, created, finished_at FROM import_run ORDER BY id")
    assert runs[1][:4] == (2, 301, 6300, 6000) and runs[1][4]
    assert _query(base, "SELECT count(*), min(id), max(id) FROM lead") == [(6300, 1, 6300)]
    # One run: undone as one.
    _run(base, "import", "undo", "2", "--yes")
    assert _query(base, "SELECT count(*) FROM lead") == [(300,)]
    assert _query(base, "SELECT count(*) FROM status_change WHERE lead_id > 300") == [(0,)]


def test_batches_into_a_larger_table_keep_its_indexes_and_let_writers_in(tmp_path, big_base):
    indexes = _indexes(big_base)
    writer = Writer(big_base)
    writer.start()
    out, _ = _run(big_base, "import", str(_csv(tmp_path / "more.csv", 3000)), "--json", batch=300)
    writer.stop.set()
    writer.join()
    assert json.loads(out)["created"] == 3000
    assert writer.during_run >= 5 and writer.longest < 2.0, (writer.during_run, writer.longest)
    assert _indexes(big_base) == indexes
    assert _query(big_base, "SELECT count(*), max(id) FROM lead") == [(8000, 8000)]


def test_kill_9_between_in_place_batches_is_rolled_back(tmp_path, big_base):
    before = _leads(big_base)
    more = _csv(tmp_path / "more.csv", 3000)
    _kill_while_in_progress(big_base, more, 200, 5000)
    _, err = _run(big_base, "add", "Late Comer", "--email", "late@example.com")
    assert "rolled back import run 2" in err
    assert _leads(big_base)[:5000] == before[:5000] and _query(big_base, "SELECT count(*) FROM lead") == [(5001,)]


def test_batched_and_single_transaction_imports_write_the_same(tmp_path, base):
    """Matches, updates, in-file duplicates and new leads: the same leads, history and undo log either way."""
    mixed = tmp_path / "mixed.csv"
    _csv(tmp_path / "part.csv", 2000)
    rows = list(csv.reader((tmp_path / "part.csv").open()))
    with mixed.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerows(rows)
        w.writerows([[f"First{i}", f"Last{i}", f"p{i}@c{i % 97}.example", "Moved Co", "web", "Qualified", "Retail"]
                     for i in list(range(1_000_000, 1_000_150)) + list(range(0, 300))])
    once, batched = tmp_path / "once.db", tmp_path / "batched.db"
    for db, batch in ((once, None), (batched, 250)):
        _copy(base, db)
        out, _ = _run(db, "import", str(mixed), "--on-duplicate", "update", "--json", batch=batch)
        assert json.loads(out)["created"] == 2000
    assert _leads(once) == _leads(batched)
    log = "SELECT lead_id, before, tags_added FROM import_change ORDER BY lead_id"
    assert _query(once, log) == _query(batched, log) and len(_query(once, log)) == 150
    _run(batched, "import", "undo", "2", "--yes")
    assert _leads(batched) == _leads(base)


def _copy(src: Path, dst: Path) -> None:
    con, out = sqlite3.connect(src), sqlite3.connect(dst)
    con.backup(out)
    out.close()
    con.close()


def _kill_while_in_progress(db: Path, csv_path: Path, batch: int, leads_before: int) -> int:
    """Start the import and kill -9 it once some of its batches are committed; the leads then."""
    proc = _leadcli(db, "import", str(csv_path), batch=batch)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        open_runs = _query(db, "SELECT count(*) FROM import_run WHERE finished_at = ''")[0][0]
        count = _query(db, "SELECT count(*) FROM lead")[0][0]
        if open_runs and count > leads_before + 2 * batch:
            break
        assert proc.poll() is None, "the import finished before it could be interrupted"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _query(db, "SELECT count(*) FROM lead")[0][0]


def test_kill_9_between_batches_is_rolled_back_by_the_next_write_and_reimport_works(tmp_path, base):
    big = _csv(tmp_path / "big.csv", 4000)
    before, indexes = _leads(base), _indexes(base)
    partial = _kill_while_in_progress(base, big, 200, 300)
    assert 300 < partial < 4300  # half-written: the run says so (in progress), nothing passes it as finished
    assert _query(base, "SELECT id, finished_at FROM import_run WHERE id = 2") == [(2, "")]
    assert _query(base, "PRAGMA integrity_check") == [("ok",)]
    # Readers still work and do not roll back; the import does not count as a run of the file.
    _run(base, "list", "--limit", "5")
    assert _query(base, "SELECT count(*) FROM lead")[0][0] == partial
    # The run dropped the indexes to build them after its batches: they are gone until it is rolled back.
    assert len(_indexes(base)) < len(indexes)
    # The next command that writes rolls the abandoned run back, and says so.
    _, err = _run(base, "add", "Late Comer", "--email", "late@example.com")
    assert "rolled back import run 2" in err and "interrupted" in err
    assert _query(base, "SELECT count(*) FROM import_run") == [(1,)]
    assert _leads(base)[:300] == before[:300] and _query(base, "SELECT count(*) FROM lead") == [(301,)]
    assert _indexes(base) == indexes
    assert _query(base, "SELECT count(*) FROM setting WHERE key LIKE 'import.%'") == [(0,)]
    out, _ = _run(base, "import", str(big), "--json", batch=200)
    assert json.loads(out)["created"] == 4000 and json.loads(out)["repeat_of"] is None
    assert _query(base, "SELECT count(*) FROM lead") == [(4301,)]


def test_the_next_import_rolls_back_an_abandoned_run_and_then_imports_the_file(tmp_path, base):
    big = _csv(tmp_path / "big.csv", 3000)
    _kill_while_in_progress(base, big, 150, 300)
    out, err = _run(base, "import", str(big), "--json", batch=150)
    assert "rolled back import run 2" in err
    assert json.loads(out)["created"] == 3000
    assert _query(base, "SELECT count(*), max(id) FROM lead") == [(3300, 3300)]
    assert _query(base, "SELECT count(*) FROM import_run WHERE finished_at = ''") == [(0,)]


@pytest.mark.slow
def test_kill_9_at_random_moments_of_a_batched_import(tmp_path, base):
    """Wherever the kill lands: integrity holds, and the next write leaves before or after, never between."""
    import random

    big = _csv(tmp_path / "big.csv", 3000)
    before = _leads(base)
    full = tmp_path / "full.db"
    _copy(base, full)
    _run(full, "import", str(big), batch=300)
    after = _leads(full)
    rng = random.Random(17)
    for trial in range(8):
        db = tmp_path / f"trial{trial}.db"
        _copy(base, db)
        proc = _leadcli(db, "import", str(big), batch=300)
        time.sleep(rng.uniform(0.3, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _query(db, "PRAGMA integrity_check") == [("ok",)]
        _run(db, "edit", "1", "--title", "probe")  # a write: rolls back whatever was left in progress
        assert _leads(db) in (before, after)


def test_a_live_import_is_not_rolled_back_by_a_concurrent_write(tmp_path, base):
    """The running import holds its lock: `add` meanwhile leaves its run alone."""
    big = _csv(tmp_path / "big.csv", 4000)
    proc = _leadcli(base, "import", str(big), "--json", batch=200)
    deadline = time.monotonic() + 120
    while not _query(base, "SELECT count(*) FROM import_run WHERE finished_at = ''")[0][0]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    _, err = _run(base, "add", "Mid Run", "--email", "mid@example.com")
    assert "rolled back" not in err
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and json.loads(out)["created"] == 4000
    # The lead added meanwhile took an id above the run's range, which stays whole.
    assert _query(base, "SELECT count(*) FROM lead WHERE id BETWEEN 301 AND 4300") == [(4000,)]
    assert _query(base, "SELECT id FROM lead WHERE email = 'mid@example.com'")[0][0] > 4300


# ---------------------------------------------------------------- a crafted undo log


def _updated_run(cli, tmp_path: Path) -> Path:
    """A database where run 2 updated leads 1-3 (its undo log in import_change)."""
    cli.ok("import", str(_csv(tmp_path / "a.csv", 5)))
    cli.ok("import", str(_csv(tmp_path / "b.csv", 3, company="Other")), "--on-duplicate", "update")
    return Path(os.environ["LEADCLI_DB"])


def _digest(db: Path) -> str:
    import leadcli.store

    leadcli.store.dispose_all()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return hashlib.sha256(db.read_bytes()).hexdigest()


@pytest.mark.parametrize("before", [
    '{"company": "x", "archived_at": "2020-01-01"}',
    '{"company = (SELECT sql FROM sqlite_master), name": 1}',
    '{"id": 999}',
    '{"company": {"nested": 1}}',
    '["company"]',
    'not json',
])
def test_undo_refuses_a_crafted_change_log_and_changes_nothing(cli, tmp_path, before):
    db = _updated_run(cli, tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE import_change SET before = ? WHERE lead_id = 2", (before,))
    con.commit()
    con.close()
    digest = _digest(db)
    result = cli("import", "undo", "2", "--yes")
    assert result.exit_code == 1
    assert "import run 2 cannot be undone: its change log for lead 2" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert _digest(db) == digest


@pytest.mark.parametrize("column, value", [("tags_added", '"a tag"'), ("history_ids", '["1; DROP TABLE lead"]')])
def test_undo_refuses_crafted_tags_or_history(cli, tmp_path, column, value):
    db = _updated_run(cli, tmp_path)
    con = sqlite3.connect(db)
    con.execute(f"UPDATE import_change SET {column} = ? WHERE lead_id = 1", (value,))
    con.commit()
    con.close()
    digest = _digest(db)
    assert cli("import", "undo", "2", "--yes").exit_code == 1
    assert _digest(db) == digest


def test_undo_restores_the_whitelisted_columns_with_bound_values(cli, tmp_path):
    """Values that look like SQL are data: restored as written, nothing else touched."""
    db = _updated_run(cli, tmp_path)
    hostile = "x', status = 'converted"
    con = sqlite3.connect(db)
    con.execute("UPDATE import_change SET before = ? WHERE lead_id = 3", (json.dumps({"company": hostile}),))
    con.commit()
    con.close()
    result = cli.ok("import", "undo", "2", "--yes")
    assert "restored 3 lead(s)" in result.stderr
    rows = _query(db, "SELECT id, company, status FROM lead WHERE id <= 3 ORDER BY id")
    assert [r[1] for r in rows] == ["Co 0", "Co 1", hostile]
    assert [r[2] for r in rows] == ["new", "qualified", "new"]


# ---------------------------------------------------------------- the WAL under readers that never pause


def _grow_wal(db: Path) -> None:
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("CREATE TABLE IF NOT EXISTS filler (x TEXT)")
        con.executemany("INSERT INTO filler VALUES (?)", [("x" * 1000,)] * 2000)


def test_a_long_wal_is_truncated_between_batches(cli, isolated_db, monkeypatch):
    from leadcli.store import sqlite_bulk

    cli.ok("-q", "add", "Ana")
    monkeypatch.setattr(sqlite_bulk, "_WAL_TRUNCATE_FROM", 1)
    with sqlite_bulk.bulk_writer(Path(isolated_db)) as writer:
        _grow_wal(Path(isolated_db))
        assert os.path.getsize(f"{isolated_db}-wal") > 1_000_000
        writer._truncate_long_wal()
        assert os.path.getsize(f"{isolated_db}-wal") == 0


def test_a_reader_that_never_lets_go_delays_the_truncation_a_second_at_most(cli, isolated_db, monkeypatch):
    """A reader on an old snapshot keeps the WAL: the importer waits at most _WAL_TRUNCATE_WAIT_MS, then goes
    on with its usual busy timeout (other writers wait no longer than that either)."""
    from leadcli.store import sqlite_bulk
    from leadcli.store.sqlite import BUSY_TIMEOUT_MS

    cli.ok("-q", "add", "Ana")
    monkeypatch.setattr(sqlite_bulk, "_WAL_TRUNCATE_FROM", 1)
    reader = sqlite3.connect(isolated_db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM lead").fetchone()  # a snapshot older than what follows
    try:
        with sqlite_bulk.bulk_writer(Path(isolated_db)) as writer:
            _grow_wal(Path(isolated_db))
            started = time.monotonic()
            writer._truncate_long_wal()
            waited = time.monotonic() - started
            assert 0.5 <= waited < 5, waited
            assert os.path.getsize(f"{isolated_db}-wal") > 0  # kept: the reader still needs it
            assert writer.raw.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    finally:
        reader.execute("COMMIT")
        reader.close()


def test_a_wal_with_much_left_to_copy_is_left_for_a_later_pause(cli, isolated_db, monkeypatch):
    """Truncating copies what readers of older snapshots still hold back, with other writers waiting: when that
    is more than _WAL_TRUNCATE_PENDING pages, the importer does not try (and nobody waits)."""
    from leadcli.store import sqlite_bulk

    cli.ok("-q", "add", "Ana")
    monkeypatch.setattr(sqlite_bulk, "_WAL_TRUNCATE_FROM", 1)
    monkeypatch.setattr(sqlite_bulk, "_WAL_TRUNCATE_PENDING", 10)
    reader = sqlite3.connect(isolated_db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM lead").fetchone()
    try:
        with sqlite_bulk.bulk_writer(Path(isolated_db)) as writer:
            _grow_wal(Path(isolated_db))
            started = time.monotonic()
            writer._truncate_long_wal()
            assert time.monotonic() - started < 0.5
            assert os.path.getsize(f"{isolated_db}-wal") > 1_000_000
    finally:
        reader.execute("COMMIT")
        reader.close()
