"""The day's commands on a big database: `today`, `log`, `next`, `done` against the import floor.

    python bench/day.py [--leads 100000] [--activities 500000] [--runs 9]

Target (median wall time): each ≤ 1.3 × `python -c "import typer, rich, sqlmodel"` (the csv and ics
lines of every row are shown for scale: they write 60,000 and 100,000 rows).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LEADCLI, PY, build_lead_db, median_time, table  # noqa: E402


def add_activities(path: Path, leads: int, count: int, seed: int = 11) -> None:
    """`count` activities over the leads: four in five done, the rest planned within ±30 days of now."""
    import datetime as dt
    import sqlite3

    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    kinds, outcomes = ["call", "email", "meeting", "note", "task"], ["reached", "no answer", "voicemail", "sent", None]
    rows = []
    for i in range(1, count + 1):
        moment = (now + dt.timedelta(minutes=rng.randrange(-60 * 24 * 30, 60 * 24 * 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
        lead = rng.randrange(1, leads + 1)
        if rng.random() < 0.8:
            rows.append((i, lead, rng.choice(kinds), f"did {i}", rng.choice(outcomes), moment, None, moment, moment))
        else:
            rows.append((i, lead, "call", f"plan {i}", None, None, moment, None, moment))
    con = sqlite3.connect(path)
    con.execute("BEGIN")
    con.executemany("INSERT INTO activity (id, lead_id, type, text, outcome, at, due_at, done_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        build_lead_db(path, args.leads)
        add_activities(path, args.leads, args.activities)
        env = {"LEADCLI_DB": str(path)}
        floor = median_time([PY, "-c", "import typer, rich, sqlmodel"], args.runs)
        timings = {
            "today (table)": median_time(LEADCLI + ["today", "-f", "table"], args.runs, env),
            "today --format markdown": median_time(LEADCLI + ["today", "-f", "markdown"], args.runs, env),
            "today --format csv (every row)": median_time(LEADCLI + ["today", "-f", "csv"], args.runs, env),
            "today --format ics (every planned activity)": median_time(
                LEADCLI + ["today", "--format", "ics"], max(3, args.runs // 3), env),
            "today --format ics --days 7": median_time(
                LEADCLI + ["today", "--format", "ics", "--days", "7"], max(3, args.runs // 3), env),
            "list --due today": median_time(LEADCLI + ["list", "--due", "today"], args.runs, env),
            "list | head -1 (first line)": first_line(LEADCLI + ["list"], args.runs, env),
            "log": median_time(None, args.runs, env, vary=lambda i: LEADCLI + [
                "-q", "log", str(100 + abs(i)), "call", "--outcome", "reached"]),
            "next": median_time(None, args.runs, env, vary=lambda i: LEADCLI + [
                "-q", "next", str(200 + abs(i)), "call back", "--due", "tomorrow"]),
            "done": median_time(None, args.runs, env, vary=lambda i: LEADCLI + [
                "-q", "done", str(_planned(path, i + 1 if i >= 0 else 0))]),
        }
    rows = [{"command": f"leadcli {name} ({args.leads:,} leads, {args.activities:,} activities)",
             "leadcli s": f"{seconds:.3f}", "peer s": f"{floor:.3f}", "ratio": f"{seconds / floor:.2f}",
             "target": "≤ 1.3"} for name, seconds in timings.items()]
    print(table(rows, ["command", "leadcli s", "peer s", "ratio", "target"]))
    return rows


def first_line(cmd: list[str], runs: int, env: dict) -> float:
    """Median seconds until the first line of stdout arrives (what `| head -1` waits for)."""
    import os
    import statistics
    import subprocess
    import time

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env})
        assert proc.stdout is not None
        proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.kill()
        proc.wait()
    return statistics.median(times)


_PLANNED: list[int] = []


def _planned(path: Path, i: int) -> int:
    """A distinct open planned activity for each run of `done`."""
    if not _PLANNED:
        import sqlite3

        con = sqlite3.connect(path)
        _PLANNED.extend(r[0] for r in con.execute(
            "SELECT id FROM activity WHERE done_at IS NULL AND due_at IS NOT NULL ORDER BY id LIMIT 100"))
        con.close()
    return _PLANNED[i]


if __name__ == "__main__":
    main()
