"""Eight writers at once on one PostgreSQL database, and the import/report timings on both backends.

    python bench/pg_team.py concurrency [--url URL] [--rows 20000] [--commands 15]
    python bench/pg_team.py timings [--url URL] [--rows 100000]

`concurrency`: two `leadcli import`s of different files and six people (processes) each running `add`,
`log` and `convert` in a loop, all at once; then every count is checked against what was asked: leads =
both imports' created + adds, activities = logs, conversions = distinct leads converted, errors = 0. Two
processes convert the same lead at the same instant: it must be converted once.

`timings`: `leadcli import` of the same file into a fresh SQLite file and a fresh PostgreSQL database,
`psql \\copy` and `sqlite3 .import` of that file into a bare table, and `report conversion` on both.

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


def leadcli(db: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "leadcli", "--db", db, *args], capture_output=True, text=True,
                            env={**os.environ, "LEADCLI_NO_HOOKS": "1"})
    if check and result.returncode != 0:
        raise SystemExit(f"leadcli {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


WORKER = r"""
import json, subprocess, sys, os
db, who, n, first_lead = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
errors, adds, logs, converts = [], 0, 0, []
def run(*a):
    r = subprocess.run([sys.executable, "-m", "leadcli", "--db", db, "-q", *a], capture_output=True, text=True,
                       env={**os.environ, "LEADCLI_USER": who, "LEADCLI_NO_HOOKS": "1"})
    return r
for i in range(n):
    r = run("add", f"{who} person {i}", "--email", f"{who}.{i}@team.example", "--owner", who)
    if r.returncode: errors.append(r.stderr.strip()); continue
    adds += 1
    lead = int(r.stdout.strip())
    r = run("log", str(lead), "call", f"called by {who}")
    if r.returncode: errors.append(r.stderr.strip())
    else: logs += 1
    if i % 3 == 0:
        r = run("convert", str(lead))
        if r.returncode: errors.append(r.stderr.strip())
        else: converts.append(lead)
print(json.dumps({"adds": adds, "logs": logs, "converts": converts, "errors": errors}))
"""


def _server(url: str | None):
    if url:
        return None, url
    import pgserver

    server = pgserver.PgServer().start()
    return server, server.url("postgres")


def _fresh(admin_url: str, name: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    with psycopg.connect(u.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return u.set(database=name).render_as_string(hide_password=False)


def concurrency(admin_url: str, rows: int, commands: int, work: Path) -> dict:
    gen = importlib.import_module("import").generate
    url = _fresh(admin_url, "leadcli_team")
    leadcli(url, "db", "migrate")
    files = [work / "a.csv", work / "b.csv"]
    gen(files[0], rows, seed=1)
    gen(files[1], rows, seed=2)
    twice = int(leadcli(url, "add", "Twice Converted", "--email", "twice@x.example").stdout.strip())
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "leadcli", "--db", url, "-f", "json", "import", str(f),
                               "--on-duplicate", "merge"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    people = [subprocess.Popen([sys.executable, "-c", WORKER, url, who, str(commands), "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for who in ("ann", "bob", "chen", "dana", "eli", "fay")]
    both = [subprocess.Popen([sys.executable, "-m", "leadcli", "--db", url, "-q", "convert", str(twice)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    imports = [{"exit": p.wait(), "error": p.communicate()[1].strip()} for p in procs]
    imports = [{"exit": i["exit"]} if i["exit"] == 0 else i for i in imports]
    done = [json.loads(p.communicate()[0]) for p in people]
    twice_codes = [(p.wait(), p.communicate()[1].strip()) for p in both]
    seconds = time.perf_counter() - started
    counts = _counts(url, twice)
    created = counts.pop("imported")
    # Transactions the server rolled back: conflicts it cancelled (each command then ran again) and refusals.
    rollbacks = counts.pop("rollbacks")
    adds = sum(d["adds"] for d in done)
    expected = {"leads": created + adds + 1, "activities": sum(d["logs"] for d in done),
                "conversions": len({c for d in done for c in d["converts"]}) + 1, "twice_converted": 1}
    return {"seconds": round(seconds, 1), "imports": imports, "people": [{k: (len(v) if isinstance(v, list) else v)
                                                                          for k, v in d.items()} for d in done],
            "errors": [e for d in done for e in d["errors"]] + [i["error"] for i in imports if "error" in i],
            "twice": twice_codes, "imported": created, "expected": expected, "found": counts, "ok": counts == expected,
            "rolled_back_transactions": rollbacks}


def _counts(url: str, twice: int) -> dict:
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as con:
        one = lambda sql, *p: con.execute(sql, p).fetchone()[0]  # noqa: E731
        return {"imported": one("SELECT coalesce(sum(created), 0) FROM import_run"),
                "rollbacks": one("SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"),
                "leads": one("SELECT count(*) FROM lead"), "activities": one("SELECT count(*) FROM activity"),
                "conversions": one("SELECT count(*) FROM status_change WHERE to_status = 'converted' "
                                   "AND reason IS DISTINCT FROM 'imported'"),
                "twice_converted": one("SELECT count(*) FROM status_change WHERE lead_id = %s "
                                       "AND to_status = 'converted'", twice)}


def timings(admin_url: str, rows: int, work: Path) -> dict:
    gen = importlib.import_module("import").generate
    csv_file = work / "leads.csv"
    gen(csv_file, rows)
    out: dict = {"rows": rows}
    url = _fresh(admin_url, "leadcli_timing")
    sqlite_db = str(work / "t.db")
    for name, db in (("sqlite", sqlite_db), ("postgres", url)):
        t = time.perf_counter()
        leadcli(db, "-q", "import", str(csv_file))
        out[f"leadcli import ({name})"] = time.perf_counter() - t
        t = time.perf_counter()
        leadcli(db, "-f", "json", "report", "conversion", "--all-time")
        out[f"report conversion ({name})"] = time.perf_counter() - t
        t = time.perf_counter()
        leadcli(db, "-f", "json", "report", "conversion", "--all-time", "--by", "created:month")
        out[f"report by month ({name})"] = time.perf_counter() - t
    bare = _fresh(admin_url, "leadcli_bare")
    from sqlalchemy.engine import make_url

    conninfo = make_url(bare).set(drivername="postgresql").render_as_string(hide_password=False)
    header = csv_file.open(encoding="utf-8").readline().strip().split(",")
    cols = ", ".join(f'"{h}" text' for h in header)
    subprocess.run(["psql", conninfo, "-qc", f"CREATE TABLE bare ({cols})"], check=True)
    t = time.perf_counter()
    subprocess.run(["psql", conninfo, "-qc", f"\\copy bare FROM '{csv_file}' (FORMAT csv, HEADER)"], check=True)
    out["psql \\copy (bare table)"] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(["sqlite3", str(work / "bare.db"), ".import --csv " + str(csv_file) + " bare"], check=True)
    out["sqlite3 .import (bare table)"] = time.perf_counter() - t
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("concurrency", "timings"))
    parser.add_argument("--url", help="a superuser URL of a running server (default: start one)")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--commands", type=int, default=15, help="add/log rounds per person")
    args = parser.parse_args()
    server, url = _server(args.url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            result = (concurrency(url, args.rows, args.commands, work) if args.what == "concurrency"
                      else timings(url, args.rows, work))
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
