"""`list` and `show` for the day: due windows, no next action, stale leads, the timeline, and what a
salesperson needs to call; checked against an independent reading of the database."""

from __future__ import annotations

import datetime as dt
import json
import time

import dbshim
import pytest

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LEADCLI_NOW", iso(T0))
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def add(cli, name: str, *args: str) -> int:
    return int(cli.ok("-q", "add", name, *args).stdout)


def ids(cli, *args: str) -> set[int]:
    return {r["id"] for r in json.loads(cli.ok("list", *args, "-n", "0", "--format", "json").stdout)}


def test_due_windows_and_no_next_action(cli, isolated_db):
    late, today, week, later, idle = (add(cli, n) for n in ("Late", "Today", "Week", "Later", "Idle"))
    cli.ok("next", str(late), "x", "--due", "-2d")
    cli.ok("next", str(today), "x", "--due", "today 18:00")
    cli.ok("next", str(week), "x", "--due", "+4d")
    cli.ok("next", str(later), "x", "--due", "+30d")
    done = cli.ok("-q", "next", str(idle), "x", "--due", "today").stdout.strip()
    cli.ok("done", done)
    assert ids(cli, "--due", "overdue") == {late}
    assert ids(cli, "--due", "today") == {today}
    assert ids(cli, "--due", "week") == {today, week}
    assert ids(cli, "--no-next-action") == {idle}
    cli.ok("disqualify", str(idle), "--reason", "spam")
    assert ids(cli, "--no-next-action") == set()
    rows = {r["id"]: r for r in json.loads(cli.ok("list", "--format", "json").stdout)}
    assert rows[today]["next_action_at"] == "2026-03-10T18:00:00Z" and rows[idle]["next_action_at"] is None
    assert cli("list", "--due", "someday").exit_code == 2
    # The same windows from the stored rows, read independently.
    con = dbshim.connect(isolated_db)
    open_due = dict(con.execute("SELECT lead_id, MIN(due_at) FROM activity WHERE done_at IS NULL GROUP BY lead_id"))
    assert {k for k, v in open_due.items() if v < "2026-03-10"} == {late}


def _stale_by_history(db) -> set[int]:
    """Open leads in their stage past the default threshold, from the status history alone."""
    limits = {"new": 2, "contacted": 7, "qualified": 14}
    con = dbshim.connect(db)
    out = set()
    for lead_id, status in con.execute("SELECT id, status FROM lead WHERE status IN ('new','contacted','qualified')"):
        entered = max(at for (at,) in con.execute(
            "SELECT at FROM status_change WHERE lead_id = ? AND to_status = ?", (lead_id, status)))
        age = T0 - dt.datetime.fromisoformat(entered.replace("Z", "+00:00"))
        if age > dt.timedelta(days=limits[status]):
            out.add(lead_id)
    return out


def test_stale_and_report_aging_agree_with_the_history(cli, isolated_db, monkeypatch):
    made = []
    for days_ago, stage in ((1, None), (3, None), (30, "contacted"), (10, "contacted"), (40, "qualified"),
                            (20, "qualified"), (50, "converted")):
        monkeypatch.setenv("LEADCLI_NOW", iso(T0 - dt.timedelta(days=days_ago)))
        # Created long ago: the age counts from the stage change, never from the creation date.
        lead = add(cli, f"L{days_ago}", "--created", "2025-01-01")
        if stage == "contacted":
            cli.ok("contact", str(lead))
        elif stage == "qualified":
            cli.ok("qualify", str(lead))
        elif stage == "converted":
            cli.ok("qualify", str(lead))
            monkeypatch.setenv("LEADCLI_NOW", iso(T0 - dt.timedelta(days=days_ago - 5)))
            cli.ok("convert", str(lead), "--no-deal", "--no-contact", "--no-company")
        made.append(lead)
    monkeypatch.setenv("LEADCLI_NOW", iso(T0))
    expected = _stale_by_history(isolated_db)
    assert ids(cli, "--stale") == expected and expected
    aging = {r["stage"]: r for r in json.loads(cli.ok("report", "aging", "--format", "json").stdout)}
    con = dbshim.connect(isolated_db)
    for stage in ("new", "contacted", "qualified"):
        in_stage = {i for (i,) in con.execute("SELECT id FROM lead WHERE status = ?", (stage,))}
        assert aging[stage]["open"] == len(in_stage)
        assert aging[stage]["stale"] == len(in_stage & expected)
    cli.ok("report", "aging", "--stale-after", "qualified=50")
    assert ids(cli, "--stale") == {i for i in expected if i not in {made[4], made[5]}}


