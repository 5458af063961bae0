"""Properties of the import: in-file matching does not depend on row order; import -> export ->
import gives the same data."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcli import ingest, store

PEOPLE = [(f"p{i}", f"person{i}@acme{i % 3}.io", f"+44 20 7946 {i:04d}") for i in range(8)]
# A row of one person: which of their keys it carries (e-mail, phone or both), and a placeholder
# e-mail some of them typed (never a key, so never joins two people).
ROW = st.tuples(st.integers(0, len(PEOPLE) - 1), st.sampled_from(["email", "phone", "both"]), st.booleans())


def _write(path: Path, rows: list[tuple[int, str, bool]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Name", "Email", "Phone", "Person", "Work Email"])
        for person, keys, placeholder in rows:
            pid, email, phone = PEOPLE[person]
            w.writerow([f"Name {pid}", email if keys != "phone" else "", phone if keys != "email" else "", pid,
                        "test@test.com" if placeholder else ""])
    return path


def _query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _people(db: Path) -> list[str]:
    return sorted(json.loads(f)["Person"] for (f,) in _query(db, "SELECT fields FROM lead ORDER BY id"))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=30), seed=st.integers(0, 10**6))
def test_shuffled_rows_give_the_same_leads(isolated_db, tmp_path_factory, rows, seed):
    base = tmp_path_factory.mktemp("order")
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    got = []
    for name, order in (("a", rows), ("b", shuffled)):
        db = base / f"{name}.db"
        report = ingest.import_file(_write(base / f"{name}.csv", order), db=db)
        got.append((report.created, report.skipped, _people(db)))
    store.dispose_all()
    assert got[0] == got[1]
    # The rows of a person who once gave both e-mail and phone are all linked: one lead.
    linked = {PEOPLE[p][0] for p, keys, _ in rows if keys == "both"}
    assert all(got[0][2].count(pid) == 1 for pid in linked)


NAMES = st.sampled_from(["Ana Silva", "Lewis, James", "José Ñúñez", "Ольга Петрова", "O'Brien", "Zoë"])
COMPANIES = st.sampled_from(["", "Acme", "Baker, Holt & Sons", "ООО «Ветер»", "=cmd"])
EMAILS = st.sampled_from(["", "ana@acme.io", "maría.garcía@correo.es", "ольга@почта.рф", "not an email"])
PHONES = st.sampled_from(["", "+1 415 555 0100", "+44 20 7946 0958 ext 12", "p:+33130000001", "1.15164E+11",
                          "800-38-AVAIL"])
AMOUNTS = st.sampled_from(["", "100", "1.234,56 €", "$99", "-5", "12,400.00"])
DATES = st.sampled_from(["", "2024-03-12", "15 Apr, 2021 00:03:00", "3/15/2024 2:30 PM", "not a date"])
STATUS = st.sampled_from(["", "New", "Working - Contacted", "Closed - Converted", "Junk Lead", "Someday"])
TAGS = st.sampled_from(["", "Hot", "Hot, Warm", "vip; east"])
LEAD = st.tuples(NAMES, COMPANIES, EMAILS, PHONES, AMOUNTS, DATES, STATUS, TAGS)


def _dump(db: Path) -> list[tuple]:
    cols = ("name", "first_name", "last_name", "email", "phone", "company", "value_cents", "currency", "status",
            "converted_at", "created_at", "fields")
    rows = _query(db, f"SELECT id, {', '.join(cols)} FROM lead ORDER BY id")
    tags: dict[int, set[str]] = {}
    for lead_id, tag in _query(db, "SELECT lead_id, tag FROM lead_tag"):
        tags.setdefault(lead_id, set()).add(tag)
    return [(*row[1:-1], json.loads(row[-1]), sorted(tags.get(row[0], ()))) for row in rows]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leads=st.lists(LEAD, min_size=1, max_size=12))
def test_import_export_import_is_the_same_data(isolated_db, tmp_path_factory, cli, leads):
    base = tmp_path_factory.mktemp("round")
    src = base / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Full Name", "Company", "Email", "Phone", "Amount", "Created Date", "Lead Status", "Labels"])
        for i, lead in enumerate(leads):
            w.writerow([f"{lead[0]} {i}", *lead[1:]])
    first, second = base / "a.db", base / "b.db"
    ingest.import_file(src, ingest.ImportOptions(on_duplicate="create"), db=first)
    exported = base / "out.csv"
    cli.ok("--db", str(first), "export", "--output", str(exported))
    again = ingest.import_file(exported, ingest.ImportOptions(on_duplicate="create"), db=second)
    assert again.rejected == 0 and again.flagged == 0
    assert _dump(first) == _dump(second)
    store.dispose_all()
