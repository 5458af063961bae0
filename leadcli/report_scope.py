"""What a report counts (`Scope`: filters and date window) and how it groups (`--by`)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, case, literal, select

from leadcli import validate
from leadcli.errors import InvalidValue
from leadcli.models import Lead, LeadTag, StatusChange
from leadcli.query import LeadFilter
from leadcli.report_math import PERIODS, period_expr

if TYPE_CHECKING:
    from sqlmodel import Session

# Dates read from a lead's activities: `--by next-activity:week`, `--by last-activity:month`.
ACTIVITY_DATES = ("next_activity", "last_activity")
DATE_FIELDS = {"created": "created_at", "converted": "converted_at", "updated": "updated_at"}
# Lead columns a report can group by (aliases on the left).
GROUP_COLUMNS = {
    "source": "source", "owner": "owner", "company": "company", "title": "title", "currency": "currency",
    "status": "status", "grade": "grade", "trend": "trend", "score": "score", "reason": "status_reason",
    "status_reason": "status_reason", "name": "name", "first_name": "first_name", "last_name": "last_name",
    "email": "email", "phone": "phone", "external_id": "external_id",
}
# Groups that ignore case: "Web" and "web" are one source. Folded explicitly (`fold_case`), never by
# trusting a column's collation.
CASE_FREE_COLUMNS = ("source", "owner", "company")
FUNNEL_STAGES = ("new", "contacted", "qualified", "converted")
NONE_LABEL = "(none)"



# ---------------------------------------------------------------- what a report counts


@dataclass
class Scope:
    """Which leads a report counts: the filters of `list` (archived included) and a date window.

    `since`/`until` are ISO timestamps (inclusive) on `date_field`. With `as_of` (an ISO timestamp,
    the end of a day) statuses are rebuilt from the history as they stood at that moment and leads
    created later do not exist yet.
    """

    filter: LeadFilter = field(default_factory=lambda: LeadFilter(include_archived=True))
    since: str | None = None
    until: str | None = None
    date_field: str = "created"
    as_of: str | None = None

    def created_window(self, t: Any) -> list[Any]:
        out = []
        if self.since and self.date_field == "created":
            out.append(t.c.created_at >= self.since)
        if self.until and self.date_field == "created":
            out.append(t.c.created_at <= self.until)
        if self.as_of:
            out.append(t.c.created_at <= self.as_of)
        return out

    def period_window(self, column: Any) -> list[Any]:
        out = [column.is_not(None)]
        if self.since:
            out.append(column >= self.since)
        if self.until:
            out.append(column <= self.until)
        return out


def default_scope(flt: LeadFilter, *, since: str | None, until: str | None, all_time: bool = False,
                  date_field: str = "created", as_of: str | None = None, today: _dt.date | None = None) -> Scope:
    """The window a report uses: what the user gave, else the calendar year (of --as-of, or today)."""
    if date_field not in ("created", "converted"):
        raise InvalidValue("date-field", f"{date_field!r} is not a date field", hint="use created or converted",
                           exit_code=2)
    validate.date_window(since, until)
    flt.include_archived = True
    flt.since = flt.until = None
    if since is None and until is None and not all_time:
        year = (as_of[:4] if as_of else str((today or _dt.datetime.now(_dt.timezone.utc).date()).year))
        since = f"{year}-01-01T00:00:00Z"
    return Scope(filter=flt, since=since, until=until, date_field=date_field, as_of=as_of)


class _Columns:
    """The lead table and the expressions a scope reads status and conversion time from."""

    def __init__(self, scope: Scope):
        self.t = Lead.metadata.tables["lead"]
        self.status: Any = self.t.c.status
        self.converted_at: Any = self.t.c.converted_at
        if scope.as_of:
            sc = StatusChange.metadata.tables["status_change"].alias("asof")

            def latest(column: Any) -> Any:
                return (select(column).where(sc.c.lead_id == self.t.c.id, sc.c.at <= scope.as_of)
                        .order_by(sc.c.at.desc(), sc.c.id.desc()).limit(1).scalar_subquery())

            self.status = latest(sc.c.to_status)
            # Only rendered when a report reads it (by converted date, drill, period view).
            self.converted_at = case((self.status == "converted", latest(sc.c.at)), else_=None)
        self.is_converted = self.status == "converted"


# ---------------------------------------------------------------- --by


@dataclass
class GroupBy:
    spec: str
    kind: str  # column | date | tag | field | all
    column: Any = None  # the lead column (or custom field name) grouped on; None for tag and all
    period: Any = None  # day ... year, for a date grouping

    @property
    def is_date(self) -> bool:
        return self.kind == "date"


def parse_by(spec: str | None, s: Session | None = None) -> GroupBy:
    """`source`, `owner`, `status`, `grade`, `tag`, `field.Industry`, `created:month`, `converted:quarter`..."""
    if spec is None or spec.strip().lower() in ("", "all", "none"):
        return GroupBy("all", "all")
    raw = spec.strip()
    name, _, period = raw.partition(":")
    key = name.strip().lower().replace("-", "_")
    period = period.strip().lower()
    date_key = key[:-3] if key.endswith("_at") else key
    if date_key in ACTIVITY_DATES:
        period = period or "week"
        if period not in PERIODS:
            raise InvalidValue("by", f"{period!r} is not a period",
                               hint=f"use {name.strip()}:day, week, month, quarter or year", exit_code=2)
        return GroupBy(f"{date_key.replace('_', '-')}:{period}", "date", date_key, period)
    if date_key in DATE_FIELDS:
        period = period or "month"
        if period not in PERIODS:
            raise InvalidValue("by", f"{period!r} is not a period",
                               hint=f"use {date_key}:day, week, month, quarter or year", exit_code=2)
        return GroupBy(f"{date_key}:{period}", "date", DATE_FIELDS[date_key], period)
    if period:
        raise InvalidValue("by", f"{name!r} is not a date field, so it takes no period",
                           hint="periods go with created, converted or updated, e.g. --by created:month",
                           exit_code=2)
    if key in ("tag", "tags"):
        return GroupBy("tag", "tag")
    if key in GROUP_COLUMNS:
        return GroupBy(key, "column", GROUP_COLUMNS[key])
    for prefix in ("field.", "fields.", "custom."):
        if name.strip().lower().startswith(prefix):
            return GroupBy(name.strip()[len(prefix):], "field", name.strip()[len(prefix):])
    if s is not None and _custom_field_exists(s, name.strip()):
        return GroupBy(name.strip(), "field", name.strip())
    known = _custom_field_names(s) if s is not None else []
    folded = [k for k in known if k.casefold().replace(" ", "") == name.strip().casefold().replace(" ", "")]
    if len(folded) == 1:
        return GroupBy(folded[0], "field", folded[0])  # `--by industry` for the custom field `Industry`
    raise InvalidValue(
        "by", f"cannot group by {name!r}: it is neither a lead field nor a custom field any lead has",
        hint="use source, owner, status, grade, tag, company, title, currency, created:month, "
             "converted:quarter, or a custom field as field.NAME"
             + (f" (custom fields of recent leads: {', '.join(known[:12])})" if known else ""), exit_code=2)


def _custom_field_names(s: Session, sample: int = 10_000) -> list[str]:
    """The custom field names of the most recent leads (a sample keeps this fast on big databases)."""
    import json

    from sqlalchemy import type_coerce

    t = Lead.metadata.tables["lead"]
    names: set[str] = set()
    stmt = select(type_coerce(t.c.fields, String)).order_by(t.c.id.desc()).limit(sample)
    for (text,) in s.connection().execute(stmt):
        try:
            value = json.loads(text) if text else None
        except ValueError:
            continue
        if isinstance(value, dict):
            names.update(value)
    return sorted(names)


def _custom_field_exists(s: Session, key: str) -> bool:
    t = Lead.metadata.tables["lead"]
    found = s.connection().execute(select(t.c.id).where(t.c.fields[key].as_string().is_not(None)).limit(1))
    return found.first() is not None


def _group_expr(gb: GroupBy, cols: _Columns, scope: Scope) -> tuple[Any, Any]:
    """(expression, from-clause) for a grouping."""
    t = cols.t
    if gb.kind == "all":
        return literal("all", String), t
    if gb.kind == "tag":
        tags = LeadTag.metadata.tables["lead_tag"]
        return tags.c.tag, t.outerjoin(tags, tags.c.lead_id == t.c.id)
    if gb.kind == "field":
        return t.c.fields[gb.column].as_string(), t
    if gb.kind == "date" and gb.column in ACTIVITY_DATES:
        from leadcli import activities

        # The date of the lead's next planned / latest done activity (Pipedrive's report fields).
        moment = activities.next_action_at_column(t) if gb.column == "next_activity" \
            else activities.last_activity_at_column(t)
        return period_expr(moment, gb.period), t
    if gb.kind == "date":
        column = cols.converted_at if gb.column == "converted_at" else t.c[gb.column]
        return period_expr(column, gb.period), t
    if gb.column == "status":
        return cols.status, t
    return t.c[gb.column], t


def _sort(rows: list[dict], gb: GroupBy) -> list[dict]:
    if gb.is_date:
        return sorted(rows, key=lambda r: (r["group"] is None, str(r["group"] or "")))
    return sorted(rows, key=lambda r: (r["group"] is None, -(r["total"] or 0), str(r["group"] or "").lower()))

def _case_free(gb: GroupBy) -> bool:
    return gb.kind == "tag" or (gb.kind == "column" and gb.column in CASE_FREE_COLUMNS)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SUMMED = ("total", "converted", "total_cents", "converted_cents")


def fold_case(value: Any) -> Any:
    """The key a case-free group is matched on: ASCII letters lower-cased, as SQL's lower() does."""
    return value.translate(_ASCII_LOWER) if isinstance(value, str) else value


def _folded(rows: Sequence[Any], by_currency: bool) -> list[dict]:
    """Rows grouped by the stored value merged into one per value ignoring case, labelled with the
    spelling first in byte order (each row brings the least spelling of its SQL group as `label`).

    SQL groups on the plain column so that the report indexes serve the GROUP BY; whatever the
    database's collation, its groups are never coarser than this fold, which makes the result (on
    SQLite, whose columns fold case already, nothing is left to merge). The label is defined the same
    way on both databases: "Web" and "web" are reported as "Web" on either.
    """
    merged: dict[Any, dict] = {}
    for r in rows:
        key = (fold_case(r["grp"]), r["currency"]) if by_currency else fold_case(r["grp"])
        label = r["label"] if "label" in r else r["grp"]
        row = merged.get(key)
        if row is None:
            merged[key] = {**r, "grp": label}
            continue
        for name in _SUMMED:
            if name in r and r[name] is not None:
                row[name] = (row[name] or 0) + r[name]
        if label is not None and (row["grp"] is None or label < row["grp"]):
            row["grp"] = label
    return list(merged.values())

