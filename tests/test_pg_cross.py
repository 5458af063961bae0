"""The same files into a SQLite file and a PostgreSQL database: every report, the list and the export
print the same on both; `db copy` moves a database both ways with every row intact.

Needs a PostgreSQL server (LEADCLI_TEST_PG_URL, or one started from the PostgreSQL binaries here);
skips, saying why, when none can be had.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import re
from pathlib import Path

import pytest

NOW = re.compile(r"\b" + dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d") + r"T\d\d:\d\d:\d\dZ")
REPORTS = [
    ("list", "--limit", "1000"),
    ("export",),
    ("report", "conversion", "--all-time"),
    ("report", "conversion", "--all-time", "--by", "owner"),
    ("report", "conversion", "--all-time", "--by", "company"),
    ("report", "conversion", "--all-time", "--by", "source", "--measure", "value"),
    ("report", "time-to-convert", "--all-time", "--by", "source"),
    ("report", "time-to-convert", "--all-time", "--by", "tag"),
    ("report", "deals", "--all-time", "--by", "source"),
    ("report", "conversion", "--all-time", "--by", "tag"),
    ("report", "conversion", "--all-time", "--by", "status"),
    ("report", "conversion", "--all-time", "--by", "field.industry"),
    ("report", "conversion", "--all-time", "--by", "created:month"),
    ("report", "conversion", "--all-time", "--by", "created:quarter"),
    ("report", "conversion", "--all-time", "--by", "created:week"),
    ("report", "conversion", "--all-time", "--by", "converted:year", "--date-field", "converted"),
    ("report", "conversion", "--all-time", "--measure", "value"),
    ("report", "funnel", "--all-time"),
    ("report", "time-to-convert", "--all-time"),
    ("report", "lost-reasons", "--all-time"),
    ("report", "deals", "--all-time"),
    ("report", "deals", "--all-time", "--by", "owner"),
    ("deals", "list"),
    ("show", "7"),
]


# One source in several spellings: a report shows one group, labelled the same on both databases.
SOURCES = ["Web", "web", "WEB", "Fair", "ads", "Ads", "Referral", "referral"]


def _write_leads(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["name", "email", "company", "source", "owner", "status", "created_at", "converted_at",
                      "value", "currency", "tags", "industry", "status_reason"])
        for i in range(n):
            created = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(360))
            status = rng.choice(["new", "contacted", "qualified", "converted", "disqualified"])
            converted = created + dt.timedelta(days=rng.randrange(1, 60)) if status == "converted" else None
            out.writerow([f"Person {i}", f"p{i % (n - 7)}@ex{i % 5}.com", f"Co {i % 13}",
                          rng.choice(SOURCES), rng.choice(["ann", "Ann", "bob", "chen", ""]),
                          status, created.isoformat(), converted.isoformat() if converted else "",
                          rng.choice(["", "100", "2500.50", "90000"]), rng.choice(["EUR", "EUR", "USD"]),
                          ",".join(rng.sample(["vip", "cold", "b2b", "Hot", "hot"], rng.randrange(3))),
                          rng.choice(["it", "retail", "", "health"]),
                          rng.choice(["no budget", "No budget", "too small", ""]) if status == "disqualified" else ""])


@pytest.fixture
def two_databases(tmp_path: Path, pg_databases) -> tuple[str, str]:
    name = f"{pg_databases.prefix}_cross"
    url = pg_databases.create(name)
    yield str(tmp_path / "cross.db"), url
    import leadcli.store

    leadcli.store.dispose_all()
    pg_databases.drop(name)


def _out(cli, db: str, *args: str) -> str:
    result = cli("--db", db, "-f", "json", *args)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return NOW.sub("<now>", result.stdout)


def test_every_report_prints_the_same_on_both(cli, tmp_path, two_databases):
    sqlite_db, pg_db = two_databases
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    _write_leads(first, 240, seed=1)
    _write_leads(second, 60, seed=2)
    converted = []
    for db in two_databases:
        cli.ok("--db", db, "-q", "import", str(first))
        cli.ok("--db", db, "-q", "import", str(second), "--on-duplicate", "merge")
        # Some of these are converted or disqualified already: the refusals must read the same too.
        result = cli("--db", db, "-f", "json", "convert", "3", "5", "8", "13", "21", "34")
        converted.append((result.exit_code, result.stdout, result.stderr))
        cli.ok("--db", db, "-q", "add", "Walk In", "--source", "Fair", "--owner", "ann", "--value", "70")
    assert converted[0] == converted[1]
    for args in REPORTS:
        assert _out(cli, sqlite_db, *args) == _out(cli, pg_db, *args), " ".join(args)
    # Groups ignore case; the label is the spelling first in byte order (upper case first).
    groups = [r["group"] for r in json.loads(_out(cli, pg_db, "report", "conversion", "--all-time"))]
    assert sorted(groups) == ["Ads", "Fair", "Referral", "WEB"]
    owners = {r["group"]: r["total"] for r in json.loads(_out(cli, pg_db, "report", "conversion", "--all-time",
                                                                "--by", "owner"))}
    assert set(owners) == {"Ann", "bob", "chen", None}
    reasons = [r["reason"] for r in json.loads(_out(cli, pg_db, "report", "lost-reasons", "--all-time"))]
    assert "No budget" in reasons and "no budget" not in reasons


def test_db_copy_there_and_back_keeps_every_row(cli, tmp_path, two_databases):
    sqlite_db, pg_db = two_databases
    _write_leads(tmp_path / "a.csv", 120, seed=3)
    cli.ok("--db", sqlite_db, "-q", "import", str(tmp_path / "a.csv"))
    cli("--db", sqlite_db, "-q", "convert", "2", "4", "6")
    there = json.loads(cli.ok("--db", sqlite_db, "-f", "json", "db", "copy", "--to", pg_db).stdout)
    leads = len(json.loads(_out(cli, sqlite_db, "list", "--limit", "1000")))
    assert all(t["ok"] for t in there) and {t["table"]: t["rows"] for t in there}["lead"] == leads
    refused = cli("--db", sqlite_db, "db", "copy", "--to", pg_db)
    assert refused.exit_code == 1 and "already holds data" in refused.stderr and "--force" in refused.stderr
    back = tmp_path / "back.db"
    cli.ok("--db", pg_db, "-q", "db", "copy", "--to", str(back))
    for args in (("list", "--limit", "1000"), ("report", "conversion", "--all-time"), ("deals", "list")):
        assert _out(cli, sqlite_db, *args) == _out(cli, pg_db, *args) == _out(cli, str(back), *args)
    # The copy's ids go on where the source's stopped.
    added = cli.ok("--db", pg_db, "add", "Next One").stdout.strip()
    assert added == str(max(int(r["id"]) for r in json.loads(_out(cli, pg_db, "list", "--limit", "1000"))) )
