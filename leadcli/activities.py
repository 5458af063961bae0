"""Activities on leads: what was done (a call, an e-mail ...) and what is planned next.

A logged activity has `at` (when it happened) and `done_at`; a planned one has `due_at` and stays
open until `done`. A lead's next action is its earliest open planned activity. Also here: how long
a lead has been in its stage (from the status history) and the stale thresholds per stage, with the
SQL conditions `list --due / --no-next-action / --stale` add to its query. Takes a session, never prints.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadcli import when
from leadcli.errors import InvalidTransition, InvalidValue, NotFound, UsageError
from leadcli.models import OPEN_STATUSES, Activity, Lead, StatusChange

if TYPE_CHECKING:
    from sqlmodel import Session

TYPES = ("call", "email", "meeting", "note", "task")
PLANNED_TYPES = ("call", "email", "meeting", "task")
# Outcomes leadcli knows (any other text is kept as the user's own outcome, normalised).
OUTCOMES = ("reached", "no answer", "voicemail", "wrong number", "busy", "sent", "replied", "bounced",
            "held", "no show", "cancelled", "done")
# An outcome meaning the person was reached: what speed to lead measures.
REACHED = ("reached", "replied", "held")
DEFAULT_STALE_DAYS = {"new": 2, "contacted": 7, "qualified": 14}
STALE_SETTING = "activity.stale_days"
DUE_WINDOWS = ("today", "overdue", "week")
TIMELINE_TITLE = "Timeline"
ACTIVITY_KEYS = ("id", "lead_id", "type", "text", "outcome", "at", "due_at", "done_at", "duration_s", "owner")


def sql_table(model: Any) -> Any:
    """A model's Core table (what set-based queries select from)."""
    return model.__table__


def acting_user() -> str:
    """Who runs leadcli: `LEADCLI_USER`, else the login name."""
    user = os.environ.get("LEADCLI_USER", "").strip()
    if user:
        return user
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "me"


def owner_name(owner: str | None) -> str | None:
    """An `--owner` value: `me` means the acting user."""
    if owner is None or not owner.strip():
        return None
    return acting_user() if owner.strip().lower() == "me" else " ".join(owner.split())


# ---------------------------------------------------------------- values


def activity_type(value: str, *, planned: bool = False) -> str:
    kind = (value or "").strip().lower()
    allowed = PLANNED_TYPES if planned else TYPES
    if kind not in allowed:
        raise InvalidValue("type", f"{value!r} is not an activity type", hint=f"use one of: {', '.join(allowed)}",
                           exit_code=2)
    return kind


def outcome(value: str | None) -> str | None:
    """An outcome as stored: lower case, single spaces (`No-Answer` -> `no answer`)."""
    if value is None:
        return None
    text = " ".join(re.sub(r"[_\-]+", " ", value).lower().split())
    if len(text) > 80:
        raise InvalidValue("outcome", "an outcome is a few words", hint="put the details in the text", exit_code=2)
    return text or None


_DURATION = re.compile(r"^(?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?\s*"
                       r"(?:(\d+)\s*s(?:ec(?:onds?)?)?)?$")