def test_show_has_the_next_action_and_one_timeline(cli):
    ana = add(cli, "Ana", "--phone", "+1 415 555 0100", "--created", "2026-03-01")
    cli.ok("log", str(ana), "call", "intro", "--outcome", "reached")
    planned = int(cli.ok("-q", "next", str(ana), "send the quote", "--due", "tomorrow").stdout)
    card = json.loads(cli.ok("show", str(ana), "--format", "json").stdout)
    assert card["next_action_at"] == "2026-03-11T09:00:00Z"
    assert [a["id"] for a in card["activities"]] == [planned, 1]
    assert set(card["activities"][0]) >= {"id", "type", "text", "outcome", "at", "due_at", "done_at"}
    table = cli.ok("--format", "table", "show", str(ana), env={"COLUMNS": "120"}).stdout
    assert "next action" in table and "Timeline" in table
    timeline = table[table.index("Timeline"):]
    assert timeline.index("send the quote") < timeline.index("intro") < timeline.index("created")


def test_a_reason_on_a_lead_already_at_its_stage_is_logged(cli):
    ana = add(cli, "Ana")
    cli.ok("contact", str(ana))
    again = cli.ok("contact", str(ana), "--reason", "spoke again, wants pricing")
    assert "logged as activity" in again.stderr
    card = json.loads(cli.ok("show", str(ana), "--format", "json").stdout)
    assert [(a["type"], a["text"]) for a in card["activities"]] == [("note", "spoke again, wants pricing")]
    cli.ok("qualify", str(ana))
    cli.ok("qualify", str(ana))  # no reason: nothing to keep
    assert len(json.loads(cli.ok("show", str(ana), "--format", "json").stdout)["activities"]) == 1


def test_list_table_shows_what_a_salesperson_needs(cli, isolated_db, monkeypatch):
    monkeypatch.setenv("LEADCLI_REGION", "US")
    cli.ok("list")  # creates the schema
    con = dbshim.connect(isolated_db)
    if dbshim.is_postgres(isolated_db):  # the next lead is number 21897
        con.execute("SELECT setval(pg_get_serial_sequence('lead', 'id'), 21896)")
    else:
        con.execute("INSERT INTO lead (id, name, created_at, updated_at) VALUES (21896, 'x', '2026', '2026')")
    con.commit()
    ana = add(cli, "Ana Silva", "--phone", "+1 415 555 0100", "--company", "Acme", "--email", "ana@acme.io")
    con.execute("DELETE FROM lead WHERE id = 21896")
    con.commit()
    assert ana == 21897
    cli.ok("next", str(ana), "call back", "--due", "tomorrow 10:30")
    wide = cli.ok("--format", "table", "list", env={"COLUMNS": "120"}).stdout
    for text in ("21897", "Ana Silva", "Acme", "(415) 555-0100", "2026-03-11 10:30", "new"):
        assert text in wide, text
    assert "21,897" not in wide and "score" not in wide  # no scores yet: no score column
    narrow = cli.ok("--format", "table", "list", env={"COLUMNS": "60"}).stdout
    assert "Ana Silva" in narrow and "(415) 555-0100" in narrow and "…" not in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 60


def test_an_empty_database_says_how_to_start(cli):
    empty = cli.ok("--format", "table", "list")
    assert "leadcli add" in empty.stderr and "leadcli import" in empty.stderr
    add(cli, "Ana")
    assert "no leads match" in cli.ok("--format", "table", "list", "--status", "converted").stderr


def test_custom_field_owner_me_and_saved_views(cli, monkeypatch):
    monkeypatch.setenv("LEADCLI_USER", "maria")
    ana = add(cli, "Ana", "--field", "Industry=Retail", "--owner", "Maria")
    bo = add(cli, "Bo", "--field", "Industry=Energy", "--owner", "li")
    assert ids(cli, "--field", "Industry=retail") == {ana}
    assert cli("list", "--field", "nokey").exit_code == 2
    assert ids(cli, "--owner", "me") == {ana} == ids(cli, "--mine")
    cli.ok("next", str(bo), "x", "--due", "today")
    cli.ok("view", "save", "lis", "--owner", "li")
    assert ids(cli, "@lis") == {bo}
    assert ids(cli, "@lis", "--owner", "maria") == {ana}
    assert ids(cli, "@lis", "--due", "overdue") == set()
    assert cli("list", "@nope").exit_code == 1
    assert cli("list", "lis").exit_code == 2


def test_the_calendar_feed_escapes_and_folds_what_icalendar_reads_back():
    from icalendar import Calendar

    from leadcli import calendar_feed

    summary = "Call Zoë Ñúñez (Ärzte, GmbH; 東京支社): " + "pricing, again; " * 12 + "\\ done\nnext line"
    events = [{"uid": "activity-1@leadcli", "start": "2026-03-11T09:00:00Z", "minutes": 30, "summary": summary,
               "description": "lead #1 · +14155550100"},
              {"uid": "activity-2@leadcli", "start": dt.datetime(2026, 3, 12, 8, 15, tzinfo=UTC), "summary": "x"}]
    text = "".join(calendar_feed.lines(events, batch=1))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = [c for c in Calendar.from_ical(text).walk() if c.name == "VEVENT"]
    assert str(parsed[0]["summary"]) == summary and str(parsed[0]["description"]) == "lead #1 · +14155550100"
    assert parsed[0].decoded("dtstart") == dt.datetime(2026, 3, 11, 9, tzinfo=UTC)
    assert parsed[0].decoded("duration") == dt.timedelta(minutes=30)
    assert parsed[1].decoded("dtstart") == dt.datetime(2026, 3, 12, 8, 15, tzinfo=UTC)


