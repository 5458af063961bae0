"""The library API: `Database` gives the same records as the CLI's JSON, on the database it names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leadcli import Database
from leadcli.errors import DuplicateLead, NotFound

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "leads.csv"


@pytest.fixture
def db(tmp_path) -> Database:
    return Database(tmp_path / "api.db")


def test_add_returns_the_id_and_leads_match_list_json(cli, db):
    first = db.add("Ana Silva", email="Ana@Acme.io", source="Referral", value=1500, currency="EUR",
                   tags=["vip"], fields={"Industry": "Retail"})
    second = db.add("Bo Chen", phone="+1 415 555 0100", source="web")
    assert (first, second) == (1, 2)
    listed = json.loads(cli.ok("--db", str(db.path), "--format", "json", "list").stdout)
    assert db.leads() == listed
    assert [r["id"] for r in db.leads(source="REFERRAL")] == [first]
    assert db.leads(tag="VIP")[0]["fields"] == {"Industry": "Retail"}
    assert db.leads(status=["new"], limit=1, sort="id")[0]["id"] == first
    assert db.lead(first)["value"] == 1500 and db.lead(first)["history"][0]["to"] == "new"


@pytest.mark.sqlite_only
def test_each_database_is_its_own_and_leadcli_db_is_not_read(tmp_path, isolated_db):
    a, b = Database(tmp_path / "a.db"), Database(tmp_path / "b.db")
    a.add("Only in A", email="a@x.io")
    assert [r["name"] for r in a.leads()] == ["Only in A"]
    assert b.leads() == []
    assert not isolated_db.exists()


def test_expected_errors_are_leadcli_errors(db):
    db.add("Ana", email="ana@x.io")
    with pytest.raises(DuplicateLead):
        db.add("Ana again", email="ANA@x.io")
    with pytest.raises(NotFound):
        db.lead(99)
    with pytest.raises(TypeError, match="unknown filter"):
        db.leads(colour="red")


def test_import_csv_returns_the_summary_of_import_json(cli, db, tmp_path):
    summary = db.import_csv(EXAMPLE)
    other = tmp_path / "cli.db"
    printed = json.loads(cli.ok("--db", str(other), "import", str(EXAMPLE), "--json").stdout)
    assert set(summary) == set(printed)
    for key in ("run_id", "rows", "created", "updated", "skipped", "rejected", "encoding", "delimiter"):
        assert summary[key] == printed[key], key
    assert summary["created"] == len(db.leads(archived=True)) > 0
    again = db.import_csv(EXAMPLE, on_duplicate="merge")
    assert again["created"] == 0


def test_convert_and_report_conversion_match_the_cli(cli, db):
    ids = [db.add(f"Lead {i}", email=f"l{i}@x.io", source="web" if i % 2 else "Referral") for i in range(6)]
    results = db.convert(ids[0], ids[1], deal_value=900)
    assert [r["outcome"] for r in results] == ["converted", "converted"]
    assert db.lead(ids[0])["status"] == "converted"
    assert db.convert(ids[0])[0]["outcome"] == "unchanged"
    rows = db.report.conversion(by="source", all_time=True)
    printed = json.loads(cli.ok("--db", str(db.path), "--format", "json", "report", "conversion",
                                "--all-time").stdout)
    assert rows == printed
    assert {r["group"].lower(): (r["total"], r["converted"]) for r in rows} == {"web": (3, 1), "referral": (3, 1)}


def test_train_and_score(db):
    import scoring_data

    with db.session(write=True) as s:
        scoring_data.insert(s, scoring_data.make(600, seed=3, open_share=0.2))
    model = db.train()
    assert model["id"] == 1
    everything = db.score()
    assert everything["scored"] == sum(everything["grades"].values()) > 0
    open_id = next(r["id"] for r in db.leads(status="new", sort="id"))
    one = db.score(open_id)
    assert one["rows"][0]["id"] == open_id and 0 <= one["rows"][0]["score"] <= 100


def test_import_leadcli_stays_cheap():
    code = "import sys, leadcli; print(sorted(m for m in ('leadcli.api', 'sqlalchemy', 'sqlmodel', 'typer') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## As a library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "export.csv").write_bytes(EXAMPLE.read_bytes())
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "leads.db").exists()
