"""Activities as a library: WHEN in local time zones, log / plan / done, the agenda, stale leads and aging."""

from __future__ import annotations

import datetime as dt
import time

import dbshim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadcli import activities, agenda, leads, store, when
from leadcli.errors import InvalidTransition, InvalidValue, NotFound, UsageError

UTC = dt.timezone.utc


@pytest.fixture
def tz(monkeypatch):
    """Set the process time zone for one test (TZ + tzset), restored afterwards."""
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# Friday 6 March 2026, 20:00 UTC: noon in Los Angeles (PST), Saturday 05:00 in Tokyo.
BASE = at("2026-03-06T20:00:00Z")


@pytest.mark.parametrize("text, expected", [
    ("now", "2026-03-06T20:00:00Z"),
    ("today", "2026-03-06T17:00:00Z"),           # 09:00 PST, already past: accepted
    ("tomorrow", "2026-03-07T17:00:00Z"),
    ("next week", "2026-03-09T16:00:00Z"),       # Monday 09:00, after the switch to PDT on 8 March
    ("fri", "2026-03-13T16:00:00Z"),             # on a Friday, `fri` is the next one
    ("Monday", "2026-03-09T16:00:00Z"),
    ("+3d", "2026-03-09T16:00:00Z"),
    ("+2w", "2026-03-20T16:00:00Z"),
    ("+4h", "2026-03-07T00:00:00Z"),
    ("-2d", "2026-03-04T17:00:00Z"),
    ("2026-12-03 14:00", "2026-12-03T22:00:00Z"),
    ("2026-12-03", "2026-12-03T17:00:00Z"),
    ("fri 14:30", "2026-03-13T21:30:00Z"),
    ("tomorrow 8:05", "2026-03-07T16:05:00Z"),
    ("2026-12-03T14:00:00Z", "2026-12-03T14:00:00Z"),
])
def test_when_in_los_angeles(tz, text, expected):
    tz("America/Los_Angeles")
    assert when.to_iso(when.parse(text, base=BASE)) == expected


@pytest.mark.parametrize("text, expected", [
    ("today", "2026-03-07T00:00:00Z"),           # Saturday 09:00 JST
    ("tomorrow", "2026-03-08T00:00:00Z"),
    ("fri", "2026-03-13T00:00:00Z"),
    ("next week", "2026-03-09T00:00:00Z"),
    ("2026-12-03 14:00", "2026-12-03T05:00:00Z"),
    ("+4h", "2026-03-07T00:00:00Z"),
])
def test_when_in_tokyo(tz, text, expected):
    tz("Asia/Tokyo")
    assert when.to_iso(when.parse(text, base=BASE)) == expected


@pytest.mark.parametrize("text", ["", "blah", "25:00", "2026-02-30", "+3x", "next month", "fri 9"])
def test_a_bad_when_is_a_usage_error_naming_the_forms(text):
    with pytest.raises(InvalidValue) as err:
        when.parse(text, "due", base=BASE)
    assert err.value.exit_code == 2 and "tomorrow" in err.value.hint and "YYYY-MM-DD" in err.value.hint


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31)),
       hour=st.integers(0, 23), minute=st.integers(0, 59),
       zone=st.sampled_from(["Asia/Tokyo", "UTC", "Europe/Berlin", "America/Los_Angeles"]))
def test_a_typed_local_moment_is_shown_back_as_typed(day, hour, minute, zone):
    import os
    from zoneinfo import ZoneInfo

    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        typed = f"{day.isoformat()} {hour:02d}:{minute:02d}"
        wall = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
        exists = wall.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == wall.replace(tzinfo=None)
        stored = when.to_iso(when.parse(typed))
        assert stored.endswith("Z")
        if exists:  # a time skipped by a DST change moves past the gap
            assert when.local_text(stored) == typed
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_durations_and_outcomes():
    assert activities.duration("15") == 900
    assert activities.duration("1h30m") == 5400
    assert activities.duration("90s") == 90
    assert activities.duration("0:45") == 2700
    assert activities.duration("12 min") == 720
    with pytest.raises(InvalidValue):
        activities.duration("soon")
    assert activities.outcome("No-Answer") == "no answer"
    assert activities.outcome("  Left  a_message ") == "left a message"


# ---------------------------------------------------------------- on a database


def _lead(s, name, created=None, **kw):
    return leads.add_lead(s, leads.LeadInput(name=name, created=created, **kw)).id


