"""A large import on both databases side by side with the bare bulk loaders, and where its time goes.

    python bench/pg_import.py [--url SUPERUSER_URL] [--rows 1000000] [--csv FILE]

On bench/import.py's CSV (15 columns), one run each, seconds:
- `psql \\copy` of the file into a bare 15-column text table, and `sqlite3 .import` likewise;
- `leadcli import` into an empty SQLite file and into an empty PostgreSQL database, each in a process of its
  own with every method of the database's bulk writer timed (monkeypatched, nothing else changes): the
  import's `read` phase (parse, map, validate, normalise, and stage the rows: the writer's `stage`, which is
  COPY on PostgreSQL) and its `write` phase (match, assign ids, insert: the other writer methods).

Without --url a throwaway server is started (tests/pgserver.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
from pg_team import _fresh  # noqa: E402  (a fresh database on the server)

CHILD = r"""
import json, sys, time
from collections import defaultdict
db, csv_file, out = sys.argv[1:4]
spent = defaultdict(float)

def timed(cls):
    for name, fn in list(vars(cls).items()):
        if name.startswith("_") or not callable(fn):
            continue
        def wrap(fn=fn, name=name):
            def inner(*a, **k):
                t = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    spent[name] += time.perf_counter() - t
            return inner
        setattr(cls, name, wrap())

if "://" in db:
    from leadcli.store.postgres_bulk import PgBulkWriter as W
else:
    from leadcli.store.sqlite_bulk import SqliteBulkWriter as W
timed(W)
from leadcli.cli import app
t = time.perf_counter()
try:
    app(["--db", db, "import", csv_file, "--json"], prog_name="leadcli", standalone_mode=False)
finally:
    wall = time.perf_counter() - t
    json.dump({"wall": wall, "writer": dict(spent)}, open(out, "w"))
"""


def _import(db: str, csv_file: Path, work: Path) -> dict:
    out = work / "timing.json"
    result = subprocess.run([sys.executable, "-c", CHILD, db, str(csv_file), str(out)], capture_output=True,
                            text=True, env={**os.environ, "LEADCLI_NO_HOOKS": "1"})
    if result.returncode != 0:
        raise SystemExit(f"import into {db} failed: {result.stderr[-2000:]}")
    summary = json.loads(result.stdout)
    timing = json.loads(out.read_text())
    writer = {k: round(v, 2) for k, v in sorted(timing["writer"].items(), key=lambda kv: -kv[1]) if v >= 0.01}
    return {"wall": round(timing["wall"], 2), "created": summary["created"], "phases": summary["seconds"],
            "writer": writer}


def bench(admin_url: str, rows: int, csv_file: Path | None, work: Path) -> dict:
    from sqlalchemy.engine import make_url

    if csv_file is None:
        csv_file = work / "leads.csv"
        importlib.import_module("import").generate(csv_file, rows)
    out: dict = {"rows": rows, "load_before": os.getloadavg()[0]}
    bare = _fresh(admin_url, "leadcli_bare")
    conninfo = make_url(bare).set(drivername="postgresql").render_as_string(hide_password=False)
    header = csv_file.open(encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f'"{h}" text' for h in header)
    subprocess.run(["psql", conninfo, "-qc", f"CREATE TABLE bare ({columns})"], check=True)
    t = time.perf_counter()
    subprocess.run(["psql", conninfo, "-qc", f"\\copy bare FROM '{csv_file}' (FORMAT csv, HEADER)"], check=True)
    out["psql \\copy (bare table)"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    subprocess.run(["sqlite3", str(work / "bare.db"), ".import --csv " + str(csv_file) + " bare"], check=True)
    out["sqlite3 .import (bare table)"] = round(time.perf_counter() - t, 2)
    out["leadcli import (sqlite)"] = _import(str(work / "leads.db"), csv_file, work)
    out["leadcli import (postgres)"] = _import(_fresh(admin_url, "leadcli_import"), csv_file, work)
    out["load_after"] = os.getloadavg()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a superuser URL of a running server (default: start one)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", type=Path, help="an existing bench/import.py CSV (its rows are not counted again)")
    args = parser.parse_args()
    server = None
    url = args.url
    if not url:
        import pgserver

        server = pgserver.PgServer().start()
        url = server.url("postgres")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(bench(url, args.rows, args.csv, Path(tmp)), indent=2))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
