"""leadcli export: formats, filters, formula neutralisation, and the export -> import -> export round trip."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcli import leads, store
from leadcli.export import ACTIVITY_KEYS
from leadcli.leads import LEAD_KEYS


def add(cli, *args) -> int:
    return int(cli.ok("-q", "add", *args).stdout.strip())


def test_export_formats_filters_and_output_file(cli, tmp_path):
    add(cli, "Ana", "--email", "ana@x.io", "--source", "web", "--tag", "vip", "--field", "Industry=Retail")
    add(cli, "Bo", "--source", "referral", "--value", "12.5")
    rows = list(csv.DictReader(io.StringIO(cli.ok("export").stdout)))
    assert [r["name"] for r in rows] == ["Ana", "Bo"] and list(rows[0]) == [*LEAD_KEYS, *ACTIVITY_KEYS]
    assert rows[0]["tags"] == "vip" and json.loads(rows[0]["fields"]) == {"Industry": "Retail"}
    data = json.loads(cli.ok("export", "--format", "json", "--source", "referral").stdout)
    assert [d["name"] for d in data] == ["Bo"] and data[0]["value"] == 12.5
    lines = cli.ok("--format", "jsonl", "export").stdout.splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["Ana", "Bo"]
    assert json.loads(cli.ok("export", "-f", "json", "--search", "nobody").stdout) == []
    target = tmp_path / "out.csv"
    result = cli.ok("export", "--output", str(target))
    assert result.stdout == "" and "exported 2 lead(s)" in result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("id,name,")


def test_formula_cells_are_neutralised_and_read_back_exactly(cli, tmp_path):
    names = ["=HYPERLINK(\"http://x\")", "+1 nasty", "-minus", "@at", "'=already quoted", "''+two", "plain'"]
    for name in names:
        cli.ok("add", "--allow-duplicate", "--", name)
    exported = cli.ok("export").stdout
    cells = [r["name"] for r in csv.DictReader(io.StringIO(exported))]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells)
    assert cells[0] == "'=HYPERLINK(\"http://x\")" and cells[4] == "''=already quoted" and cells[6] == "plain'"
    path = tmp_path / "e.csv"
    path.write_text(exported, encoding="utf-8")
    store.dispose_all()
    other = tmp_path / "other.db"
    cli.ok("--db", str(other), "import", str(path))
    again = json.loads(cli.ok("--db", str(other), "-f", "json", "export").stdout)
    assert [r["name"] for r in again] == names


# ---------------------------------------------------------------- round trip (Hypothesis)

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=";"),
                min_size=1, max_size=20).map(str.strip).filter(bool)
_lead = st.fixed_dictionaries({
    "name": _text,
    "email": st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,5})?@[a-z]{2,8}\.(com|io|de)", fullmatch=True)),
    "phone": st.one_of(st.none(), st.from_regex(r"\+1 415 555 0[0-9]{3}", fullmatch=True)),
    "company": st.one_of(st.none(), _text),
    "source": st.one_of(st.none(), st.sampled_from(["web", "referral", "Trade Show"])),
    "value": st.one_of(st.none(), st.decimals(min_value=0, max_value=10**9, places=2).map(str)),
    "currency": st.one_of(st.none(), st.sampled_from(["EUR", "USD", "JPY"])),
    "tags": st.lists(_text, max_size=3),
    "fields": st.dictionaries(st.sampled_from(["Industry", "Country", "Size", "@Formula"]), _text, max_size=3),
    "status": st.sampled_from(["new", "contacted", "qualified", "converted", "disqualified"]),
    "notes": st.one_of(st.none(), st.lists(_text, min_size=1, max_size=3).map("\n".join)),
    "created": st.one_of(st.none(), st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1),
                                                  max_value=__import__("datetime").datetime(2030, 1, 1))
                         .map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))),
})


def _populate(records: list[dict], path=None) -> None:
    with store.session(write=True, path=path) as s:
        for r in records:
            data = leads.LeadInput(name=r["name"], email=r["email"], phone=r["phone"], company=r["company"],
                                   source=r["source"], value=r["value"], currency=r["currency"], notes=r["notes"],
                                   created=r["created"], tags=r["tags"],
                                   fields=[f"{k}={v}" for k, v in r["fields"].items()])
            lead = leads.add_lead(s, data, allow_duplicate=True)
            if r["status"] != "new":
                leads.set_status(s, lead, r["status"], reason="no budget" if r["status"] == "disqualified" else None)


def _comparable(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        row.pop("updated_at")
        row.pop("id")
        row.pop("created_by")  # who added it there; the import records who ran it
    return rows


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_lead, min_size=1, max_size=6))
def test_export_import_export_round_trip(cli, tmp_path_factory, records):
    base = tmp_path_factory.mktemp("rt")
    first_db, second_db = base / "a.db", base / "b.db"
    _populate(records, first_db)
    exported = cli.ok("--db", str(first_db), "export").stdout
    path = base / "export.csv"
    path.write_text(exported, encoding="utf-8")
    out = json.loads(cli.ok("--db", str(second_db), "import", str(path), "--json").stdout)
    assert out["rejected"] == 0
    again = cli.ok("--db", str(second_db), "export").stdout
    a, b = _comparable(again), _comparable(exported)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert {k: (x[k], y[k]) for k in x if x[k] != y[k]} == {}
    # Importing the export again changes nothing.
    out = json.loads(cli.ok("--db", str(second_db), "import", str(path), "--json").stdout)
    assert out["created"] == out["updated"] == 0
    assert cli.ok("--db", str(second_db), "export").stdout == again
    store.dispose_all()
