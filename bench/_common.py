"""Helpers shared by the benchmarks: timing subprocesses, peak RSS, a quick synthetic database."""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LEADCLI = [str(Path(PY).with_name("leadcli"))] if Path(PY).with_name("leadcli").exists() else [PY, "-m", "leadcli"]


def run_timed(cmd: list[str] | str, env: dict | None = None, shell: bool = False,
              stdin: str | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (kB) of one command, via /usr/bin/time when present."""
    env = {**os.environ, **(env or {})}
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    rss = 0
    start = time.perf_counter()
    if timer and not shell:
        proc = subprocess.run([timer, "-f", "%M", *cmd], env=env, capture_output=True, text=True,
                              input=stdin)
        elapsed = time.perf_counter() - start
        try:
            rss = int(proc.stderr.strip().splitlines()[-1])
        except (ValueError, IndexError):
            rss = 0
    else:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, shell=shell, input=stdin)
        elapsed = time.perf_counter() - start
        rss = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {cmd}\n{proc.stderr[-2000:]}")
    return elapsed, rss


def median_time(cmd, runs: int, env: dict | None = None, shell: bool = False, warmup: int = 1,
                vary=None) -> float:
    """Median wall time over `runs`; `vary(i)` may rewrite the command for each run."""
    for i in range(warmup):
        run_timed(vary(-1 - i) if vary else cmd, env, shell)
    times = [run_timed(vary(i) if vary else cmd, env, shell)[0] for i in range(runs)]
    return statistics.median(times)


def build_lead_db(path: Path, n: int, seed: int = 7) -> None:
    """A database of `n` synthetic leads with history, written straight through the schema."""
    sys.path.insert(0, str(ROOT))
    from leadcli import store

    path.unlink(missing_ok=True)
    store.migrate(path)
    rng = random.Random(seed)
    sources = ["web", "referral", "cold call", "trade show", "partner", "paid ads"]
    owners = ["maria", "li", "sam", "noor", "ivan"]
    statuses = ["new", "contacted", "qualified", "converted", "disqualified"]
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    batch = []
    history = []
    for i in range(1, n + 1):
        month = rng.randrange(0, 24)
        created = f"{2025 + month // 12:04d}-{month % 12 + 1:02d}-{rng.randrange(1, 29):02d}T10:00:00Z"
        status = rng.choices(statuses, weights=[30, 20, 15, 15, 20])[0]
        converted = created if status == "converted" else None
        batch.append((i, f"Lead {i}", f"lead{i}@example{i % 997}.com", f"lead{i}@example{i % 997}.com",
                      rng.choice(sources), rng.choice(owners), rng.randrange(0, 50000) * 100, "USD", status,
                      created, created, converted))
        history.append((i, None, "new", created, "created"))
        if status != "new":
            history.append((i, "new", status, created, None))
        if len(batch) >= 50_000:
            _flush(con, batch, history)
    _flush(con, batch, history)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()


def _flush(con, batch, history) -> None:
    con.executemany(
        "INSERT INTO lead (id, name, email, email_key, source, owner, value_cents, currency, status, "
        "created_at, updated_at, converted_at, fields) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'{}')", batch)
    con.executemany("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?,?,?,?,?)",
                    history)
    batch.clear()
    history.clear()


def table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table, for BENCHMARKS.md and the terminal alike."""
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(out)