def test_log_plan_done_and_the_next_action(monkeypatch):
    monkeypatch.setenv("LEADCLI_USER", "tom")
    with store.session(write=True) as s:
        ana = _lead(s, "Ana", owner="maria")
        bo = _lead(s, "Bo")
        logged = activities.log(s, ana, "call", "intro", outcome_text="Reached", duration_s=600)
        assert (logged.outcome, logged.owner, logged.done_at) == ("reached", "maria", logged.at)
        first = activities.plan(s, ana, "call back", when.now() + dt.timedelta(days=2), kind="call")
        second = activities.plan(s, ana, "send quote", when.now() + dt.timedelta(days=1))
        assert activities.plan(s, bo, "intro", when.now()).owner == "tom"
        assert activities.next_actions(s, [ana])[ana]["id"] == second.id
        result = activities.complete(s, second.id, outcome_text="done", next_text="follow up",
                                     next_due=when.now() + dt.timedelta(days=5))
        assert result.done.done_at and result.next is not None and result.next.type == "task"
        assert activities.next_actions(s, [ana])[ana]["id"] == first.id
        with pytest.raises(InvalidTransition):
            activities.complete(s, second.id)
        with pytest.raises(UsageError):
            activities.complete(s, first.id, next_text="x")
        with pytest.raises(NotFound):
            activities.log(s, 999, "call")
        with pytest.raises(InvalidValue):
            activities.log(s, ana, "call", at=when.now() + dt.timedelta(days=1))
        with pytest.raises(InvalidValue):
            activities.plan(s, ana, "x", when.now(), kind="note")


def test_a_failed_done_leaves_nothing_half_done():
    with store.session(write=True) as s:
        ana = _lead(s, "Ana")
        planned = activities.plan(s, ana, "call", when.now()).id
    with pytest.raises(InvalidValue), store.session(write=True) as s:
        activities.complete(s, planned, next_text="x", next_due=when.now(), next_kind="note")
    with store.session() as s:
        assert activities.get(s, planned).done_at is None
        assert len(activities.for_lead(s, ana)) == 1


def test_timeline_merges_activities_and_history_newest_first():
    with store.session(write=True) as s:
        ana = _lead(s, "Ana", created="2026-01-01T10:00:00Z")
        activities.log(s, ana, "call", "first", at=at("2026-01-02T10:00:00Z"))
        leads.set_status(s, leads.get_lead(s, ana), "contacted", at="2026-01-03T10:00:00Z")
        activities.log(s, ana, "email", "deck", at=at("2026-01-04T10:00:00Z"))
        items = activities.timeline(s, ana)
    assert [i["text"] for i in items] == ["deck", "new -> contacted", "first", "new"]
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)


def test_the_agenda_uses_local_days(tz):
    """One due moment, 2026-03-07T02:00Z: due today in Los Angeles on Friday evening, and in Tokyo on Saturday."""
    with store.session(write=True) as s:
        ana = _lead(s, "Ana", phone="+14155550100")
        activities.plan(s, ana, "call", at("2026-03-07T02:00:00Z"))
    tz("America/Los_Angeles")
    with store.session() as s:
        friday_evening = agenda.agenda(s, current=at("2026-03-07T01:00:00Z"))  # 17:00 PST on the 6th
        thursday = agenda.agenda(s, current=at("2026-03-05T20:00:00Z"))
    assert friday_evening[0]["section"] == "today" and thursday[0]["section"] == "upcoming"
    tz("Asia/Tokyo")
    with store.session() as s:
        saturday_morning = agenda.agenda(s, current=at("2026-03-06T22:00:00Z"))  # 07:00 JST on the 7th
        sunday = agenda.agenda(s, current=at("2026-03-07T16:00:00Z"))  # 01:00 JST on the 8th
    assert saturday_morning[0]["section"] == "today" and sunday[0]["section"] == "overdue"
    assert sunday[0]["late"] == "14 h late"


