"""Report benchmark: `leadcli report conversion` on 1,000,000 leads against the same GROUP BY in the
`sqlite3` shell plus the bare import cost of the libraries leadcli stands on.

    python bench/report.py [--leads 1000000] [--runs 5] [--db PATH]

Peer for each row: (the same SQL in `sqlite3 -csv`) + (`python -c "import typer, rich, sqlmodel"`),
both timed here, in the same run. Targets: `--by source` ≤ 1.5×; `--by created:month` and
`--as-of` ≤ 3×. The database (with a realistic status history: reopened, reconverted and
disqualified leads) is written with executemany straight into the migrated schema, indexes
built after the rows; `--db PATH` keeps it between runs.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LEADCLI, PY, ROOT, run_timed, table  # noqa: E402

YEAR = _dt.datetime.now(_dt.timezone.utc).year
SINCE = f"{YEAR}-01-01T00:00:00Z"
AS_OF = f"{YEAR}-06-30"


def build(path: Path, n: int, seed: int = 7) -> None:
    sys.path.insert(0, str(ROOT))
    from leadcli import store

    path.unlink(missing_ok=True)
    store.migrate(path)
    store.dispose_all()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                          "AND tbl_name IN ('lead', 'status_change')").fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    rng = random.Random(seed)
    sources = ["Web", "Referral", "Cold Call", "Trade Show", "Partner", "Paid Ads", "Phone Inquiry"]
    owners = ["maria", "li", "sam", "noor", "ivan"]
    start = _dt.datetime(YEAR - 1, 1, 1)
    span = int((_dt.datetime(YEAR, 11, 15) - start).total_seconds())
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    leads, changes = [], []
    for i in range(1, n + 1):
        created = start + _dt.timedelta(seconds=rng.randrange(span))
        moment, status = created, "new"
        changes.append((i, None, "new", created.strftime(fmt), "created"))
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            moment += _dt.timedelta(seconds=rng.randrange(3600, 30 * 86400))
            if status in ("converted", "disqualified"):
                to = "qualified"
            else:
                to = rng.choice([s for s in ("contacted", "qualified", "converted", "disqualified") if s != status])
            changes.append((i, status, to, moment.strftime(fmt), "no budget" if to == "disqualified" else None))
            status = to
        last = moment.strftime(fmt)
        leads.append((i, f"Lead {i}", rng.choice(sources), rng.choice(owners), rng.randrange(0, 50_000) * 100,
                      "USD", status, "no budget" if status == "disqualified" else None, created.strftime(fmt),
                      last, last if status == "converted" else None))
        if len(leads) >= 100_000:
            _flush(con, leads, changes)
    _flush(con, leads, changes)
    for _, sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()


def _flush(con, leads, changes) -> None:
    con.executemany("INSERT INTO lead (id, name, source, owner, value_cents, currency, status, status_reason, "
                    "created_at, updated_at, converted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", leads)
    con.executemany("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?,?,?,?,?)",
                    changes)
    leads.clear()
    changes.clear()


CONVERTED = "sum(CASE WHEN status = 'converted' THEN 1 ELSE 0 END)"
CASES = [
    ("--by source", ["report", "conversion", "--by", "source"],
     f"SELECT source, count(*), {CONVERTED} FROM lead WHERE created_at >= '{SINCE}' GROUP BY source;", 1.5),
    ("--by created:month", ["report", "conversion", "--by", "created:month"],
     f"SELECT substr(created_at, 1, 7), count(*), {CONVERTED} FROM lead WHERE created_at >= '{SINCE}' "
     "GROUP BY substr(created_at, 1, 7);", 3.0),
    (f"--as-of {AS_OF}", ["report", "conversion", "--by", "source", "--as-of", AS_OF],
     "SELECT source, count(*), sum(CASE WHEN (SELECT to_status FROM status_change AS a WHERE a.lead_id = lead.id "
     f"AND a.at <= '{AS_OF}T23:59:59Z' ORDER BY a.at DESC, a.id DESC LIMIT 1) = 'converted' THEN 1 ELSE 0 END) "
     f"FROM lead WHERE created_at >= '{YEAR}-01-01T00:00:00Z' AND created_at <= '{AS_OF}T23:59:59Z' "
     "GROUP BY source;", 3.0),
]


def _interleaved(ours: list[str], env: dict, shell: list[str], runs: int) -> tuple[float, float, float]:
    """Median seconds of leadcli, the sqlite3 shell and the bare imports, run in turn (after a warm-up)."""
    imports = [PY, "-c", "import typer, rich, sqlmodel"]
    times: list[tuple[float, float, float]] = []
    for _ in range(runs + 1):
        times.append((run_timed(ours, env)[0], run_timed(shell)[0], run_timed(imports)[0]))
    a, b, c = zip(*times[1:])
    return statistics.median(a), statistics.median(b), statistics.median(c)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="keep the database here (built if missing)")
    args = parser.parse_args(argv)
    sqlite_shell = shutil.which("sqlite3")
    if not sqlite_shell:
        raise SystemExit("the sqlite3 shell is needed (apt-get install sqlite3)")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "report.db"
        if not path.exists():
            began = time.perf_counter()
            build(path, args.leads)
            print(f"built {args.leads:,} leads in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        env = {"LEADCLI_DB": str(path), "LEADCLI_FORMAT": "csv"}
        rows = []
        for label, cli_args, sql, target in CASES:
            # Interleaved, so a busy machine slows both sides alike; medians of each.
            ours, shell, imports = _interleaved(LEADCLI + cli_args, env, [sqlite_shell, "-csv", str(path), sql],
                                                args.runs)
            peer = shell + imports
            rows.append({"command": f"leadcli report conversion {label}", "leadcli s": f"{ours:.3f}",
                         "sqlite3 s": f"{shell:.3f}", "imports s": f"{imports:.3f}", "peer s": f"{peer:.3f}",
                         "ratio": f"{ours / peer:.2f}", "target": f"≤ {target}",
                         "met": "yes" if ours / peer <= target else "no"})
    print(table(rows, ["command", "leadcli s", "sqlite3 s", "imports s", "peer s", "ratio", "target", "met"]))
    return rows


if __name__ == "__main__":
    main()
