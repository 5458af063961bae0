"""Import benchmark: leadcli import against `sqlite3 .import` and `sqlite-utils insert --csv`.

Writes a deterministic CSV of N synthetic leads (15 columns shaped like a Salesforce lead export),
then, one after another on the same file:

  1. `sqlite3 DB ".import --csv FILE bare"`   - a bare table, no types, no validation, no indexes
  2. `sqlite-utils insert DB leads FILE --csv` - if installed (it is not a leadcli dependency:
                                                 `.venv/bin/pip install sqlite-utils` to include it)
  3. Python's csv module -> sqlite3 executemany - the floor of any CPython importer: a bare table,
                                                 no checks, no indexes (a short script, CPYTHON_FLOOR)
  4. the SQLite floor for leadcli's end state  - the sqlite3 shell `.import`s into a staging table, then
                                                 INSERT … SELECT into leadcli's schema, the same indexes
                                                 dropped before and rebuilt after, the same history rows
  5. `leadcli import FILE`                     - mapping, validation, dedupe, indexes, history, run log
  6. `leadcli import FILE` again               - the same file: recognised by its SHA-256
  7. `leadcli import FILE --reprocess`         - every row read, validated and matched again

One e-mail address in five has a non-ASCII local part (`maría.garcía.7@…`): valid internationalised
addresses, which the import's column-wise fast path must keep to.

and prints wall time, the ratio to `sqlite3 .import` and each process's peak RSS. During the leadcli
runs a thread writes to the same database every 50 ms, as an interactive `add` would; the longest
it waited for the write lock is printed as the time the import held it, and leadcli's own
split of each run (the `seconds` of its --json summary: read / write / checkpoint) follows the table.

    python bench/import.py --rows 100000
    python bench/import.py --rows 1000000 --keep /tmp/bench-import
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FIRST = ["Ana", "Bo", "Carla", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam",
         "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Wen", "Yusuf", "Zoe"]
LAST = ["Silva", "Chen", "Rossi", "Ivanov", "Kaya", "Haddad", "Okafor", "Tanaka", "Garcia", "Berg", "Iyer",
        "Murphy", "Li", "Novak", "Farouk", "Shah", "Baker", "Moreno", "Larsen", "Singh", "Conti", "Weber"]
COMPANY_A = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
             "Cyberdyne", "Wonka", "Oscorp", "Gringotts", "Aperture", "Monarch", "Nakatomi", "Virtucon", "Bluth"]
COMPANY_B = ["Corp", "Health", "Logistics", "Foods", "Labs", "Systems", "Retail", "Travel", "Finance", "Imports"]
TITLES = ["CEO", "CTO", "Head of Sales", "Operations Manager", "Procurement Lead", "IT Director", "Founder",
          "Marketing Manager", "CFO", "Office Manager"]
SOURCES = ["Web", "Partner Referral", "Phone Inquiry", "Trade Show", "Cold Call", "Paid Ads"]
OWNERS = ["maria", "li", "sam", "noor", "ivan", "zoe"]
STATUSES = ["Open - Not Contacted"] * 5 + ["Working - Contacted"] * 3 + ["Qualified"] * 2 + \
           ["Closed - Converted", "Closed - Not Converted"]
INDUSTRIES = ["Software", "Retail", "Healthcare", "Logistics", "Finance", "Education"]
COUNTRIES = [("US", "+1 {a} 555 {n:04d}"), ("GB", "+44 20 7{a} {n:04d}"), ("DE", "+49 30 {a}{n:04d}"),
             ("FR", "+33 1 {a2} {n2}"), ("BR", "+55 11 9{a}{n:04d}")]
INTL_LOCALS = ["maría.garcía", "josé.núñez", "zoë.müller", "ольга.петрова", "иван.смирнов", "łukasz.wójcik",
               "søren.ærø", "çağla.öztürk"]
HEADER = ["Lead ID", "First Name", "Last Name", "Email", "Phone", "Company", "Title", "Lead Source", "Lead Owner",
          "Lead Status", "Amount", "Currency", "Created Date", "Industry", "Country"]


def generate(path: Path, rows: int, seed: int = 20261115, first: int = 0, variant: int = 0) -> None:
    """`first`/`variant` make other people (ids, e-mails and phones none of the default file's)."""
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(first, first + rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
            country, pattern = rng.choice(COUNTRIES)
            # Distinct people have distinct numbers: the digits come from the row number.
            a, n = 200 + (i // 10_000) % 800, i % 10_000
            phone = pattern.format(a=a, n=n, a2=f"{a % 100:02d}",
                                   n2=f"{(i // 10_000 + variant) % 100:02d} {(i // 100) % 100:02d} {i % 100:02d}")
            value = "" if rng.random() < 0.2 else f"{rng.randint(5, 2000) * 100:,}.00"
            created = start + dt.timedelta(seconds=rng.randint(0, 700 * 86400))
            # One person in five has an internationalised address (`maría.garcía.7@…`, `ольга.петрова.9@…`).
            local = f"{first.lower()}.{last.lower()}" if i % 5 else rng.choice(INTL_LOCALS)
            w.writerow([f"00Q{i:015d}", first, last, f"{local}.{i}@{company.split()[0].lower()}.com",
                        phone if rng.random() < 0.9 else "", company, rng.choice(TITLES), rng.choice(SOURCES),
                        rng.choice(OWNERS), rng.choice(STATUSES), value, "USD" if value else "",
                        created.strftime("%Y-%m-%d %H:%M"), rng.choice(INDUSTRIES), country])


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run `cmd`; return (wall seconds, peak RSS in MB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    # wait4 gives this child's own peak RSS (getrusage(CHILDREN) would be the max over all children).
    return wall, _last_child_rss(before)


_rss: list[float] = []


def _last_child_rss(_before: int) -> float:
    return _rss.pop() if _rss else float("nan")


class LockProbe(threading.Thread):
    """Writes one row every 50 ms (BEGIN IMMEDIATE, as leadcli's writers do); keeps the longest wait."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db, self.stop, self.longest, self.writes = db, threading.Event(), 0.0, 0

    def run(self) -> None:
        con = None
        while not self.stop.is_set():
            time.sleep(0.05)
            try:
                if con is None:
                    if not self.db.exists():  # leadcli creates it (private): never create it here
                        continue
                    con = sqlite3.connect(f"file:{self.db}?mode=rw", uri=True, timeout=600, isolation_level=None)
                start = time.perf_counter()
                con.execute("BEGIN IMMEDIATE")
                self.longest = max(self.longest, time.perf_counter() - start)
                con.execute("INSERT OR REPLACE INTO setting (key, value) VALUES ('bench.lock_probe', ?)",
                            (str(time.time()),))
                con.execute("COMMIT")
                self.writes += 1
            except sqlite3.OperationalError:  # not created or not migrated yet
                if con is not None and con.in_transaction:
                    con.execute("ROLLBACK")
        if con is not None:
            con.close()


class ReaderProbe(threading.Thread):
    """Runs `leadcli list` and `leadcli report conversion --as-of` one after the other while an import
    runs; keeps the slowest of each and counts the ones that failed."""

    COMMANDS = (("list", "--limit", "20"), ("report", "conversion", "--as-of", "2025-06-30"))

    def __init__(self, db: Path, leadcli: str):
        super().__init__(daemon=True)
        self.db, self.leadcli, self.stop = db, leadcli, threading.Event()
        self.slowest = {c[0]: 0.0 for c in self.COMMANDS}
        self.runs = {c[0]: 0 for c in self.COMMANDS}
        self.failed = 0

    def run(self) -> None:
        env = {**os.environ, "LEADCLI_DB": str(self.db)}
        while not self.stop.is_set():
            for command in self.COMMANDS:
                start = time.perf_counter()
                done = subprocess.run([self.leadcli, "-q", *command], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
                self.slowest[command[0]] = max(self.slowest[command[0]], time.perf_counter() - start)
                self.runs[command[0]] += 1
                self.failed += done.returncode != 0
            time.sleep(0.5)


LOCK_WAITS: dict[str, tuple[float, int]] = {}  # label -> (longest wait s, writes made) of the lock probe


# The least any CPython importer does: the csv module's C parser feeding sqlite3's executemany, one
# transaction, into a bare table: no mapping, no checks, no keys, no indexes, no history.
CPYTHON_FLOOR = """
import csv, gc, sqlite3, sys
from itertools import islice
gc.disable()
con = sqlite3.connect(sys.argv[2], isolation_level=None)
con.execute("PRAGMA journal_mode = WAL"); con.execute("PRAGMA synchronous = NORMAL")
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    rows = csv.reader(fh)
    header = next(rows)
    con.execute("CREATE TABLE bare (" + ", ".join(f"c{i}" for i in range(len(header))) + ")")
    con.execute("BEGIN")
    insert = "INSERT INTO bare VALUES (" + ", ".join("?" * len(header)) + ")"
    while chunk := list(islice(rows, 20000)):
        con.executemany(insert, chunk)
    con.execute("COMMIT")
"""


# The SQLite floor for leadcli's end state: the sqlite3 shell `.import`s the file into a staging
# table, then one INSERT … SELECT per table fills leadcli's schema (migrated by leadcli beforehand)
# with the same indexes dropped before and rebuilt after, and the same history rows: no validation,
# no parsing beyond SQL's own, no duplicate matching.
SQLITE_FLOOR = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
.import --csv {csv} staging
{drop}
BEGIN;
INSERT INTO lead (id, name, first_name, last_name, email, email_key, phone, phone_key, company, title, source,
                  owner, value_cents, currency, status, fields, external_id, created_at, updated_at, converted_at)
SELECT rowid, "First Name" || ' ' || "Last Name", "First Name", "Last Name", "Email", lower("Email"),
       nullif("Phone", ''), nullif("Phone", ''), "Company", "Title", "Lead Source", "Lead Owner",
       CAST(replace(replace(nullif("Amount", ''), ',', ''), '.', '') AS INTEGER), nullif("Currency", ''),
       CASE "Lead Status" WHEN 'Working - Contacted' THEN 'contacted' WHEN 'Qualified' THEN 'qualified'
            WHEN 'Closed - Converted' THEN 'converted' WHEN 'Closed - Not Converted' THEN 'disqualified'
            ELSE 'new' END,
       json_object('Industry', "Industry", 'Country', "Country"), "Lead ID",
       replace("Created Date", ' ', 'T') || ':00Z', replace("Created Date", ' ', 'T') || ':00Z', NULL
FROM staging;
INSERT INTO status_change (lead_id, from_status, to_status, at, reason)
SELECT id, NULL, 'new', created_at, 'imported' FROM lead;
INSERT INTO status_change (lead_id, from_status, to_status, at, reason)
SELECT id, 'new', status, created_at, 'imported' FROM lead WHERE status <> 'new';
DROP TABLE staging;
COMMIT;
{create}
"""


def sqlite_floor(csv_path: Path, db: Path, leadcli: str) -> list[str]:
    """The sqlite3 shell command of SQLITE_FLOOR on a database leadcli has just created (empty)."""
    subprocess.run([leadcli, "--db", str(db), "db", "migrate"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                          "AND tbl_name IN ('lead', 'status_change')").fetchall()
    con.close()
    script = SQLITE_FLOOR.format(csv=csv_path, drop="\n".join(f"DROP INDEX {n};" for n, _ in indexes),
                                 create="\n".join(f"{sql};" for _, sql in indexes))
    path = db.with_suffix(".sql")
    path.write_text(script, encoding="utf-8")
    return ["sqlite3", str(db), f".read {path}"]


def run(cmd: list[str], env: dict | None = None, probe: Path | None = None,
        out: list | None = None) -> tuple[float, float]:
    prober = LockProbe(probe) if probe else None
    if prober:
        prober.start()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if out is not None else subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    if out is not None:
        out.append(proc.stdout.read())
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if prober:
        prober.stop.set()
        prober.join()
        label = " ".join(c for c in cmd[2:] if c not in ("-q", "--json", str(cmd[3]))) + f" ({probe.name})"
        LOCK_WAITS[label] = (prober.longest, prober.writes)
        print(f"leadcli {' '.join(c for c in cmd[2:] if c != str(cmd[3]))}: a concurrent writer waited at most "
              f"{prober.longest:.2f} s for the write lock", file=sys.stderr)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    ap.add_argument("--preload", type=int, default=0, metavar="N",
                    help="also import the file into a database already holding N other leads (write-lock figure)")
    ap.add_argument("--lock-only", action="store_true",
                    help="only the leadcli imports that measure the write lock (no other tools, no re-imports)")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="leadcli-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = _csv(work / f"leads-{args.rows}.csv", args.rows)
    for name in ("sqlite3.db", "sqlite-utils.db", "floor.db", "sqlite-floor.db", "leadcli.db", "big.db"):
        for suffix in ("", "-wal", "-shm"):
            Path(str(work / name) + suffix).unlink(missing_ok=True)
    leadcli = str(Path(sys.executable).parent / "leadcli")
    results = [] if args.lock_only else _others(work, csv_path, leadcli)
    env = {**os.environ, "LEADCLI_DB": str(work / "leadcli.db")}
    summaries: list[bytes] = []
    results.append(("leadcli import", *run([leadcli, "-q", "import", str(csv_path), "--json"], env,
                                           work / "leadcli.db", summaries)))
    if not args.lock_only:
        results.append(("leadcli import (again: all duplicates)",
                        *run([leadcli, "-q", "import", str(csv_path), "--json"], env, None, summaries)))
        results.append(("leadcli import --reprocess (again, every row)",
                        *run([leadcli, "-q", "import", str(csv_path), "--reprocess", "--json"], env,
                             work / "leadcli.db", summaries)))
    readers = None
    if args.preload:
        readers = _into_big(work, csv_path, args.preload, leadcli, results, summaries)
    _print(args.rows, csv_path, results, summaries, readers)
    if not args.keep:
        shutil.rmtree(work)


def _csv(path: Path, rows: int, **kw) -> Path:
    if not path.exists():
        t = time.perf_counter()
        generate(path, rows, **kw)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
    return path


def _others(work: Path, csv_path: Path, leadcli: str) -> list:
    """The other tools on the same file: the yardsticks of the table."""
    results = [("sqlite3 .import (bare table)",
                *run(["sqlite3", str(work / "sqlite3.db"), f".import --csv {csv_path} bare"]))]
    bindir = Path(sys.executable).parent
    sqlite_utils = shutil.which("sqlite-utils", path=str(bindir)) or shutil.which("sqlite-utils")
    if sqlite_utils:
        results.append(("sqlite-utils insert --csv",
                        *run([sqlite_utils, "insert", str(work / "sqlite-utils.db"), "leads", str(csv_path), "--csv"])))
    results.append(("python csv -> sqlite3 executemany (bare table)",
                    *run([sys.executable, "-c", CPYTHON_FLOOR, str(csv_path), str(work / "floor.db")])))
    results.append(("sqlite3 floor: .import + INSERT…SELECT, leadcli's schema",
                    *run(sqlite_floor(csv_path, work / "sqlite-floor.db", leadcli))))
    return results


def _into_big(work: Path, csv_path: Path, preload: int, leadcli: str, results: list,
              summaries: list[bytes]) -> ReaderProbe:
    """The same file into a database that already holds `preload` other leads, while a thread
    writes every 50 ms and another runs `list` and `report conversion --as-of` over and over."""
    others = _csv(work / f"others-{preload}.csv", preload, seed=7, first=10_000_000, variant=50)
    big = work / "big.db"
    saved = work / f"big-{preload}.db"
    env = {**os.environ, "LEADCLI_DB": str(big)}
    if saved.exists():
        shutil.copyfile(saved, big)
    else:
        run([leadcli, "-q", "import", str(others)], env)
        subprocess.run(["sqlite3", str(big), "PRAGMA wal_checkpoint(TRUNCATE)"], check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(big, saved)  # kept for the next run with --keep
    readers = ReaderProbe(big, leadcli)
    readers.start()
    results.append((f"leadcli import into {preload:,} leads",
                    *run([leadcli, "-q", "import", str(csv_path), "--json"], env, big, summaries)))
    readers.stop.set()
    readers.join()
    return readers


def _print(rows: int, csv_path: Path, results: list, summaries: list[bytes], readers: ReaderProbe | None) -> None:
    base = results[0][1]
    print(f"\nN = {rows:,} rows, {len(HEADER)} columns, {csv_path.stat().st_size / 1e6:.0f} MB, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"| {'tool':<46} | {'wall s':>7} | {'× first':>9} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 48}|{'-' * 9}:|{'-' * 10}:|{'-' * 12}:|")
    for name, wall, rss in results:
        print(f"| {name:<46} | {wall:7.2f} | {wall / base:9.2f} | {rss:11.0f} |")
    print("\nThe write lock: the longest a concurrent writer (BEGIN IMMEDIATE every 50 ms, as `add`) waited")
    for label, (longest, writes) in LOCK_WAITS.items():
        print(f"  leadcli {label}: {longest:.2f} s ({writes} writes made meanwhile)")
    if readers is not None:
        print("  readers during the import into the big database: " + ", ".join(
            f"{name} ran {readers.runs[name]}×, slowest {readers.slowest[name]:.2f} s" for name in readers.runs)
            + f", {readers.failed} failed")
    print("\nleadcli's own account of each run (--json `seconds`): read = parse, map, check and stage (no lock);"
          "\nwrite = the writes (one transaction, or batches with pauses); checkpoint = WAL folded into the file\n")
    for raw in summaries:
        summary = json.loads(raw)
        phases = summary["seconds"]
        print(f"  run {summary['run_id']}: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()) if phases else
              f"  run {summary['run_id']}: (recognised by its SHA-256: no rows read)")


if __name__ == "__main__":
    main()
