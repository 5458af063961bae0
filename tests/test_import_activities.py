"""Import sees activities: next/last activity date columns become activities of the run, undone with
it, and `export` writes them back so an import of the export keeps them."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from leadcli.ingest import columns

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LEADCLI_NOW", T0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def imported(cli, path: Path, *args: str) -> dict:
    return json.loads(cli.ok("import", str(path), "--json", *args).stdout)


def leads(cli) -> dict[str, dict]:
    rows = json.loads(cli.ok("--format", "json", "list", "-n", "0").stdout)
    return {r["name"]: r for r in rows}


def timeline(cli, lead_id: int) -> list[dict]:
    return json.loads(cli.ok("--format", "json", "show", str(lead_id)).stdout)["activities"]


PIPEDRIVE = """Lead - Title,Lead - Contact person,Person - Email,Lead - Owner,Lead - Next activity date
Kestrel lead,Yuki Tanabe,yuki@kestrel.co,Thandi,2026-03-10
Cape lead,Sipho Dlamini,sipho@cape.co,Thandi,2026-03-08
Idle lead,Ana Silva,ana@idle.co,Thandi,
"""


def test_pipedrive_next_activity_date_is_an_open_planned_activity(cli, isolated_db, tmp_path):
    summary = imported(cli, write(tmp_path, "pipedrive.csv", PIPEDRIVE))
    assert summary["created"] == 3 and summary["flagged"] == 0
    got = leads(cli)
    yuki, sipho, ana = got["Yuki Tanabe"], got["Sipho Dlamini"], got["Ana Silva"]
    assert "Lead - Next activity date" not in yuki["fields"]
    assert (yuki["next_action_at"], sipho["next_action_at"], ana["next_action_at"]) == (
        "2026-03-10T00:00:00Z", "2026-03-08T00:00:00Z", None)
    [task] = timeline(cli, yuki["id"])
    assert (task["type"], task["text"], task["due_at"], task["done_at"]) == (
        "task", "next activity (imported)", "2026-03-10T00:00:00Z", None)
    due_ids = {r["id"] for r in json.loads(cli.ok("list", "--due", "today", "-f", "json").stdout)}
    overdue_ids = {r["id"] for r in json.loads(cli.ok("list", "--due", "overdue", "-f", "json").stdout)}
    assert (due_ids, overdue_ids) == ({yuki["id"]}, {sipho["id"]})
    agenda = json.loads(cli.ok("today", "--format", "json").stdout)
    assert [(r["section"], r["lead_id"]) for r in agenda if r["activity_id"]] == [
        ("overdue", sipho["id"]), ("today", yuki["id"])]


HUBSPOT = """Record ID,First Name,Last Name,Email,Last Activity Date,Next Activity Date
101,Bo,Berg,bo@berg.se,2026-03-02 10:30,
102,Di,Dahl,di@dahl.se,not yet,2026-03-20 09:00
"""


def test_hubspot_last_activity_date_is_a_done_note_and_a_bad_date_is_kept(cli, isolated_db, tmp_path):
    summary = imported(cli, write(tmp_path, "hubspot.csv", HUBSPOT))
    assert summary["created"] == 2 and summary["flagged"] == 1
    got = leads(cli)
    bo, di = got["Bo Berg"], got["Di Dahl"]
    [note] = timeline(cli, bo["id"])
    assert (note["type"], note["text"], note["at"], note["done_at"], note["due_at"]) == (
        "note", "last activity (imported)", "2026-03-02T10:30:00Z", "2026-03-02T10:30:00Z", None)
    assert bo["next_action_at"] is None
    # A value that is no date is kept as written, and no activity is made of it.
    assert di["fields"] == {"Last Activity Date (as written)": "not yet"}
    assert [(a["type"], a["due_at"]) for a in timeline(cli, di["id"])] == [("task", "2026-03-20T09:00:00Z")]


XEDU = """Prospect ID,Lead Origin,Last Activity,Converted
a1,API,Email Opened,0
a2,Landing Page Submission,Page Visited on Website,1
a3,API,SMS Sent,0
"""


def test_last_activity_text_stays_a_custom_field(cli, isolated_db, tmp_path):
    summary = imported(cli, write(tmp_path, "xedu.csv", XEDU))
    assert summary["created"] == 3 and summary["flagged"] == 0
    rows = json.loads(cli.ok("--format", "json", "list", "-n", "0", "--archived").stdout)
    assert sorted(r["fields"]["Last Activity"] for r in rows) == ["Email Opened", "Page Visited on Website",
                                                                  "SMS Sent"]
    assert all(timeline(cli, r["id"]) == [] for r in rows)


def test_read_rows_reads_last_activity_text_as_a_field(tmp_path):
    from leadcli import ingest

    result = ingest.read_rows(write(tmp_path, "xedu.csv", XEDU))
    got = list(result.records())
    assert [r["fields"]["Last Activity"] for r in got] == ["Email Opened", "Page Visited on Website", "SMS Sent"]
    assert all(r["last_activity_at"] is None for r in got)


def test_settle_keeps_date_columns_and_demotes_text_ones():
    mp = columns.resolve(["Name", "Last Activity", "Next Activity Date"])
    assert [c.field for c in mp.columns] == ["name", "last_activity_at", "next_activity_at"]

    def is_date(v: str) -> bool:
        return v[:1].isdigit()

    assert not columns.settle_activity_dates(mp, [["a", "2024-01-02", "2024-02-03"]], is_date)
    assert columns.settle_activity_dates(mp, [["a", "Email Opened", ""], ["b", "SMS Sent", ""]], is_date)
    assert [(c.field, c.key) for c in mp.columns][1:2] == [("custom", "Last Activity")]
    assert mp.columns[2].field == "next_activity_at"


def test_undo_removes_the_activities_of_the_run(cli, isolated_db, tmp_path):
    first = imported(cli, write(tmp_path, "a.csv", "Name,Email,Next Activity Date\nAna,ana@x.io,2026-03-12\n"))
    ana = leads(cli)["Ana"]["id"]
    # Matched under merge: the lead gains the file's last activity once, and undo takes it back.
    text = "Name,Email,Last Activity Date\nAna,ana@x.io,2026-03-01\n"
    second = imported(cli, write(tmp_path, "b.csv", text), "--on-duplicate", "merge")
    assert sorted(a["type"] for a in timeline(cli, ana)) == ["note", "task"]
    again = imported(cli, write(tmp_path, "c.csv", text), "--on-duplicate", "merge", "--reprocess")
    assert sorted(a["type"] for a in timeline(cli, ana)) == ["note", "task"]
    for run in (again, second):
        cli.ok("import", "undo", str(run["run_id"]), "--yes")
    assert [a["type"] for a in timeline(cli, ana)] == ["task"]
    cli.ok("import", "undo", str(first["run_id"]), "--yes")
    assert cli("show", str(ana)).exit_code != 0
    assert json.loads(cli.ok("today", "--format", "json").stdout) == []


def test_export_import_round_trip_keeps_activity_dates(cli, isolated_db, tmp_path):
    imported(cli, write(tmp_path, "pipedrive.csv", PIPEDRIVE))
    bo = int(cli.ok("-q", "add", "Bo", "--email", "bo@x.io").stdout)
    cli.ok("log", str(bo), "call", "talked", "--at", "2026-03-09 08:00")
    before = {n: (r["next_action_at"], r["email"]) for n, r in leads(cli).items()}
    for fmt in ("csv", "json"):
        out = tmp_path / f"all.{fmt}"
        cli.ok("export", "--format", fmt, "-o", str(out))
        if fmt == "csv":
            header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
            assert header[-2:] == ["next_action_at", "last_activity_at"]
        else:
            rows = json.loads(out.read_text(encoding="utf-8"))
            assert {r["name"]: r["last_activity_at"] for r in rows}["Bo"] == "2026-03-09T08:00:00Z"
    cli.ok("--db", str(tmp_path / "copy.db"), "import", str(tmp_path / "all.csv"))
    copy = json.loads(cli.ok("--db", str(tmp_path / "copy.db"), "--format", "json", "list", "-n", "0").stdout)
    assert {r["name"]: (r["next_action_at"], r["email"]) for r in copy} == before
    bo_copy = next(r["id"] for r in copy if r["name"] == "Bo")
    shown = json.loads(cli.ok("--db", str(tmp_path / "copy.db"), "-f", "json", "show", str(bo_copy)).stdout)
    assert [(a["type"], a["at"]) for a in shown["activities"]] == [("note", "2026-03-09T08:00:00Z")]