def duration(value: str | None) -> int | None:
    """`--duration`: `15` (minutes), `15m`, `1h30m`, `90s`, `0:45` -> seconds."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower().replace(" ", "")
    if text.isdigit():
        return int(text) * 60
    if clock := re.match(r"^(\d+):(\d{2})$", text):
        return int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise InvalidValue("duration", f"{value!r} is not a duration",
                           hint="use minutes (15), 15m, 1h30m, 90s or 0:45", exit_code=2)
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _text(value: str | None) -> str | None:
    from leadcli.validate import clean_text

    value = clean_text(value)
    return " ".join(value.split()) or None if value is not None else None


# ---------------------------------------------------------------- writing


def _lead(s: Session, lead_id: int) -> Lead:
    lead = s.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead with id {lead_id}", hint="find ids with `leadcli list --search TEXT`")
    return lead


def lead_id_of(lead: Lead) -> int:
    assert lead.id is not None, "a stored lead has an id"
    return lead.id


def get(s: Session, activity_id: int) -> Activity:
    activity = s.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"no activity with id {activity_id}",
                       hint="see a lead's activities with `leadcli show LEAD_ID`, the open ones with `leadcli today`")
    return activity


def log(s: Session, lead_id: int, kind: str, text: str | None = None, *, outcome_text: str | None = None,
        at: _dt.datetime | None = None, duration_s: int | None = None, owner: str | None = None) -> Activity:
    """Record something done with a lead (default: now)."""
    lead = _lead(s, lead_id)
    current = when.now()
    moment = at or current
    if moment - current > _dt.timedelta(minutes=5):
        raise InvalidValue("at", f"{when.local_text(when.to_iso(moment))} is in the future",
                           hint="`log` records what was done; plan what is to come with "
                                '`leadcli next ID "TEXT" --due WHEN`',
                           exit_code=2)
    stamp = when.to_iso(moment)
    activity = Activity(lead_id=lead.id, type=activity_type(kind), text=_text(text), outcome=outcome(outcome_text),
                        at=stamp, done_at=stamp, duration_s=duration_s,
                        owner=owner_name(owner) or lead.owner or acting_user(), created_at=when.to_iso(current),
                        created_by=acting_user())
    s.add(activity)
    s.flush()
    return activity


def plan(s: Session, lead_id: int, text: str, due: _dt.datetime, *, kind: str = "task",
         owner: str | None = None) -> Activity:
    """Plan a next action for a lead; a due moment in the past is accepted (it is overdue at once)."""
    lead = _lead(s, lead_id)
    if not _text(text):
        raise InvalidValue("text", "a next action needs a text", hint='e.g. leadcli next 42 "call back about pricing" '
                                                                       "--due tomorrow", exit_code=2)
    activity = Activity(lead_id=lead.id, type=activity_type(kind, planned=True), text=_text(text),
                        due_at=when.to_iso(due), owner=owner_name(owner) or lead.owner or acting_user(),
                        created_at=when.now_iso(), created_by=acting_user())
    s.add(activity)
    s.flush()
    return activity


@dataclass
class Completed:
    done: Activity
    next: Activity | None = None


def complete(s: Session, activity_id: int, *, outcome_text: str | None = None, next_text: str | None = None,
             next_due: _dt.datetime | None = None, next_kind: str | None = None) -> Completed:
    """Mark a planned activity done and, in the same transaction, plan the following one."""
    if (next_text is None) != (next_due is None):
        raise UsageError("--next and --due go together", hint='e.g. --next "send the quote" --due fri')
    activity = get(s, activity_id)
    if activity.done_at is not None:
        raise InvalidTransition(f"activity #{activity.id} is already done ({when.local_text(activity.done_at)})",
                                hint="log what happened since with `leadcli log LEAD_ID TYPE TEXT`")
    stamp = when.now_iso()
    activity.done_at = stamp
    activity.at = stamp
    activity.outcome = outcome(outcome_text) or activity.outcome
    s.add(activity)
    s.flush()
    following = None
    if next_text is not None and next_due is not None:
        kind = next_kind or (activity.type if activity.type in PLANNED_TYPES else "task")
        following = plan(s, activity.lead_id, next_text, next_due, kind=kind, owner=activity.owner)
    return Completed(activity, following)


def log_reason(s: Session, lead: Lead, reason: str) -> Activity | None:
    """A stage command's --reason on a lead already at that stage: kept as a note, not dropped."""
    if not _text(reason):
        return None
    return log(s, lead_id_of(lead), "note", reason)


# ---------------------------------------------------------------- reading


def record(activity: Activity | Any) -> dict[str, Any]:
    """The JSON shape of an activity."""
    return {key: getattr(activity, key, None) for key in ACTIVITY_KEYS}


def for_lead(s: Session, lead_id: int) -> list[dict[str, Any]]:
    """A lead's activities, newest first (a planned one at its due moment)."""
    from sqlalchemy import func, select

    a = sql_table(Activity)
    moment = func.coalesce(a.c.at, a.c.due_at)
    rows = s.connection().execute(select(a).where(a.c.lead_id == lead_id).order_by(moment.desc(), a.c.id.desc()))
    return [{key: row._mapping[key] for key in ACTIVITY_KEYS} for row in rows]


