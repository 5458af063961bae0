"""The import as a library: the database is given, the dialect stays in store/, one duplicate rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from leadcli import duplicates, ingest, leads, store
from leadcli.errors import DuplicateLead

PACKAGE = Path(__file__).resolve().parent.parent / "leadcli"


@pytest.mark.sqlite_only
def test_import_file_writes_to_the_database_it_is_given(isolated_db, tmp_path):
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("Name,Email\nAna Silva,ana@acme.io\nBo Chen,bo@globex.com\n", encoding="utf-8")
    elsewhere = tmp_path / "other" / "crm.db"
    elsewhere.parent.mkdir()

    report = ingest.import_file(csv_path, db=elsewhere)
    again = ingest.import_file(csv_path, ingest.ImportOptions(reprocess=True), db=store.Store(elsewhere))

    assert (report.created, again.created, again.skipped) == (2, 0, 2)
    with store.Store(elsewhere).session() as s:
        emails = {email for (email,) in s.execute(text("SELECT email FROM lead"))}
    assert emails == {"ana@acme.io", "bo@globex.com"}
    assert not isolated_db.exists()  # the process-wide default was never touched


def test_import_file_requires_the_database():
    with pytest.raises(TypeError):
        ingest.import_file("in.csv")  # type: ignore[call-arg]


def test_only_the_store_speaks_sqlite():
    pattern = re.compile(r"import sqlite3|PRAGMA|driver_connection|INSERT OR IGNORE|temp\.|COLLATE NOCASE")
    pipeline = [*sorted((PACKAGE / "ingest").glob("*.py")), PACKAGE / "duplicates.py"]
    offenders = [f"{p.name}:{n}" for p in pipeline for n, line in enumerate(p.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


KEY = st.one_of(st.none(), st.sampled_from(["a", "b"]))
RECORD = st.fixed_dictionaries({"email_key": KEY, "phone_key": KEY, "external_id": KEY,
                                "name": st.one_of(st.none(), st.sampled_from(["ana", "bo"]))})


@given(st.sampled_from(duplicates.KEYS), RECORD, RECORD)
def test_the_sql_veto_says_what_conflict_says(key, a, b):
    """`veto_sql` and `conflict` are one rule: evaluated on the same two records they agree."""
    import sqlite3  # the test's own evaluator of the generated SQL, not the package's

    con = sqlite3.connect(":memory:")
    order = ("email_key", "phone_key", "external_id", "name")
    for table, record in (("lead", b), ("row", a)):
        con.execute(f"CREATE TABLE {table} ({', '.join(order)})")
        con.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", [record[c] for c in order])
    veto = duplicates.veto_sql(key, "lead", "row")
    same = con.execute(f"SELECT count(*) FROM lead, row WHERE 1 {veto}").fetchone()
    assert (same[0] == 0) == duplicates.conflict(key, a, b)


def test_add_uses_the_same_rule_as_import(isolated_db):
    with store.Store().session(write=True) as s:
        leads.add_lead(s, leads.LeadInput(name="Switchboard", email="reception@acme.io", phone="+44 20 7946 0958"))
        # Same phone, another e-mail: a colleague on the switchboard, not the same person.
        colleague = leads.add_lead(s, leads.LeadInput(name="Bo", email="bo@acme.io", phone="+44 20 7946 0958"))
        assert colleague.id is not None
        with pytest.raises(DuplicateLead):
            leads.add_lead(s, leads.LeadInput(name="Bo again", phone="+44 20 7946 0958", email="bo@acme.io"))
        with pytest.raises(DuplicateLead):
            leads.add_lead(s, leads.LeadInput(name="No mail", phone="+44 20 7946 0958"))