def test_due_filters_and_no_next_action(tz):
    from sqlalchemy import select

    tz("UTC")
    current = at("2026-03-06T12:00:00Z")
    with store.session(write=True) as s:
        ids = [_lead(s, n) for n in ("late", "today", "week", "far", "none", "closed")]
        for lead_id, due in zip(ids, ("2026-03-05T09:00:00Z", "2026-03-06T18:00:00Z", "2026-03-11T09:00:00Z",
                                      "2026-04-01T09:00:00Z"), strict=False):
            activities.plan(s, lead_id, "x", at(due))
        leads.set_status(s, leads.get_lead(s, ids[5]), "disqualified", "no budget")
        t = activities.sql_table(leads.Lead)

        def matching(condition):
            return {r[0] for r in s.connection().execute(select(t.c.id).where(condition))}

        assert matching(activities.due_condition("overdue", current=current)) == {ids[0]}
        assert matching(activities.due_condition("today", current=current)) == {ids[1]}
        assert matching(activities.due_condition("week", current=current)) == {ids[1], ids[2]}
        assert matching(activities.no_next_action_condition()) == {ids[4]}
        with pytest.raises(InvalidValue):
            activities.due_condition("soon")


def _independent_stage_entry(con, lead_id, status):
    rows = con.execute("SELECT at FROM status_change WHERE lead_id = ? AND to_status = ? ORDER BY at DESC",
                       (lead_id, status)).fetchall()
    return rows[0][0]


def test_stale_and_aging_agree_with_the_history(isolated_db):

    current = at("2026-06-30T12:00:00Z")
    with store.session(write=True) as s:
        plan = [("a", "2026-06-29", []), ("b", "2026-06-25", []), ("c", "2026-01-01", [("contacted", "2026-06-20")]),
                ("d", "2026-05-01", [("contacted", "2026-06-28")]), ("e", "2026-03-01", [("qualified", "2026-06-01")]),
                ("f", "2026-02-01", [("qualified", "2026-02-10"), ("converted", "2026-03-01")]),
                ("g", "2026-02-01", [("contacted", "2026-02-05"), ("qualified", "2026-02-15"),
                                     ("converted", "2026-04-15")])]
        for name, created, moves in plan:
            lead = leads.get_lead(s, _lead(s, name, created=f"{created}T09:00:00Z"))
            for status, day in moves:
                leads.set_status(s, lead, status, at=f"{day}T09:00:00Z")
        activities.set_stale_days(s, {"qualified": 20})
    with store.session() as s:
        from sqlalchemy import select

        t = activities.sql_table(leads.Lead)
        stale = {r[0] for r in s.connection().execute(
            select(t.c.name).where(activities.stale_condition(s, current=current)))}
        rows = {r["stage"]: r for r in agenda.aging(s, current=current)}
    con = dbshim.connect(isolated_db)
    thresholds = {"new": 2, "contacted": 7, "qualified": 20}
    expected_stale, by_stage = set(), {}
    for lead_id, name, status in con.execute("SELECT id, name, status FROM lead"):
        if status not in thresholds:
            continue
        days = (current - at(_independent_stage_entry(con, lead_id, status))).total_seconds() / 86400
        by_stage.setdefault(status, []).append(days)
        if days > thresholds[status]:
            expected_stale.add(name)
    assert stale == expected_stale == {"b", "c", "e"}
    for stage, days in by_stage.items():
        assert rows[stage]["open"] == len(days)
        assert rows[stage]["stale"] == sum(d > thresholds[stage] for d in days)
    assert rows["new"]["0-2d"] == 1 and rows["new"]["2-7d"] == 1 and rows["qualified"]["14-30d"] == 1
    # Converted leads: f spent 9 days new and 19 qualified; g 4 new, 10 contacted, 59 qualified.
    assert rows["new"]["converted_through"] == 2 and rows["new"]["median_days"] == 6.5
    assert rows["qualified"]["median_days"] == 39.0 and rows["qualified"]["p90_days"] == 55.0
    assert rows["contacted"]["median_days"] == 10.0