def test_today_windows_the_feed_and_caps_the_idle_count(cli, monkeypatch):
    from icalendar import Calendar

    from leadcli.commands import today

    monkeypatch.setattr(today, "COUNT_CAP", 2)
    ana = add(cli, "Ana")
    for name in ("Bo", "Cy", "Di"):
        add(cli, name)
    for due in ("-3d", "tomorrow", "+20d"):
        cli.ok("next", str(ana), "call", "--due", due)
    every = Calendar.from_ical(cli.ok("today", "--format", "ics").stdout)
    assert len([c for c in every.walk() if c.name == "VEVENT"]) == 3
    week = Calendar.from_ical(cli.ok("today", "--format", "ics", "--days", "7").stdout)
    assert len([c for c in week.walk() if c.name == "VEVENT"]) == 2
    markdown = cli.ok("today", "--format", "markdown").stdout
    assert "## No next action, hottest first (2+)" in markdown
    rows = json.loads(cli.ok("today", "--format", "json").stdout)
    assert len([r for r in rows if r["section"] == "no-next-action"]) == 3


def test_search_folds_case_and_accents_in_every_script_and_reads_fields_and_notes(cli):
    garcia = add(cli, "José García", "--phone", "+1 415 555 0100")
    muller = add(cli, "MÜLLER Straße", "--note", "met at the ΑΘΗΝΑ expo")
    olga = add(cli, "Ольга", "--field", "City=Москва")
    add(cli, "Somebody Else", "--company", "Garcias Tacos")  # a longer word holds the text too
    for text in ("GARCÍA", "garcia", "García"):
        assert garcia in ids(cli, "--search", text)
    assert ids(cli, "--search", "garcía") == ids(cli, "--search", "GARCIA")
    assert ids(cli, "--search", "muller") == {muller} == ids(cli, "--search", "STRASSE")
    assert ids(cli, "--search", "αθηνα") == {muller}
    assert ids(cli, "--search", "МОСКВА") == {olga}
    assert ids(cli, "--search", "415 555") == {garcia}
    assert ids(cli, "--search", "jose", "--status", "converted") == set()


def test_conversion_by_next_and_last_activity_dates(cli, isolated_db):
    leads = [add(cli, n) for n in ("Ana", "Bo", "Cy", "Di")]
    cli.ok("next", str(leads[0]), "x", "--due", "2026-03-16 10:00")  # a Monday
    cli.ok("next", str(leads[0]), "later", "--due", "2026-04-20")     # not the next one
    cli.ok("next", str(leads[1]), "y", "--due", "2026-03-20")
    cli.ok("log", str(leads[2]), "call", "--at", "2026-02-03 10:00")
    cli.ok("log", str(leads[2]), "call", "--at", "2026-03-02 10:00")
    cli.ok("qualify", str(leads[2]))
    cli.ok("convert", str(leads[2]), "--no-deal", "--no-contact", "--no-company")
    week = {r["group"]: (r["total"], r["converted"])
            for r in json.loads(cli.ok("report", "conversion", "--by", "next-activity:week", "-f", "json").stdout)}
    assert week == {"2026-03-16": (2, 0), None: (2, 1)}
    month = {r["group"]: (r["total"], r["converted"])
             for r in json.loads(cli.ok("report", "conversion", "--by", "last-activity:month", "-f", "json").stdout)}
    assert month == {"2026-03": (1, 1), None: (3, 0)}
    assert cli("report", "conversion", "--by", "next-activity:fortnight").exit_code == 2


def test_today_of_a_saved_view(cli):
    from icalendar import Calendar

    ana = add(cli, "Ana", "--source", "web")
    bo = add(cli, "Bo", "--source", "fair")
    add(cli, "Cy", "--source", "web")
    cli.ok("next", str(ana), "call", "--due", "-1d")
    cli.ok("next", str(bo), "call", "--due", "today")
    cli.ok("view", "save", "web", "--source", "web")
    rows = json.loads(cli.ok("today", "@web", "--format", "json").stdout)
    assert {r["lead_id"] for r in rows if r["activity_id"]} == {ana}
    assert [r["name"] for r in rows if r["section"] == "no-next-action"] == ["Cy"]
    feed = Calendar.from_ical(cli.ok("today", "@web", "--format", "ics").stdout)
    assert len([c for c in feed.walk() if c.name == "VEVENT"]) == 1
    assert "(1)" in cli.ok("today", "@web", "--format", "markdown").stdout
    assert cli("today", "web").exit_code == 2
