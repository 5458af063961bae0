"""A salesperson's day through the command line: log, next, done, today (every format, ics), aging."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import dbshim
import pytest
import typer
from typer.testing import CliRunner

UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def utc_zone(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("LEADCLI_NOW", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def add(cli, name: str, *args: str) -> int:
    return int(cli.ok("-q", "add", name, *args).stdout)


def test_a_day_end_to_end(cli, monkeypatch, isolated_db):
    t0 = dt.datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setenv("LEADCLI_NOW", iso(t0))
    ana = add(cli, "Ana Silva", "--phone", "+1 415 555 0100", "--company", "Acme", "--owner", "maria",
              "--created", iso(t0 - dt.timedelta(days=10)))
    bo = add(cli, "Bo Chen", "--company", "Globex", "--created", iso(t0 - dt.timedelta(days=1)))
    cy = add(cli, "Cy Diaz", "--created", iso(t0 - dt.timedelta(hours=5)))
    di = add(cli, "Di Evans", "--created", iso(t0 - dt.timedelta(days=20)))
    cli.ok("contact", str(ana))

    logged = cli.ok("log", str(ana), "call", "intro, wants pricing", "--outcome", "Reached", "--duration", "10m")
    assert logged.stdout.strip().isdigit() and "logged call" in logged.stderr
    cli.ok("log", str(bo), "call", "--outcome", "no answer")
    first = int(cli.ok("next", str(ana), "call back about pricing", "--due", "tomorrow", "--type", "call").stdout)
    due_today = int(cli.ok("-q", "next", str(bo), "try again", "--due", "+3d").stdout)
    upcoming = int(cli.ok("-q", "next", str(cy), "send the deck", "--due", "+5d", "--type", "email").stdout)

    # Three days later: the call back is overdue and comes first.
    monkeypatch.setenv("LEADCLI_NOW", iso(t0 + dt.timedelta(days=3)))
    rows = json.loads(cli.ok("today", "--format", "json").stdout)
    assert [(r["section"], r["activity_id"]) for r in rows] == [
        ("overdue", first), ("today", due_today), ("upcoming", upcoming), ("no-next-action", None)]
    assert rows[0]["name"] == "Ana Silva" and rows[0]["phone"] == "+1 415-555-0100" and rows[0]["late"].endswith("late")
    assert rows[-1]["lead_id"] == di
    for key in ("section", "lead_id", "name", "company", "phone", "activity_id", "type", "text", "due_at"):
        assert key in rows[0]

    done = cli.ok("done", str(first), "--outcome", "reached", "--next", "send the quote", "--due", "tomorrow")
    following = int(done.stdout)
    rows = json.loads(cli.ok("-f", "json", "agenda").stdout)
    assert first not in [r["activity_id"] for r in rows]
    assert ("upcoming", following, "call") in [(r["section"], r["activity_id"], r["type"]) for r in rows]
    con = dbshim.connect(isolated_db)
    assert con.execute("SELECT outcome, done_at IS NOT NULL FROM activity WHERE id = ?", (first,)).fetchone() == (
        "reached", 1)
    assert con.execute("SELECT due_at FROM activity WHERE id = ?", (following,)).fetchone()[0] == iso(
        dt.datetime.combine((t0 + dt.timedelta(days=4)).date(), dt.time(9), UTC))
    again = cli("done", str(first))
    assert again.exit_code == 1 and "already done" in again.stderr


def test_today_formats_owner_and_region(cli, monkeypatch):
    monkeypatch.setenv("LEADCLI_REGION", "US")
    ana = add(cli, "Ana", "--phone", "+1 415 555 0100", "--owner", "maria")
    bo = add(cli, "Bo_*", "--owner", "li")
    cli.ok("next", str(ana), "call back", "--due", "-1d")
    cli.ok("next", str(bo), "write", "--due", "today 23:59")
    maria = json.loads(cli.ok("today", "--owner", "MARIA", "-f", "json").stdout)
    assert {r["lead_id"] for r in maria} == {ana} and maria[0]["phone"] == "(415) 555-0100"
    markdown = cli.ok("today", "--format", "markdown").stdout
    assert markdown.startswith("## Overdue (1)") and "**Ana**" in markdown and "**Bo\\_\\***" in markdown
    csv_out = cli.ok("today", "-f", "csv").stdout.splitlines()
    assert csv_out[0].startswith("section,lead_id,name,company,phone,activity_id,type,text,due_at")
    assert len(csv_out) == 3
    table = cli.ok("today", "-f", "table", env={"COLUMNS": "160"}).stdout
    assert "Overdue (1)" in table and "call back" in table
    assert cli.ok("today", "--days", "0", "--limit", "0", "-f", "jsonl").stdout.count("\n") == 2


def test_ics_feed_holds_every_open_planned_activity(cli, isolated_db):
    from icalendar import Calendar

    ana = add(cli, "Ana", "--company", "Acme")
    bo = add(cli, "Bo")
    ids = [int(cli.ok("-q", "next", str(ana), "call", "--due", when, "--type", "call").stdout)
           for when in ("-3d", "tomorrow 10:00", "+40d")]
    ids.append(int(cli.ok("-q", "next", str(bo), "meet", "--due", "2030-01-02 15:30", "--type", "meeting").stdout))
    cli.ok("done", str(ids[0]))
    cli.ok("log", str(bo), "note", "not planned")
    feed = cli.ok("today", "--format", "ics").stdout
    cal = Calendar.from_ical(feed)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    con = dbshim.connect(isolated_db)
    open_ids = {r[0] for r in con.execute("SELECT id FROM activity WHERE done_at IS NULL AND due_at IS NOT NULL")}
    assert {int(str(e["uid"]).split("-")[1].split("@")[0]) for e in events} == open_ids == set(ids[1:])
    meeting = next(e for e in events if "Meet" in str(e["summary"]))
    assert meeting.decoded("dtstart") == dt.datetime(2030, 1, 2, 15, 30, tzinfo=UTC)
    assert "Acme" in feed


def test_errors_are_messages_not_tracebacks(cli):
    ana = add(cli, "Ana")
    bad = cli("next", str(ana), "x", "--due", "someday")
    assert bad.exit_code == 2 and "error: due:" in bad.stderr and "next week" in bad.stderr
    assert cli("log", "99", "call").exit_code == 1
    assert cli("log", str(ana), "fax").exit_code == 2
    assert cli("log", str(ana), "call", "--duration", "ages").exit_code == 2
    future = cli("log", str(ana), "call", "--at", "+2d")
    assert future.exit_code == 2 and "leadcli next" in future.stderr
    assert cli("done", "42").exit_code == 1
    planned = cli.ok("-q", "next", str(ana), "x", "--due", "today").stdout.strip()
    lonely = cli("done", planned, "--next", "y")
    assert lonely.exit_code == 2 and "--due" in lonely.stderr
    assert "Traceback" not in bad.stderr + lonely.stderr


def test_log_json_and_backdated(cli, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    ana = add(cli, "Ana")
    out = json.loads(cli.ok("-f", "json", "log", str(ana), "meeting", "demo", "--at", "2026-01-05 16:30",
                            "--outcome", "held", "--duration", "1h").stdout)
    assert out["at"] == "2026-01-06T00:30:00Z" and out["duration_s"] == 3600 and out["outcome"] == "held"


def _report_app():
    from leadcli.cli import LeadcliGroup, root
    from leadcli.commands import day_reports

    # `report` registers these two as `report aging` and `report activity`; here they stand alone.
    app = typer.Typer(cls=LeadcliGroup)
    app.callback()(root)
    app.command("aging")(day_reports.aging)
    app.command("activity")(day_reports.activity)
    return app


def test_report_aging_and_activity_commands(cli, monkeypatch):
    runner = CliRunner()
    ana = add(cli, "Ana", "--created", "2020-01-01")
    cli.ok("log", str(ana), "call", "--outcome", "reached")
    result = runner.invoke(_report_app(), ["-f", "json", "aging", "--stale-after", "new=3000"])
    assert result.exit_code == 0, result.output
    rows = {r["stage"]: r for r in json.loads(result.stdout)}
    assert rows["new"]["open"] == 1 and rows["new"]["stale"] == 0 and rows["new"]["stale_after_days"] == 3000
    assert rows["new"]["90d+"] == 1
    again = runner.invoke(_report_app(), ["-f", "json", "aging"])
    assert json.loads(again.stdout)[0]["stale_after_days"] == 3000
    bad = runner.invoke(_report_app(), ["aging", "--stale-after", "won=3"])
    assert bad.exit_code == 2
    weekly = json.loads(runner.invoke(_report_app(), ["-f", "json", "activity"]).stdout)
    assert weekly[0]["activities"] == 1 and weekly[0]["type"] == "call"
    speed = json.loads(runner.invoke(_report_app(), ["-f", "json", "activity", "--speed-to-lead"]).stdout)
    assert [r["reached"] for r in speed] == ["within 1 hour", "within 1 day", "later", "never reached"]
    assert speed[2]["total"] == 1


def test_a_database_of_the_previous_schema_gains_activities(cli, tmp_path):
    from leadcli import store

    fixture = Path(__file__).parent / "fixtures" / "schema_v6.sql"
    path = tmp_path / "v6.db"
    con = dbshim.connect(path)
    con.executescript(fixture.read_text())
    leads_before = con.execute("SELECT * FROM lead ORDER BY id").fetchall()
    con.close()
    assert "m008_activities" in store.migrate(path)
    con = dbshim.connect(path)
    indexes = {r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activity'")}
    assert {"ix_activity_open_due", "ix_activity_open_lead", "ix_activity_lead_at"} <= indexes
    # Later migrations may append columns: the old ones keep their values.
    assert [row[:len(leads_before[0])] for row in con.execute("SELECT * FROM lead ORDER BY id")] == leads_before
    con.close()
    cli.ok("--db", str(path), "log", "2", "call", "--outcome", "reached")
    planned = cli.ok("--db", str(path), "-q", "next", "2", "call back", "--due", "-1d").stdout.strip()
    rows = json.loads(cli.ok("--db", str(path), "-f", "json", "today").stdout)
    assert rows[0]["activity_id"] == int(planned) and rows[0]["section"] == "overdue"


@pytest.mark.parametrize("args", [["today"], ["log", "1", "call", "--outcome", "reached"],
                                  ["next", "1", "call back", "--due", "fri"]])
def test_the_day_commands_stay_light(args, cli, isolated_db):
    import os
    import subprocess
    import sys

    add(cli, "Ana")
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "leadcli", *args], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert not modules & {"pandas", "sklearn", "scipy", "numpy", "icalendar"}