def timeline(s: Session, lead_id: int) -> list[dict[str, Any]]:
    """Activities and status changes in one list, newest first."""
    items = [{"at": a["at"] or a["due_at"], "kind": "planned" if a["done_at"] is None else "activity",
              "type": a["type"], "text": a["text"], "outcome": a["outcome"], "activity_id": a["id"],
              "due_at": a["due_at"]} for a in for_lead(s, lead_id)]
    from sqlalchemy import select

    h = sql_table(StatusChange)
    for change in s.connection().execute(select(h).where(h.c.lead_id == lead_id)):
        text = f"{change.from_status} -> {change.to_status}" if change.from_status else change.to_status
        items.append({"at": change.at, "kind": "status", "type": "status", "text": text, "outcome": change.reason,
                      "activity_id": None, "due_at": None})
    # Stored moments share one format, so text order is time order; on a tie the status change,
    # which usually prompted the activity, comes after it (older).
    items.sort(key=lambda i: (i["at"] or "", i["kind"] != "status"), reverse=True)
    return items


def next_actions(s: Session, lead_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each lead's next action (earliest open planned activity), for the leads that have one."""
    from sqlalchemy import func, select

    out: dict[int, dict[str, Any]] = {}
    table = sql_table(Activity)
    for start in range(0, len(lead_ids), 900):
        chunk = lead_ids[start:start + 900]
        first = (select(table.c.lead_id, func.min(table.c.due_at).label("due_at"))
                 .where(table.c.lead_id.in_(chunk), table.c.done_at.is_(None), table.c.due_at.is_not(None))
                 .group_by(table.c.lead_id).subquery())
        stmt = (select(table).join(first, (table.c.lead_id == first.c.lead_id) & (table.c.due_at == first.c.due_at))
                .where(table.c.done_at.is_(None)).order_by(table.c.id))
        for row in s.connection().execute(stmt).mappings():
            out.setdefault(row["lead_id"], dict(row))
    return out


def next_action_at_column(lead_table: Any = None) -> Any:
    """A column for the lead query: the due moment of the lead's next action (NULL if none)."""
    from sqlalchemy import func, select

    t = lead_table if lead_table is not None else sql_table(Lead)
    a = sql_table(Activity)
    return (select(func.min(a.c.due_at)).where(a.c.lead_id == t.c.id, a.c.done_at.is_(None), a.c.due_at.is_not(None))
            .scalar_subquery().label("next_action_at"))


# ---------------------------------------------------------------- filters for `list`


def due_condition(which: str, lead_table: Any = None, *, current: _dt.datetime | None = None) -> Any:
    """`list --due today|overdue|week`: the lead has an open planned activity due in that window
    (local days: overdue = before today; week = today and the 6 days after)."""
    from sqlalchemy import select

    if which not in DUE_WINDOWS:
        raise InvalidValue("due", f"{which!r} is not a due window", hint="use today, overdue or week", exit_code=2)
    t = lead_table if lead_table is not None else sql_table(Lead)
    a = sql_table(Activity)
    today = when.local_day_start(current)
    start, end = {"today": (today, when.local_day_start(current, 1)), "overdue": (None, today),
                  "week": (today, when.local_day_start(current, 7))}[which]
    where = [a.c.done_at.is_(None), a.c.due_at.is_not(None), a.c.due_at < when.to_iso(end)]
    if start is not None:
        where.append(a.c.due_at >= when.to_iso(start))
    # IN, not a correlated EXISTS: the window is read once from the open-activity index instead of
    # probing it for every lead.
    return t.c.id.in_(select(a.c.lead_id).where(*where))


def no_next_action_condition(lead_table: Any = None) -> Any:
    """`list --no-next-action`: open leads without an open planned activity."""
    from sqlalchemy import and_, exists, select

    t = lead_table if lead_table is not None else sql_table(Lead)
    a = sql_table(Activity)
    planned = exists(select(a.c.id).where(a.c.lead_id == t.c.id, a.c.done_at.is_(None), a.c.due_at.is_not(None)))
    return and_(t.c.status.in_(OPEN_STATUSES), ~planned)


def stage_entered_column(lead_table: Any = None) -> Any:
    """When the lead entered its current stage: its latest change to that status in the history."""
    from sqlalchemy import func, select

    t = lead_table if lead_table is not None else sql_table(Lead)
    h = sql_table(StatusChange)
    return (select(func.max(h.c.at)).where(h.c.lead_id == t.c.id, h.c.to_status == t.c.status)
            .scalar_subquery())


def stale_condition(s: Session | None, lead_table: Any = None, *, current: _dt.datetime | None = None,
                    thresholds: dict[str, float] | None = None) -> Any:
    """`list --stale`: open leads in their stage for longer than its threshold (`thresholds`, else
    the ones stored in `s`, else the defaults)."""
    from sqlalchemy import and_, or_

    t = lead_table if lead_table is not None else sql_table(Lead)
    entered = stage_entered_column(t)
    moment = current or when.now()
    days_by_stage = thresholds or (stale_days(s) if s is not None else dict(DEFAULT_STALE_DAYS))
    return or_(*(and_(t.c.status == stage, entered < when.to_iso(moment - _dt.timedelta(days=days)))
                 for stage, days in days_by_stage.items()))


# ---------------------------------------------------------------- stages and their thresholds


def stale_days(s: Session) -> dict[str, float]:
    """Days a lead may stay in each open stage before it is stale (stored in the database)."""
    from leadcli.models_ext import Setting

    stored = s.get(Setting, STALE_SETTING)
    values: dict[str, float] = dict(DEFAULT_STALE_DAYS)
    if stored is not None:
        values.update({k: v for k, v in json.loads(stored.value).items() if k in DEFAULT_STALE_DAYS})
    return values


def set_stale_days(s: Session, changes: dict[str, float]) -> dict[str, float]:
    from leadcli.models_ext import Setting

    for stage, days in changes.items():
        if stage not in DEFAULT_STALE_DAYS:
            raise InvalidValue("stage", f"{stage!r} is not an open stage", hint="use new, contacted or qualified",
                               exit_code=2)
        if not (0 < days <= 3650):
            raise InvalidValue("days", f"{days} is not a number of days", hint="use a number from 1 to 3650",
                               exit_code=2)
    values = {**stale_days(s), **changes}
    stored = s.get(Setting, STALE_SETTING) or Setting(key=STALE_SETTING, value="{}")
    stored.value = json.dumps(values, sort_keys=True)
    s.add(stored)
    s.flush()
    return values


def days_in_stage(s: Session, lead_ids: list[int], *, current: _dt.datetime | None = None) -> dict[int, float]:
    """Days each lead has been in its current stage, from the status history (never the creation date)."""
    from sqlalchemy import select

    moment = current or when.now()
    t = sql_table(Lead)
    out: dict[int, float] = {}
    for start in range(0, len(lead_ids), 900):
        stmt = select(t.c.id, stage_entered_column(t)).where(t.c.id.in_(lead_ids[start:start + 900]))
        for lead_id, entered in s.connection().execute(stmt):
            if entered:
                out[lead_id] = when.days_between(entered, moment)
    return out


def last_activity_at_column(lead_table: Any = None) -> Any:
    """A column for the lead query: when the lead's latest done activity happened (NULL if none)."""
    from sqlalchemy import func, select

    t = lead_table if lead_table is not None else sql_table(Lead)
    a = sql_table(Activity)
    return (select(func.max(a.c.at)).where(a.c.lead_id == t.c.id, a.c.done_at.is_not(None))
            .scalar_subquery().label("last_activity_at"))


def show_extras(s: Session, lead_id: int) -> tuple[list[tuple[str, Any]], list[tuple[str, list[dict]]], dict]:
    """What `show` adds for activities: the next action as a field, the timeline as a section, and
    the JSON keys `next_action_at` and `activities` (the shape of `leads.lead_extras`' parts)."""
    items = for_lead(s, lead_id)
    planned = sorted((a for a in items if a["done_at"] is None and a["due_at"]), key=lambda a: (a["due_at"], a["id"]))
    following = planned[0] if planned else None
    fields: list[tuple[str, Any]] = []
    if following is not None:
        fields.append(("next action", f"{when.local_text(following['due_at'])} {following['type']}: "
                                      f"{following['text'] or ''} (#{following['id']}, "
                                      f"{when.relative_text(following['due_at'])})"))
    rows = [{"at": when.local_text(i["at"]), "what": i["type"] if i["kind"] != "planned" else f"planned {i['type']}",
             "text": i["text"] or "", "outcome": i["outcome"] or "", "id": i["activity_id"] or ""}
            for i in timeline(s, lead_id)]
    data = {"next_action_at": following["due_at"] if following else None,
            "activities": [{k: a[k] for k in ("id", "type", "text", "outcome", "at", "due_at", "done_at",
                                              "duration_s", "owner")} for a in items]}
    return fields, [(TIMELINE_TITLE, rows)], data
