"""Conversion benchmark: converting N leads in one bulk command against importing them.

Writes a deterministic CSV of N qualified leads (people at a few hundred companies whose names are
spelled several ways, e-mails at the company domain or at free-mail providers, some people twice),
then on one fresh database:

  1. imports it - with `leadcli import FILE` when that command exists, otherwise through the library
     (validate every e-mail, phone and value, executemany into lead + status_change, the new-lead hook),
     timed as a process just the same;
  2. `leadcli convert --status qualified --yes` - every lead becomes a contact, a company and a deal,
     reusing companies and contacts that match;

and prints both wall times, the ratio (the target is <= 3) and what the conversion created.

    python bench/convert.py                  # N = 10,000
    python bench/convert.py --rows 50000 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LEADCLI = [str(Path(PY).with_name("leadcli"))] if Path(PY).with_name("leadcli").exists() else [PY, "-m", "leadcli"]

FIRST = ["Ana", "Bo", "Carla", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam",
         "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Silva", "Chen", "Rossi", "Ivanov", "Kaya", "Haddad", "Okafor", "Tanaka", "Garcia", "Berg", "Iyer"]
WORDS_A = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
           "Cyberdyne", "Wonka", "Oscorp", "Aperture", "Monarch", "Nakatomi", "Virtucon", "Bluth", "Dunder", "Pied"]
WORDS_B = ["Health", "Logistics", "Foods", "Labs", "Systems", "Retail", "Travel", "Finance", "Imports", "Energy"]
SPELLINGS = ["{}", "{} Inc.", "{}, LLC", "{} Ltd", "{} GmbH", "The {} Company", "{}"]
FREE = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk"]
HEADER = ["name", "email", "phone", "company", "title", "source", "owner", "value", "currency", "status"]


def generate(path: Path, rows: int, seed: int = 20261122) -> None:
    rng = random.Random(seed)
    companies = [f"{a} {b}" for a in WORDS_A for b in WORDS_B]  # 200 companies
    people = []
    for i in range(int(rows * 0.85)):  # ~15% of the leads are someone who came twice
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(companies)
        domain = company.lower().replace(" ", "") + ".com" if rng.random() < 0.8 else rng.choice(FREE)
        phone = f"+1 415 {rng.randint(200, 999)} {i % 10000:04d}" if rng.random() < 0.7 else ""
        people.append((f"{first} {last}", f"{first.lower()}.{last.lower()}.{i}@{domain}", phone, company))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(rows):
            name, email, phone, company = people[i] if i < len(people) else rng.choice(people)
            value = "" if rng.random() < 0.2 else str(rng.randint(5, 2000) * 100)
            w.writerow([name, email, phone, rng.choice(SPELLINGS).format(company), rng.choice(["CEO", "CTO", ""]),
                        rng.choice(["web", "referral", "cold call"]), rng.choice(["maria", "li", "sam"]), value,
                        "USD" if value else "", "qualified"])


LIBRARY_IMPORT = r"""
import csv, sys
from leadcli import leads, store, validate
rows = []
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        email, email_key = validate.email(r["email"])
        phone, phone_key = validate.phone(r["phone"])
        first, last = validate.split_name(r["name"])
        rows.append((r["name"], first, last, email, email_key, phone, phone_key, validate.clean_text(r["company"]),
                     validate.clean_text(r["title"]), r["source"], r["owner"], validate.money(r["value"]),
                     validate.currency(r["currency"]), r["status"]))
with store.session(write=True) as s:
    raw = store.raw_connection(s)
    now = store.now_iso()
    first_id = (raw.execute("SELECT max(id) FROM lead").fetchone()[0] or 0) + 1
    ids = range(first_id, first_id + len(rows))
    raw.executemany("INSERT INTO lead (id, name, first_name, last_name, email, email_key, phone, phone_key, company,"
                    " title, source, owner, value_cents, currency, status, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [(i, *r, now, now) for i, r in zip(ids, rows)])
    raw.executemany("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?,?,?,?,?)",
                    [(i, None, r[-1], now, "imported") for i, r in zip(ids, rows)])
    leads.on_leads_created(s, first_id, first_id + len(rows) - 1)
"""


def has_import_command() -> bool:
    proc = subprocess.run([*LEADCLI, "import", "--help"], capture_output=True, text=True)
    return proc.returncode == 0


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall


def one_run(workdir: Path, csv_path: Path, use_cli_import: bool) -> dict:
    db_path = workdir / "convert.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    env = {**os.environ, "LEADCLI_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    subprocess.run([*LEADCLI, "db", "migrate"], env=env, check=True, capture_output=True)
    if use_cli_import:
        import_s = timed([*LEADCLI, "-q", "import", str(csv_path), "--on-duplicate", "create"], env)
    else:
        import_s = timed([PY, "-c", LIBRARY_IMPORT, str(csv_path)], env)
    con = sqlite3.connect(db_path)
    qualified = con.execute("SELECT count(*) FROM lead WHERE status = 'qualified'").fetchone()[0]
    con.close()
    convert_s = timed([*LEADCLI, "-q", "--format", "csv", "convert", "--status", "qualified", "--yes"], env)
    con = sqlite3.connect(db_path)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("company", "contact", "deal")}
    converted = con.execute("SELECT count(*) FROM lead WHERE status = 'converted'").fetchone()[0]
    con.close()
    return {"import_s": import_s, "convert_s": convert_s, "qualified": qualified, "converted": converted, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="repeat and report the median (default 3)")
    parser.add_argument("--import-via", choices=["auto", "cli", "library"], default="auto")
    args = parser.parse_args()
    use_cli = has_import_command() if args.import_via == "auto" else args.import_via == "cli"
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "leads.csv"
        generate(csv_path, args.rows)
        results = [one_run(workdir, csv_path, use_cli) for _ in range(args.runs)]
    imp = statistics.median(r["import_s"] for r in results)
    conv = statistics.median(r["convert_s"] for r in results)
    last = results[-1]
    how = "leadcli import" if use_cli else "library import (validate + executemany + new-lead hook)"
    print(f"rows: {args.rows:,}  runs: {args.runs}  python {sys.version.split()[0]}")
    print(f"import ({how}): {imp:.2f} s")
    print(f"leadcli convert --status qualified --yes: {conv:.2f} s")
    print(f"ratio convert / import: {conv / imp:.2f}  (target <= 3)")
    print(f"qualified before: {last['qualified']:,}  converted: {last['converted']:,}  "
          f"companies: {last['company']:,}  contacts: {last['contact']:,}  deals: {last['deal']:,}")
    print()
    print("| step | leadcli s | peer | peer s | ratio | target |")
    print("|---|---|---|---|---|---|")
    print(f"| convert --status qualified --yes ({args.rows:,} leads) | {conv:.2f} | {how} of the same leads | "
          f"{imp:.2f} | {conv / imp:.2f} | ≤ 3 |")


if __name__ == "__main__":
    main()
