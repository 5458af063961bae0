"""PostgreSQL bulk-load floor: `psql \\copy` against COPY FROM STDIN through psycopg 3, same CSV file.

The file is the one bench/import.py writes (15 columns shaped like a Salesforce lead export). Each
method loads it into a bare table (15 text columns, no indexes, no constraints), truncated between
runs, on a throwaway server from tests/pgserver.py (fsync off) or on `--conninfo`:

  1. psql -c "\\copy bare FROM FILE CSV HEADER"     - the client tool, the floor to compare against
  2. psycopg: the file's bytes streamed to COPY      - the driver's own overhead over psql
  3. psycopg: csv.reader rows -> copy.write_row()    - what an importer pays once Python holds rows
  4. psycopg: pandas chunks -> to_csv -> COPY         - the same when the rows are held as DataFrames
  5. sqlite3 ".import --csv" into a bare table        - the SQLite floor (when the sqlite3 tool exists)

    python bench/pg_copy.py --rows 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

COLUMNS = ["lead_id", "first_name", "last_name", "email", "phone", "company", "title", "source", "owner",
           "status", "amount", "currency", "created", "industry", "country"]
BARE = "CREATE TABLE bare (" + ", ".join(f"{c} text" for c in COLUMNS) + ")"


def timed(fn, runs: int, reset) -> float:
    times = []
    for _ in range(runs):
        reset()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def psql_copy(psql: str, conninfo: str, csv_path: Path) -> None:
    subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                    "-c", f"\\copy bare FROM '{csv_path}' WITH (FORMAT csv, HEADER)"], check=True)


def psycopg_bytes(conninfo: str, csv_path: Path) -> None:
    import psycopg

    with psycopg.connect(conninfo) as conn, conn.cursor() as cur, open(csv_path, "rb") as fh, \
            cur.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)


def psycopg_rows(conninfo: str, csv_path: Path) -> None:
    import psycopg

    with psycopg.connect(conninfo) as conn, conn.cursor() as cur, \
            open(csv_path, newline="", encoding="utf-8") as fh, cur.copy("COPY bare FROM STDIN") as copy:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            copy.write_row([v or None for v in row])


def psycopg_frames(conninfo: str, csv_path: Path) -> None:
    import io

    import pandas as pd
    import psycopg

    with psycopg.connect(conninfo) as conn, conn.cursor() as cur, \
            cur.copy("COPY bare FROM STDIN WITH (FORMAT csv)") as copy:
        for frame in pd.read_csv(csv_path, dtype=str, keep_default_na=False, chunksize=100_000):
            buffer = io.StringIO()
            frame.to_csv(buffer, header=False, index=False)
            copy.write(buffer.getvalue().encode())


def sqlite_import(sqlite: str, db: Path, csv_path: Path) -> None:
    # As bench/import.py does: the table is created from the header line.
    subprocess.run([sqlite, str(db), f".import --csv {csv_path} bare"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--conninfo", help="an existing server (libpq string); default: start a throwaway one")
    parser.add_argument("--csv", type=Path, help="reuse this CSV instead of generating one")
    args = parser.parse_args()

    import pgserver
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="leadcli-bench-pg-"))
    csv_path = args.csv or work / "leads.csv"
    if not args.csv:
        t = time.perf_counter()
        importlib.import_module("import").generate(csv_path, args.rows)
        print(f"generated {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
    # psql runs as this process's user and reads the file itself; the server never opens it.
    server = None
    if args.conninfo:
        conninfo = args.conninfo
    else:
        server = pgserver.PgServer().start()
        server.create_database("bench")
        conninfo = server.conninfo("bench")
    psql = shutil.which("psql") or str(pgserver.find_bindir() / "psql")
    try:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("DROP TABLE IF EXISTS bare")
            admin.execute(BARE)

            def reset() -> None:
                admin.execute("TRUNCATE bare")

            results = {
                "psql \\copy (CSV file)": timed(lambda: psql_copy(psql, conninfo, csv_path), args.runs, reset),
                "psycopg COPY FROM STDIN, file bytes": timed(lambda: psycopg_bytes(conninfo, csv_path),
                                                             args.runs, reset),
                "psycopg COPY FROM STDIN, write_row per row": timed(lambda: psycopg_rows(conninfo, csv_path),
                                                                    args.runs, reset),
                "psycopg COPY FROM STDIN, pandas chunks -> to_csv": timed(lambda: psycopg_frames(conninfo, csv_path),
                                                                          args.runs, reset),
            }
            count = admin.execute("SELECT count(*) FROM bare").fetchone()[0]
            assert count == args.rows, f"loaded {count} rows, expected {args.rows}"
        sqlite = shutil.which("sqlite3")
        if sqlite:
            db = work / "bare.db"
            results["sqlite3 .import --csv (bare table)"] = timed(
                lambda: sqlite_import(sqlite, db, csv_path), args.runs, lambda: db.unlink(missing_ok=True))
    finally:
        if server:
            server.stop()
        if not args.csv:
            shutil.rmtree(work, ignore_errors=True)
    floor = results["psql \\copy (CSV file)"]
    print(f"| method ({args.rows:,} rows, median of {args.runs}) | seconds | ÷ psql \\copy |")
    print("|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.2f} |")


if __name__ == "__main__":
    main()