def test_activity_counts_and_speed_to_lead():
    with store.session(write=True) as s:
        fast = _lead(s, "fast", created="2026-03-02T09:00:00Z", owner="maria")
        slow = _lead(s, "slow", created="2026-03-02T09:00:00Z", owner="li")
        never = _lead(s, "never", created="2026-03-02T09:00:00Z")
        activities.log(s, fast, "call", outcome_text="reached", at=at("2026-03-02T09:30:00Z"))
        activities.log(s, slow, "call", outcome_text="no answer", at=at("2026-03-02T10:00:00Z"))
        activities.log(s, slow, "call", outcome_text="reached", at=at("2026-03-05T10:00:00Z"))
        activities.log(s, never, "email", outcome_text="sent", at=at("2026-03-09T10:00:00Z"), owner="li")
        leads.set_status(s, leads.get_lead(s, fast), "converted")
        counts = agenda.activity_counts(s)
        speed = {r["reached"]: r for r in agenda.speed_to_lead(s)}
    assert {(r["week"], r["owner"], r["type"], r["outcome"], r["activities"]) for r in counts} == {
        ("2026-03-02", "maria", "call", "reached", 1), ("2026-03-02", "li", "call", "no answer", 1),
        ("2026-03-02", "li", "call", "reached", 1), ("2026-03-09", "li", "email", "sent", 1)}
    assert speed["within 1 hour"] == {"reached": "within 1 hour", "total": 1, "converted": 1, "rate": 100.0}
    assert speed["later"]["total"] == 1 and speed["never reached"]["total"] == 1
    assert speed["within 1 day"]["rate"] is None


def test_dial_format(monkeypatch):
    assert agenda.dial_format("+14155550100") == "+1 415-555-0100"
    monkeypatch.setenv("LEADCLI_REGION", "US")
    assert agenda.dial_format("+14155550100") == "(415) 555-0100"
    assert agenda.dial_format("+493012345678").startswith("+49 30")
    assert agenda.dial_format("not a phone") == "not a phone"


def test_show_extras_and_list_columns():
    from sqlalchemy import select

    with store.session(write=True) as s:
        ana = _lead(s, "Ana")
        bo = _lead(s, "Bo")
        activities.log(s, ana, "call", "intro", outcome_text="reached", at=at("2026-01-02T10:00:00Z"))
        later = activities.plan(s, ana, "second", at("2030-01-05T09:00:00Z"))
        sooner = activities.plan(s, ana, "first", at("2030-01-03T09:00:00Z"))
        fields, sections, data = activities.show_extras(s, ana)
        t = activities.sql_table(leads.Lead)
        cols = s.connection().execute(select(t.c.id, activities.next_action_at_column(t),
                                             activities.last_activity_at_column(t)).order_by(t.c.id)).all()
    assert data["next_action_at"] == "2030-01-03T09:00:00Z" and f"#{sooner.id}" in fields[0][1]
    assert [a["text"] for a in data["activities"]] == ["second", "first", "intro"]
    assert set(data["activities"][0]) >= {"id", "type", "text", "outcome", "at", "due_at", "done_at"}
    assert sections[0][0] == "Timeline" and sections[0][1][0]["id"] == later.id
    assert cols == [(ana, "2030-01-03T09:00:00Z", "2026-01-02T10:00:00Z"), (bo, None, None)]


def test_engagement_features_see_only_activities_before_the_cutoff():
    from leadcli import engagement

    with store.session(write=True) as s:
        ana = _lead(s, "Ana", created="2026-01-01T10:00:00Z")
        bo = _lead(s, "Bo", created="2026-01-01T10:00:00Z")
        activities.log(s, ana, "call", outcome_text="no answer", at=at("2026-01-01T12:00:00Z"))
        activities.log(s, ana, "call", outcome_text="reached", at=at("2026-01-03T10:00:00Z"))
        activities.log(s, ana, "meeting", outcome_text="held", at=at("2026-02-01T10:00:00Z"))  # after the outcome
        activities.plan(s, ana, "never done", at("2026-01-02T10:00:00Z"))
        rows = engagement.features(s, {ana: "2026-01-10T10:00:00Z", bo: "2026-01-10T10:00:00Z"})
    assert rows[ana]["n_activities"] == 2 and rows[ana]["n_call"] == 2 and rows[ana]["n_meeting"] == 0
    assert rows[ana]["n_no_answer"] == 1 and rows[ana]["reached"] == 1
    assert rows[ana]["days_since_last"] == 7.0 and rows[ana]["hours_to_first_contact"] == 2.0
    assert rows[bo]["n_activities"] == 0 and rows[bo]["days_since_last"] is None
    assert set(rows[bo]) == set(engagement.FEATURES)


def test_a_reason_for_a_lead_already_at_its_stage_is_kept_as_a_note():
    with store.session(write=True) as s:
        lead = leads.get_lead(s, _lead(s, "Ana"))
        note = activities.log_reason(s, lead, "  left a  voicemail ")
        assert activities.log_reason(s, lead, "   ") is None
        items = activities.for_lead(s, lead.id)
    assert note is not None and [(i["type"], i["text"]) for i in items] == [("note", "left a voicemail")]
