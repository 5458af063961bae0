"""Crash safety: `kill -9` at random moments of import, bulk convert, activity writes and score run.

Each trial starts a real leadcli process, kills it with SIGKILL after a random delay, and checks
that the file passes `PRAGMA integrity_check` and holds exactly the before or the after state.
The default run does 10 trials per command on small inputs; `pytest -m slow` runs bigger ones.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only

TRIALS = 10


def _leadcli(db: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "LEADCLI_DB": str(db)}
    return subprocess.Popen([sys.executable, "-m", "leadcli", "-q", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _write_csv(path: Path, n: int, start: int = 0, statuses: list[str] | None = None, signal_: bool = False) -> None:
    """With `signal_`, referrals that closed converted and cold calls did not: a model worth trusting."""
    rng = random.Random(n + start)
    statuses = statuses or ["Open - Not Contacted", "Working - Contacted", "Qualified", "Closed - Converted",
                            "Closed - Not Converted"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["First Name", "Last Name", "Email", "Company", "Lead Source", "Lead Status",
                    "Disqualified Reason", "Industry"])
        for i in range(start, start + n):
            status = rng.choice(statuses)
            source = rng.choice(["web", "referral", "cold call"])
            if signal_ and status.startswith("Closed") and source != "web":
                status = "Closed - Converted" if source == "referral" else "Closed - Not Converted"
            w.writerow([f"First{i}", f"Last{i}", f"person{i}@company{i % 500}.com", f"Company {i % 500}",
                        source, status,
                        "no budget" if status == "Closed - Not Converted" else "", rng.choice(["Retail", "IT"])])


STATE_QUERIES = [
    "SELECT count(*) FROM lead",
    "SELECT count(*) FROM status_change",
    "SELECT count(*) FROM lead WHERE status = 'converted'",
    "SELECT count(*) FROM deal",
    "SELECT count(*) FROM contact",
    "SELECT count(*) FROM company",
    "SELECT count(*) FROM score_history",
    "SELECT count(score), coalesce(sum(score), 0) FROM lead",
    "SELECT count(*) FROM activity",
]


def _state(db: Path) -> tuple:
    """(integrity, lead count, history count, ...): what a command changes, to compare before/after."""
    con = sqlite3.connect(db, timeout=30)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        counts = tuple(con.execute(q).fetchone() for q in STATE_QUERIES)
    finally:
        con.close()
    return (ok, counts[0][0], counts[1][0]) + counts[2:]


def _kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL after `delay` seconds; False if the process had already finished."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def _run(db: Path, *args: str) -> None:
    proc = _leadcli(db, *args)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]


def _copy_db(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    con = sqlite3.connect(src)
    out = sqlite3.connect(dst)
    con.backup(out)
    out.close()
    con.close()


def _trials(tmp_path: Path, base_db: Path, args: list[str], trials: int, rerun_every: int | None = 3) -> None:
    """Kill `leadcli *args` at random moments on copies of `base_db`; check before-or-after each time
    (and, every `rerun_every` trials, that running it again ends at the after state: None for a
    command that is not idempotent)."""
    before = _state(base_db)
    probe = tmp_path / "probe.db"
    _copy_db(base_db, probe)
    started = time.monotonic()
    _run(probe, *args)
    full = time.monotonic() - started
    after = _state(probe)
    assert after != before, "the command changed nothing; the trial would prove nothing"
    rng = random.Random(len(args) * 7919 + trials)
    killed = 0
    for trial in range(trials):
        db = tmp_path / f"trial{trial}.db"
        _copy_db(base_db, db)
        # Most of the first ~0.5 s is Python start-up; spread the kills over the part that writes.
        killed += _kill_after(_leadcli(db, *args), rng.uniform(0.2, 1.02) * full)
        state = _state(db)
        assert state[0] == "ok", state
        assert state in (before, after), (state, before, after)
        if rerun_every is not None and trial % rerun_every == 0:
            _run(db, *args)
            assert _state(db) == after
    assert killed >= trials // 2, "most kills came after the command had finished; nothing was tested"


def _import_base(tmp_path: Path, rows: int, signal_: bool = False) -> tuple[Path, Path]:
    base = tmp_path / "base.db"
    small = tmp_path / "small.csv"
    _write_csv(small, 200, start=10_000_000)
    _run(base, "import", str(small))
    big = tmp_path / "big.csv"
    _write_csv(big, rows, signal_=signal_)
    return base, big


def test_kill_9_during_import_leaves_before_or_after(tmp_path):
    base, big = _import_base(tmp_path, 5_000)
    _trials(tmp_path, base, ["import", str(big)], TRIALS)
    db = tmp_path / "trial0.db"
    con = sqlite3.connect(db)
    dupes = con.execute("SELECT count(*) FROM (SELECT email_key FROM lead GROUP BY email_key HAVING count(*) > 1)")
    assert dupes.fetchone()[0] == 0
    con.close()
    _run(db, "import", str(big))
    assert _state(db)[1] == 5_200


def test_kill_9_during_bulk_convert(tmp_path):
    base = tmp_path / "base.db"
    qualified = tmp_path / "qualified.csv"
    _write_csv(qualified, 3_000, statuses=["Qualified"])
    _run(base, "import", str(qualified))
    _trials(tmp_path, base, ["convert", "--status", "qualified", "--yes"], TRIALS)


def test_kill_9_while_activities_are_written(tmp_path):
    """A reason given to leads already contacted is logged as one activity each, all in one transaction."""
    base = tmp_path / "base.db"
    contacted = tmp_path / "contacted.csv"
    _write_csv(contacted, 3_000, statuses=["Working - Contacted"])
    _run(base, "import", str(contacted))
    # Not idempotent (each run logs its own note), so no re-run to the after state.
    _trials(tmp_path, base, ["contact", "--status", "contacted", "--reason", "called again", "--yes"], TRIALS,
            rerun_every=None)


def test_kill_9_during_score_run(tmp_path):
    base, big = _import_base(tmp_path, 6_000, signal_=True)
    _run(base, "import", str(big))
    _run(base, "score", "train")
    _trials(tmp_path, base, ["score", "run", "--all"], TRIALS)


@pytest.mark.slow
def test_kill_9_during_large_import(tmp_path):
    base, big = _import_base(tmp_path, 100_000)
    _trials(tmp_path, base, ["import", str(big)], 20)
