"""Who is working: LEADCLI_USER (else the login name) is recorded by `add`, `log`, `next` and imports, is
shown by `show`, `list` and `export`, and `--owner me` / `--mine` mean that user in every filter."""

from __future__ import annotations

import csv
import io
import json

import dbshim


def _ids(cli, *args: str) -> set[int]:
    return {r["id"] for r in json.loads(cli.ok("-f", "json", *args).stdout)}


def test_add_log_next_and_import_record_who_did_it(cli, isolated_db, tmp_path, monkeypatch):
    monkeypatch.setenv("LEADCLI_USER", "maria")
    ana = int(cli.ok("-q", "add", "Ana", "--owner", "li").stdout)
    cli.ok("log", str(ana), "call", "intro")
    cli.ok("next", str(ana), "call back", "--due", "tomorrow")
    monkeypatch.setenv("LEADCLI_USER", "li")
    (tmp_path / "in.csv").write_text("name,email\nBo,bo@x.io\n")
    cli.ok("import", str(tmp_path / "in.csv"))
    card = json.loads(cli.ok("-f", "json", "show", str(ana)).stdout)
    assert card["created_by"] == "maria" and card["owner"] == "li"
    assert "added by" in cli.ok("-f", "table", "show", str(ana)).stdout
    listed = {r["name"]: r for r in json.loads(cli.ok("-f", "json", "list").stdout)}
    assert listed["Ana"]["created_by"] == "maria" and listed["Bo"]["created_by"] is None
    exported = list(csv.DictReader(io.StringIO(cli.ok("export", "--format", "csv").stdout)))
    assert {r["name"]: r["created_by"] for r in exported} == {"Ana": "maria", "Bo": ""}
    con = dbshim.connect(isolated_db)
    assert sorted(con.execute("SELECT type, owner, created_by FROM activity").fetchall()) == [
        ("call", "li", "maria"), ("task", "li", "maria")]
    assert con.execute("SELECT by FROM import_run").fetchall() == [("li",)]
    con.close()
    # leadcli's own export read back: `created_by` is not a custom field; the new lead is the importer's.
    out = tmp_path / "out.csv"
    cli.ok("export", "--format", "csv", "-o", str(out))
    cli.ok("--db", str(tmp_path / "other.db"), "import", str(out))
    other = json.loads(cli.ok("--db", str(tmp_path / "other.db"), "-f", "json", "list").stdout)
    assert all("created_by" not in r["fields"] for r in other)


def test_owner_me_and_mine_in_every_filter(cli, monkeypatch):
    monkeypatch.setenv("LEADCLI_USER", "Maria")
    mine = int(cli.ok("-q", "add", "Ana", "--owner", "maria", "--source", "web").stdout)
    theirs = int(cli.ok("-q", "add", "Bo", "--owner", "li", "--source", "web").stdout)
    for lead in (mine, theirs):
        cli.ok("next", str(lead), "call", "--due", "today")
    assert _ids(cli, "list", "--owner", "me") == {mine} == _ids(cli, "list", "--mine")
    assert _ids(cli, "export", "--owner", "me") == {mine}
    report = json.loads(cli.ok("-f", "json", "report", "conversion", "--all-time", "--owner", "me").stdout)
    assert sum(r["total"] for r in report) == 1
    cli.ok("view", "save", "my-leads", "--owner", "me")
    assert _ids(cli, "list", "@my-leads") == {mine}
    monkeypatch.setenv("LEADCLI_USER", "li")  # a saved `me` is whoever uses the view
    assert _ids(cli, "list", "@my-leads") == {theirs}
    today = json.loads(cli.ok("-f", "json", "today", "--owner", "me").stdout)
    assert {r["lead_id"] for r in today} == {theirs}
