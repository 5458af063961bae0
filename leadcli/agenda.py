"""The salesperson's day and the reports built on activities: the agenda, aging, activity counts,
speed to lead, and the calendar feed's events. Plain rows; takes a session, never prints.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from leadcli import activities, when
from leadcli.activities import sql_table
from leadcli.models import OPEN_STATUSES, Activity, Lead, StatusChange

if TYPE_CHECKING:
    from sqlmodel import Session

SECTIONS = ("overdue", "today", "upcoming", "no-next-action")
AGENDA_KEYS = ("section", "lead_id", "name", "company", "phone", "activity_id", "type", "text", "due_at",
               "due_local", "late", "owner", "status", "score", "email", "phone_e164")
# Days-in-stage buckets of `report aging`: (label, upper bound in days, inclusive).
AGING_BUCKETS = (("0-2d", 2), ("2-7d", 7), ("7-14d", 14), ("14-30d", 30), ("30-90d", 90), ("90d+", None))
SPEED_BUCKETS = ("within 1 hour", "within 1 day", "later", "never reached")


def dial_format(phone: str | None, region: str | None = None) -> str | None:
    """A phone as one dials it: national within LEADCLI_REGION's country, international otherwise."""
    if not phone:
        return phone
    import phonenumbers

    from leadcli.validate import default_region

    region = region or default_region()
    try:
        parsed = phonenumbers.parse(phone, None if phone.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_possible_number(parsed):
        return phone
    same = region is not None and phonenumbers.region_code_for_number(parsed) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def _owner_match(column: Any, owner: str | None) -> list[Any]:
    from sqlalchemy import func

    name = activities.owner_name(owner)
    return [] if name is None else [func.lower(column) == name.lower()]


_LEAD_COLUMNS = ("name", "company", "phone", "email", "status", "score")


def _picked(s: Session, t: Any, leads: Any) -> list[Any]:
    """The conditions of a lead filter (`today @VIEW`), or none."""
    return [] if leads is None else list(leads.with_settings(s).clauses(t))


def _picked_ids(s: Session, a: Any, leads: Any) -> list[Any]:
    """The same for a query on activities alone: their lead is one the filter picks."""
    if leads is None:
        return []
    from sqlalchemy import select

    t = sql_table(Lead)
    return [a.c.lead_id.in_(select(t.c.id).where(*_picked(s, t, leads)))]


def _row(section: str, lead: dict[str, Any], activity: dict[str, Any] | None, current: _dt.datetime) -> dict:
    due = activity["due_at"] if activity else None
    return {
        "section": section, "lead_id": lead["lead_id"], "name": lead["name"] or f"Lead #{lead['lead_id']}",
        "company": lead["company"], "phone": dial_format(lead["phone"]),
        "activity_id": activity["id"] if activity else None, "type": activity["type"] if activity else None,
        "text": activity["text"] if activity else None, "due_at": due, "due_local": when.local_text(due),
        "late": when.relative_text(due, current) if due else None,
        "owner": activity["owner"] if activity else lead["owner"], "status": lead["status"], "score": lead["score"],
        "email": lead["email"], "phone_e164": lead["phone"],
    }


def _windows(moment: _dt.datetime, days: int) -> dict[str, tuple[str | None, str]]:
    """Each activity section's due window [start, end) in stored form: local days."""
    today, tomorrow = when.local_day_start(moment), when.local_day_start(moment, 1)
    horizon = when.local_day_start(moment, 1 + max(days, 0))
    return {"overdue": (None, when.to_iso(today)), "today": (when.to_iso(today), when.to_iso(tomorrow)),
            "upcoming": (when.to_iso(tomorrow), when.to_iso(horizon))}


def _window_where(a: Any, t: Any, window: tuple[str | None, str], owner: str | None) -> list[Any]:
    start, end = window
    where = [a.c.done_at.is_(None), a.c.due_at.is_not(None), a.c.due_at < end, t.c.archived_at.is_(None),
             *_owner_match(a.c.owner, owner)]
    return where + ([a.c.due_at >= start] if start else [])


def agenda(s: Session, *, owner: str | None = None, days: int = 7, no_action_limit: int | None = 10,
           shown: int | None = None, current: _dt.datetime | None = None, leads: Any = None) -> list[dict[str, Any]]:
    """Overdue, due today, due in the next `days` days (local days), then open leads without a next
    action, hottest first by score. `shown`: at most that many rows per activity section; `leads`: a
    `LeadFilter` (a saved view) the leads must match."""
    from sqlalchemy import select

    moment = current or when.now()
    a, t = sql_table(Activity), sql_table(Lead)
    lead_cols = [t.c.id.label("lead_id"), t.c.owner.label("lead_owner"), *(t.c[c] for c in _LEAD_COLUMNS)]
    act_cols = [a.c.id, a.c.type, a.c.text, a.c.due_at, a.c.owner.label("activity_owner")]
    rows = []
    for section, window in _windows(moment, days).items():
        stmt = (select(*act_cols, *lead_cols).join(t, t.c.id == a.c.lead_id)
                .where(*_window_where(a, t, window, owner), *_picked(s, t, leads)).order_by(a.c.due_at, a.c.id))
        if shown:
            stmt = stmt.limit(shown)
        for row in s.connection().execute(stmt).mappings():
            lead = {**row, "owner": row["lead_owner"]}
            rows.append(_row(section, lead, {**row, "owner": row["activity_owner"]}, moment))
    rows += [_row("no-next-action", lead, None, moment)
             for lead in leads_without_next_action(s, owner=owner, limit=no_action_limit, leads=leads)]
    return rows


def section_counts(s: Session, *, owner: str | None = None, days: int = 7, current: _dt.datetime | None = None,
                   cap: int | None = None, leads: Any = None) -> dict[str, int]:
    """How many rows each section has in all (the agenda may show only the first ones); the count of
    leads without a next action stops at `cap` + 1 (a terminal says "1,000+", not the exact figure)."""
    from sqlalchemy import and_, case, func, select

    a, t = sql_table(Activity), sql_table(Lead)
    windows = _windows(current or when.now(), days)
    # One pass over the open-activity index; archived leads are few, read once instead of joined per row.
    archived = select(t.c.id).where(t.c.archived_at.is_not(None))
    sums = []
    for start, end in windows.values():
        inside = and_(a.c.due_at < end, a.c.due_at >= start) if start else a.c.due_at < end
        sums.append(func.coalesce(func.sum(case((inside, 1), else_=0)), 0))
    stmt = select(*sums).where(a.c.done_at.is_(None), a.c.due_at.is_not(None), a.c.due_at < windows["upcoming"][1],
                               a.c.lead_id.not_in(archived), *_owner_match(a.c.owner, owner),
                               *_picked_ids(s, a, leads))
    counts = dict(zip(windows, s.connection().execute(stmt).one(), strict=True))
    counts["no-next-action"] = count_without_next_action(s, owner=owner, cap=cap, leads=leads)
    return counts


def _no_next_action_where(t: Any, owner: str | None) -> list[Any]:
    return [activities.no_next_action_condition(t), t.c.archived_at.is_(None), *_owner_match(t.c.owner, owner)]


def leads_without_next_action(s: Session, *, owner: str | None = None, limit: int | None = 10,
                              leads: Any = None) -> list[dict]:
    """Open, unarchived leads with no open planned activity, hottest first (score, then newest)."""
    from sqlalchemy import select

    t = sql_table(Lead)
    cols = [t.c.id.label("lead_id"), t.c.owner, *(t.c[c] for c in _LEAD_COLUMNS)]
    where = _no_next_action_where(t, owner) + _picked(s, t, leads)
    # Scored leads by score, then the unscored by date: each part walks an index and stops at the
    # limit, where one ORDER BY with NULLS LAST would sort every open lead.
    scored = (select(*cols).where(*where, t.c.score.is_not(None))
              .order_by(t.c.score.desc(), t.c.created_at.desc(), t.c.id.desc()))
    unscored = select(*cols).where(*where, t.c.score.is_(None)).order_by(t.c.created_at.desc(), t.c.id.desc())
    rows: list[dict] = []
    for stmt in (scored, unscored):
        if limit:
            stmt = stmt.limit(limit - len(rows))
        rows += [dict(r) for r in s.connection().execute(stmt).mappings()]
        if limit and len(rows) >= limit:
            break
    return rows


def count_without_next_action(s: Session, *, owner: str | None = None, cap: int | None = None,
                              leads: Any = None) -> int:
    """Open leads without a next action; with `cap`, counting stops past it (returns at most cap + 1)."""
    from sqlalchemy import func, literal, select

    t = sql_table(Lead)
    where = _no_next_action_where(t, owner) + _picked(s, t, leads)
    if cap is None:
        stmt = select(func.count()).select_from(t).where(*where)
    else:
        found = select(literal(1)).select_from(t).where(*where).limit(cap + 1).subquery()
        stmt = select(func.count()).select_from(found)
    return s.connection().execute(stmt).scalar_one()


def calendar_events(s: Session, *, owner: str | None = None, days: int | None = None,
                    current: _dt.datetime | None = None, leads: Any = None) -> Iterator[dict[str, Any]]:
    """Open planned activities as calendar events (start, minutes, summary, description, uid), read
    as they are written: every one, or with `days` the overdue ones and those due in the next `days`
    local days. `start` is the stored UTC moment (ISO 8601)."""
    from sqlalchemy import select

    a, t = sql_table(Activity), sql_table(Lead)
    where = [a.c.done_at.is_(None), a.c.due_at.is_not(None), *_owner_match(a.c.owner, owner), *_picked(s, t, leads)]
    if days is not None:
        where.append(a.c.due_at < when.to_iso(when.local_day_start(current, 1 + days)))
    stmt = (select(a.c.id, a.c.lead_id, a.c.type, a.c.text, a.c.due_at, a.c.duration_s, t.c.name, t.c.company,
                   t.c.phone, t.c.email).join(t, t.c.id == a.c.lead_id).where(*where).order_by(a.c.due_at, a.c.id))
    result = s.connection().execute(stmt.execution_options(yield_per=2000))
    for activity_id, lead_id, kind, text, due_at, duration_s, name, company, phone, email in result:
        who = name or f"Lead #{lead_id}"
        if company:
            who += f" ({company})"
        # The stored phone (E.164) as is: a calendar app dials it from anywhere.
        details = [f"lead #{lead_id}", phone, email]
        yield {
            "uid": f"activity-{activity_id}@leadcli", "start": due_at,
            "minutes": max(5, duration_s // 60) if duration_s else 15,
            "summary": f"{kind.capitalize()} {who}: {text or ''}".rstrip(": "),
            "description": " · ".join(d for d in details if d), "activity_id": activity_id,
        }


# ---------------------------------------------------------------- aging


def _bucket(age_days: float) -> str:
    for label, upper in AGING_BUCKETS:
        if upper is None or age_days <= upper:
            return label
    return AGING_BUCKETS[-1][0]


def aging(s: Session, *, current: _dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per open stage: open leads by days in the stage, how many are stale, and how long converted
    leads spent in the stage (median, p90)."""
    from sqlalchemy import select

    moment = current or when.now()
    thresholds = activities.stale_days(s)
    t = sql_table(Lead)
    counts: dict[str, dict[str, int]] = {stage: defaultdict(int) for stage in OPEN_STATUSES}
    stale: dict[str, int] = defaultdict(int)
    stmt = select(t.c.status, activities.stage_entered_column(t)).where(t.c.status.in_(OPEN_STATUSES),
                                                                        t.c.archived_at.is_(None))
    for status, entered in s.connection().execute(stmt):
        age = when.days_between(entered, moment) if entered else 0.0
        counts[status][_bucket(age)] += 1
        stale[status] += age > thresholds[status]
    spent = time_in_stages_of_converted(s)
    rows = []
    for stage in OPEN_STATUSES:
        row: dict[str, Any] = {"stage": stage, "open": sum(counts[stage].values())}
        row.update({label: counts[stage][label] for label, _ in AGING_BUCKETS})
        row.update({"stale": stale[stage], "stale_after_days": thresholds[stage],
                    "converted_through": len(spent[stage]), "median_days": _q(spent[stage], 0.5),
                    "p90_days": _q(spent[stage], 0.9)})
        rows.append(row)
    return rows


def _q(values: list[float], q: float) -> float | None:
    """The q-quantile with linear interpolation (numpy's default), to 0.01 day."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 2)


def time_in_stages_of_converted(s: Session) -> dict[str, list[float]]:
    """Days each converted lead spent in each open stage it passed through (summed over visits)."""
    from sqlalchemy import select

    h, t = sql_table(StatusChange), sql_table(Lead)
    stmt = (select(h.c.lead_id, h.c.to_status, h.c.at).join(t, t.c.id == h.c.lead_id)
            .where(t.c.status == "converted").order_by(h.c.lead_id, h.c.at, h.c.id))
    spent: dict[str, list[float]] = {stage: [] for stage in OPEN_STATUSES}
    lead_id: int | None = None
    per_lead: dict[str, float] = defaultdict(float)
    previous: tuple[str, str] | None = None
    for row_lead, to_status, at in s.connection().execute(stmt):
        if row_lead != lead_id:
            _flush(spent, per_lead)
            lead_id, per_lead, previous = row_lead, defaultdict(float), None
        if previous is not None and previous[0] in spent:
            per_lead[previous[0]] += when.days_between(previous[1], when.parse_iso(at))
        previous = (to_status, at)
    _flush(spent, per_lead)
    return spent


def _flush(spent: dict[str, list[float]], per_lead: dict[str, float]) -> None:
    for stage, days in per_lead.items():
        spent[stage].append(days)


# ---------------------------------------------------------------- activity reports


def _week(day: str) -> str:
    date = _dt.date.fromisoformat(day)
    return (date - _dt.timedelta(days=date.weekday())).isoformat()


def activity_counts(s: Session, *, since: str | None = None, until: str | None = None,
                    owner: str | None = None) -> list[dict[str, Any]]:
    """Done activities per owner per week (the Monday, UTC) by type and outcome."""
    from sqlalchemy import String, func, select

    a = sql_table(Activity)
    day = func.substr(a.c.at, 1, 10, type_=String)
    where = [a.c.done_at.is_not(None), a.c.at.is_not(None), *_owner_match(a.c.owner, owner)]
    if since:
        where.append(a.c.at >= since)
    if until:
        where.append(a.c.at <= until)
    stmt = (select(day, a.c.owner, a.c.type, a.c.outcome, func.count()).where(*where)
            .group_by(day, a.c.owner, a.c.type, a.c.outcome))
    totals: dict[tuple, int] = defaultdict(int)
    for d, who, kind, result, count in s.connection().execute(stmt):
        totals[(_week(d), who or "", kind, result or "")] += count
    return [{"week": w, "owner": who or None, "type": kind, "outcome": result or None, "activities": n}
            for (w, who, kind, result), n in sorted(totals.items())]


def speed_to_lead(s: Session) -> list[dict[str, Any]]:
    """Conversion of leads by how soon they were first reached after they came in."""
    from sqlalchemy import func, select

    a, t = sql_table(Activity), sql_table(Lead)
    first = (select(a.c.lead_id, func.min(a.c.at).label("reached_at"))
             .where(a.c.done_at.is_not(None), a.c.outcome.in_(activities.REACHED)).group_by(a.c.lead_id).subquery())
    stmt = (select(t.c.created_at, first.c.reached_at, t.c.status).outerjoin(first, first.c.lead_id == t.c.id)
            .where(t.c.archived_at.is_(None)))
    totals: dict[str, list[int]] = {bucket: [0, 0] for bucket in SPEED_BUCKETS}
    for created, reached, status in s.connection().execute(stmt):
        bucket = _speed_bucket(created, reached)
        totals[bucket][0] += 1
        totals[bucket][1] += status == "converted"
    return [{"reached": bucket, "total": total, "converted": won,
             "rate": round(won * 100 / total, 2) if total else None}
            for bucket, (total, won) in totals.items()]


def _speed_bucket(created: str, reached: str | None) -> str:
    if not reached:
        return "never reached"
    delay = when.parse_iso(reached) - when.parse_iso(created)
    if delay <= _dt.timedelta(hours=1):
        return "within 1 hour"
    if delay <= _dt.timedelta(days=1):
        return "within 1 day"
    return "later"
