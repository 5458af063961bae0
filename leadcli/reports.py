"""Reports: SQL aggregations over the lead table and its status history -> plain rows. Never prints.

Every report is a GROUP BY in SQLAlchemy Core over indexed columns (migration 5 adds the covering
indexes); only small results (groups, or the durations of converted leads for percentiles) reach
Python. Date bucketing works on the ISO-8601 UTC text timestamps (`YYYY-MM-DDTHH:MM:SSZ`); the two
bits that need date arithmetic (week starts, days between) compile per dialect, so the same code
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, func, literal, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from leadcli import validate
from leadcli.errors import InvalidValue, LeadcliError, NotFound, UsageError
from leadcli.models import CurrencyRate, Lead, LeadTag, StatusChange
from leadcli.query import LeadFilter

if TYPE_CHECKING:
    from sqlmodel import Session

PERIODS = ("day", "week", "month", "quarter", "year")
DATE_FIELDS = {"created": "created_at", "converted": "converted_at", "updated": "updated_at"}
# Lead columns a report can group by (aliases on the left).
GROUP_COLUMNS = {
    "source": "source", "owner": "owner", "company": "company", "title": "title", "currency": "currency",
    "status": "status", "grade": "grade", "trend": "trend", "score": "score", "reason": "status_reason",
    "status_reason": "status_reason", "name": "name", "first_name": "first_name", "last_name": "last_name",
    "email": "email", "phone": "phone", "external_id": "external_id",
}
NOCASE_COLUMNS = ("source", "owner", "company")  # COLLATE NOCASE in the schema
FUNNEL_STAGES = ("new", "contacted", "qualified", "converted")
NONE_LABEL = "(none)"


# ---------------------------------------------------------------- portable date arithmetic


class week_start(FunctionElement):
    """The Monday (YYYY-MM-DD) of the ISO week holding a timestamp."""

    type = String()
    name = "week_start"
    inherit_cache = True


@compiles(week_start)
def _week_start_sqlite(element, compiler, **kw):
    arg = compiler.process(list(element.clauses)[0], **kw)
    return f"date(substr({arg}, 1, 10), '-6 days', 'weekday 1')"


@compiles(week_start, "postgresql")
def _week_start_pg(element, compiler, **kw):
    arg = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char(date_trunc('week', CAST({arg} AS timestamp)), 'YYYY-MM-DD')"


class days_between(FunctionElement):
    """Days (fractional) from the first timestamp to the second."""

    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM (CAST({end} AS timestamptz) - CAST({start} AS timestamptz))) / 86400.0)"


def period_expr(column: Any, period: str) -> Any:
    """A text bucket of an ISO timestamp column: 2026-03-14, 2026-03-09 (week of), 2026-03, 2026-Q1, 2026."""
    if period == "day":
        return func.substr(column, 1, 10, type_=String)
    if period == "month":
        return func.substr(column, 1, 7, type_=String)
    if period == "year":
        return func.substr(column, 1, 4, type_=String)
    if period == "week":
        return week_start(column)
    if period == "quarter":
        month = func.substr(column, 6, 2, type_=String)
        quarter = case((month <= "03", "-Q1"), (month <= "06", "-Q2"), (month <= "09", "-Q3"), else_="-Q4")
        return case((column.is_(None), None), else_=func.substr(column, 1, 4, type_=String) + quarter)
    raise InvalidValue("by", f"{period!r} is not a period", hint=f"use one of: {', '.join(PERIODS)}", exit_code=2)


def period_of(moment: str, period: str) -> str:
    """The same bucket computed in Python (for files that name periods, and for tests)."""
    day = _dt.date.fromisoformat(moment[:10])
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - _dt.timedelta(days=day.weekday())).isoformat()
    if period == "month":
        return moment[:7]
    if period == "quarter":
        return f"{moment[:4]}-Q{(day.month + 2) // 3}"
    return moment[:4]


# ---------------------------------------------------------------- numbers


class Fixed2(float):
    """A number rounded to 2 decimals that also prints with 2 (`48.00`, not `48.0`) in CSV output.

    A plain float otherwise: it compares, sums and goes to JSON as the number it is.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self:.2f}"


def pct(part: Any, whole: Any) -> float | None:
    """part × 100 / whole rounded half-up to 2 decimals; None when there is no denominator."""
    if part is None or not whole:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Fixed2(value)


def ratio(part: Any, whole: Any) -> Decimal | None:
    """part / whole as money (2 decimals, half-up); None when there is no denominator."""
    if part is None or not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def cents_to_money(cents: Any) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's and pandas' default); values sorted."""
    if not values:
        return None
    pos = (len(values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def _round2(value: float | None) -> float | None:
    if value is None:
        return None
    return Fixed2(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


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
        self.t = Lead.__table__
        self.status = self.t.c.status
        self.converted_at = self.t.c.converted_at
        if scope.as_of:
            sc = StatusChange.__table__.alias("asof")

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
    column: str | None = None
    period: str | None = None

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
    from sqlalchemy import text

    rows = s.connection().execute(text(
        "SELECT DISTINCT j.key FROM (SELECT fields FROM lead ORDER BY id DESC LIMIT :n) AS l, json_each(l.fields) AS j "
        "ORDER BY j.key"), {"n": sample})
    return [r[0] for r in rows]


def _custom_field_exists(s: Session, key: str) -> bool:
    t = Lead.__table__
    found = s.connection().execute(select(t.c.id).where(t.c.fields[key].as_string().is_not(None)).limit(1))
    return found.first() is not None


def _group_expr(gb: GroupBy, cols: _Columns, scope: Scope) -> tuple[Any, Any]:
    """(expression, from-clause) for a grouping."""
    t = cols.t
    if gb.kind == "all":
        return literal("all", String), t
    if gb.kind == "tag":
        tags = LeadTag.__table__
        return tags.c.tag, t.outerjoin(tags, tags.c.lead_id == t.c.id)
    if gb.kind == "field":
        return t.c.fields[gb.column].as_string(), t
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


# ---------------------------------------------------------------- report conversion


@dataclass
class Conversion:
    """The rows of a conversion report, the overall row, and notes for the reader."""

    rows: list[dict]
    overall: dict
    by: GroupBy
    measure: str = "count"
    currency: str | None = None
    notes: list[str] = field(default_factory=list)
    # Values in several currencies and no --currency: one row per group still, with value columns
    # per currency (`total_value_EUR`, `converted_value_EUR`, `value_rate_EUR`, ...).
    currencies: list[str] = field(default_factory=list)

    def _with_overall(self) -> Conversion:
        self.overall = _overall(self.rows)
        for code in self.currencies:
            for key in (f"total_value_{code}", f"converted_value_{code}"):
                self.overall[key] = sum((r[key] for r in self.rows), Decimal(0))
            self.overall[f"value_rate_{code}"] = pct(self.overall[f"converted_value_{code}"],
                                                     self.overall[f"total_value_{code}"])
        return self


def _aggregate(s: Session, scope: Scope, gb: GroupBy, *, by_currency: bool):
    cols = _Columns(scope)
    t = cols.t
    group, source = _group_expr(gb, cols, scope)
    created_in = scope.created_window(t)
    where = list(scope.filter.clauses(t))
    value = t.c.value_cents
    if scope.date_field == "created":
        where += created_in
        total = func.count()
        converted = func.sum(case((cols.is_converted, 1), else_=0))
        total_value = func.sum(value)
        converted_value = func.sum(case((cols.is_converted, value), else_=None))
    else:
        # Period view: intake by creation date, conversions by conversion date, whenever created.
        created_cond, converted_cond = _period_view(cols, scope)
        where.append(or_(created_cond, converted_cond))
        total = func.sum(case((created_cond, 1), else_=0))
        converted = func.sum(case((converted_cond, 1), else_=0))
        total_value = func.sum(case((created_cond, value), else_=None))
        converted_value = func.sum(case((converted_cond, value), else_=None))
    if scope.date_field == "converted" and gb.is_date:
        return _period_view_by_date(s, cols, scope, gb, where, by_currency)
    columns = [group.label("grp"), total.label("total"), converted.label("converted")]
    keys = [group]
    if by_currency:
        columns += [t.c.currency.label("currency"), total_value.label("total_cents"),
                    converted_value.label("converted_cents")]
        keys.append(t.c.currency)
    stmt = select(*columns).select_from(source).where(*where).group_by(*keys)
    return s.connection().execute(stmt).mappings().all()


def _period_view_by_date(s: Session, cols: _Columns, scope: Scope, gb: GroupBy, where: list, by_currency: bool):
    """Period view by a date: new leads counted in their creation period, conversions in theirs."""
    from sqlalchemy import union_all

    t = cols.t
    created_cond, converted_cond = _period_view(cols, scope)
    common = where[:-1]  # without the OR of the two windows
    parts = []
    for date, cond, new, conv in ((t.c.created_at, created_cond, 1, 0), (cols.converted_at, converted_cond, 0, 1)):
        parts.append(select(period_expr(date, gb.period).label("grp"), literal(new).label("is_new"),
                            literal(conv).label("is_conv"), t.c.currency.label("currency"),
                            t.c.value_cents.label("cents")).where(*common, cond))
    u = union_all(*parts).subquery("period_view")
    columns = [u.c.grp, func.sum(u.c.is_new).label("total"), func.sum(u.c.is_conv).label("converted")]
    keys = [u.c.grp]
    if by_currency:
        columns += [u.c.currency, func.sum(case((u.c.is_new == 1, u.c.cents), else_=None)).label("total_cents"),
                    func.sum(case((u.c.is_conv == 1, u.c.cents), else_=None)).label("converted_cents")]
        keys.append(u.c.currency)
    return s.connection().execute(select(*columns).group_by(*keys)).mappings().all()


def _period_view(cols: _Columns, scope: Scope) -> tuple[Any, Any]:
    """(created in the window, converted in the window) for `--date-field converted`."""
    created = scope.period_window(cols.t.c.created_at)[1:] + scope.created_window(cols.t)
    converted = and_(cols.is_converted, *scope.period_window(cols.converted_at))
    return (and_(*created) if created else true()), converted


def conversion(s: Session, scope: Scope, by: str | None = "source", *, measure: str = "count",
               currency: str | None = None) -> Conversion:
    """Leads, conversions and rate per group; with `measure='value'` also the sums of lead value."""
    if measure not in ("count", "value"):
        raise InvalidValue("measure", f"{measure!r} is not a measure", hint="use count or value", exit_code=2)
    gb = parse_by(by, s)
    by_currency = measure == "value"
    raw = _aggregate(s, scope, gb, by_currency=by_currency)
    notes: list[str] = []
    if not by_currency:
        rows = [{"group": r["grp"], "total": r["total"] or 0, "converted": r["converted"] or 0} for r in raw]
        for row in rows:
            row["rate"] = pct(row["converted"], row["total"])
        overall = _overall(rows)
        return Conversion(_sort(rows, gb), overall, gb, measure)
    target = validate.currency(currency, "currency") if currency else None
    valued = {r["currency"] for r in raw if r["total_cents"] is not None}
    # One group per source/owner whatever its case, as SQL groups them: the label SQLite returns
    # for a case-insensitive group is any of its rows' spellings, and may differ per currency.
    nocase = gb.kind == "tag" or gb.column in NOCASE_COLUMNS
    if target is None and len(valued) > 1:
        codes = sorted(c or NONE_LABEL for c in valued)
        notes.append(f"values are in {len(valued)} currencies ({', '.join(codes)}) and are shown in columns per "
                     "currency; set rates with `leadcli report rates set CUR=RATE` and pass --currency to add "
                     "them up")
        return Conversion(_per_currency_rows(raw, codes, gb, nocase), {}, gb, measure, None, notes, codes) \
            ._with_overall()
    unit = target or (next(iter(valued)) if valued else None)
    factors = _factors(s, {c for c in valued}, target) if target else {}
    merged: dict[Any, dict] = {}
    for r in raw:
        key = r["grp"].casefold() if nocase and isinstance(r["grp"], str) else r["grp"]
        row = merged.setdefault(key, {"group": r["grp"], "total": 0, "converted": 0, "currency": unit,
                                      "total_value": Decimal(0), "converted_value": Decimal(0)})
        row["total"] += r["total"] or 0
        row["converted"] += r["converted"] or 0
        factor = factors.get(r["currency"], Decimal(1))
        for cents_key, out_key in (("total_cents", "total_value"), ("converted_cents", "converted_value")):
            if r[cents_key] is not None:
                row[out_key] += Decimal(r[cents_key]) / 100 * factor
    rows = []
    for row in merged.values():
        rows.append(_value_row(row["group"], row["total"], row["converted"], row["currency"],
                               None, None, row["total_value"], row["converted_value"]))
    rows = _sort(rows, gb)
    return Conversion(rows, _overall_values(rows, unit), gb, measure, unit, notes)


def _per_currency_rows(raw: Sequence[Any], codes: list[str], gb: GroupBy, nocase: bool) -> list[dict]:
    """One row per group: its leads, conversions and rate, then each currency's values."""
    merged: dict[Any, dict] = {}
    for r in raw:
        key = r["grp"].casefold() if nocase and isinstance(r["grp"], str) else r["grp"]
        row = merged.setdefault(key, {"group": r["grp"], "total": 0, "converted": 0, "cents": {}})
        row["total"] += r["total"] or 0
        row["converted"] += r["converted"] or 0
        if r["total_cents"] is not None:
            sums = row["cents"].setdefault(r["currency"] or NONE_LABEL, [0, 0])
            sums[0] += r["total_cents"]
            sums[1] += r["converted_cents"] or 0
    rows = []
    for row in merged.values():
        out = {"group": row["group"], "total": row["total"], "converted": row["converted"],
               "rate": pct(row["converted"], row["total"])}
        for code in codes:
            total_cents, converted_cents = row["cents"].get(code, (0, 0))
            out[f"total_value_{code}"] = cents_to_money(total_cents)
            out[f"converted_value_{code}"] = cents_to_money(converted_cents)
            out[f"value_rate_{code}"] = pct(converted_cents, total_cents)
        rows.append(out)
    return _sort(rows, gb)


def _value_row(group, total, converted, currency, total_cents, converted_cents,
               total_value: Decimal | None = None, converted_value: Decimal | None = None) -> dict:
    if total_value is None:
        total_value = Decimal(total_cents or 0) / 100
        converted_value = Decimal(converted_cents or 0) / 100
    total_value = total_value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    converted_value = converted_value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {"group": group, "total": total or 0, "converted": converted or 0,
            "rate": pct(converted or 0, total or 0), "currency": currency,
            "total_value": total_value, "converted_value": converted_value,
            "value_rate": pct(converted_value, total_value)}


def _overall(rows: Sequence[dict]) -> dict:
    total = sum(r["total"] for r in rows)
    converted = sum(r["converted"] for r in rows)
    return {"group": "all", "total": total, "converted": converted, "rate": pct(converted, total)}


def _overall_values(rows: Sequence[dict], unit: str | None) -> dict:
    """The overall row of a value report in one currency (`unit`)."""
    out = _overall(rows)
    out["currency"] = unit
    out["total_value"] = sum((r["total_value"] for r in rows), Decimal(0))
    out["converted_value"] = sum((r["converted_value"] for r in rows), Decimal(0))
    out["value_rate"] = pct(out["converted_value"], out["total_value"])
    return out


def conversion_overall(s: Session, scope: Scope, *, measure: str = "count", currency: str | None = None) -> dict:
    """The one overall row (`--scorecard`), from the same aggregation with no grouping.

    The tag grouping is never used here, so each lead counts once.
    """
    result = conversion(s, scope, None, measure=measure, currency=currency)
    if len(result.rows) == 1:
        row = dict(result.rows[0])
    else:
        row = dict(result.overall)
    row["group"] = "all"
    return row


# ---------------------------------------------------------------- --drill


def drill(s: Session, scope: Scope, by: str | None, group: str) -> list[dict]:
    """The leads behind one group of a conversion report, each marked converted or not."""
    gb = parse_by(by, s)
    cols = _Columns(scope)
    t = cols.t
    expr, source = _group_expr(gb, cols, scope)
    target = None if group.strip() in ("", NONE_LABEL) else group
    if gb.kind == "all":
        cond = true()
    elif target is None:
        cond = expr.is_(None)
    elif gb.kind in ("column", "tag") and gb.column not in ("score",):
        cond = func.lower(expr) == target.lower()
    else:
        cond = expr == target
    where = list(scope.filter.clauses(t)) + [cond]
    converted_at = cols.converted_at
    if scope.date_field == "created":
        where += scope.created_window(t)
        converted_flag = cols.is_converted
    else:
        created_cond, converted_flag = _period_view(cols, scope)
        where.append(or_(created_cond, converted_flag))
    stmt = (select(t.c.id, t.c.name, t.c.company, t.c.source, t.c.owner, cols.status.label("status"),
                   t.c.value_cents, t.c.currency, t.c.created_at, converted_at.label("converted_at"),
                   case((converted_flag, True), else_=False).label("converted"))
            .select_from(source).where(*where).order_by(t.c.created_at, t.c.id))
    rows = []
    for r in s.connection().execute(stmt).mappings():
        rows.append({"id": r["id"], "name": r["name"], "company": r["company"], "source": r["source"],
                     "owner": r["owner"], "status": r["status"], "value": cents_to_money(r["value_cents"]),
                     "currency": r["currency"], "created_at": r["created_at"], "converted_at": r["converted_at"],
                     "converted": bool(r["converted"])})
    if not rows:
        raise NotFound(f"no leads in the group {group!r} of --by {gb.spec}",
                       hint="run the report without --drill to see the groups' names")
    return rows


# ---------------------------------------------------------------- currency rates


def set_rates(s: Session, pairs: Iterable[str], base: str) -> list[dict]:
    from leadcli.store import now_iso

    base = validate.currency(base, "base")
    out = []
    for item in pairs:
        code, text = validate.key_value(item, "rate")
        code = validate.currency(code, "rate")
        rate = validate.parse_decimal(text, "rate")
        if rate <= 0:
            raise InvalidValue("rate", f"{item!r}: a rate must be above 0", hint="write it as EUR=1.08")
        if code == base:
            raise InvalidValue("rate", f"{code} is the base currency", hint="set rates of other currencies")
        row = s.get(CurrencyRate, code) or CurrencyRate(currency=code, base=base, rate=str(rate), updated_at="")
        row.base, row.rate, row.updated_at = base, str(rate), now_iso()
        s.add(row)
        out.append({"currency": code, "base": base, "rate": rate})
    s.flush()
    return out


def list_rates(s: Session) -> list[dict]:
    from sqlmodel import select as sm_select

    return [{"currency": r.currency, "base": r.base, "rate": Decimal(r.rate), "updated_at": r.updated_at}
            for r in s.exec(sm_select(CurrencyRate).order_by(CurrencyRate.currency))]


def _factors(s: Session, currencies: set[str | None], target: str) -> dict[str | None, Decimal]:
    """How many units of `target` one unit of each currency is worth, from the rates the user set."""
    rates = {r["currency"]: (r["base"], r["rate"]) for r in list_rates(s)}
    out: dict[str | None, Decimal] = {}
    for code in currencies:
        if code == target:
            out[code] = Decimal(1)
        elif code is None:
            raise InvalidValue("currency", "some leads have a value but no currency, so it cannot be converted",
                               hint="set their currency (leadcli edit ID --currency CUR), or leave out --currency")
        elif code in rates and rates[code][0] == target:
            out[code] = rates[code][1]
        elif target in rates and rates[target][0] == code:
            out[code] = 1 / rates[target][1]
        elif code in rates and target in rates and rates[code][0] == rates[target][0]:
            out[code] = rates[code][1] / rates[target][1]
        else:
            raise InvalidValue("currency", f"no rate to convert {code} into {target}",
                               hint=f"set one: leadcli report rates set {code}=RATE --base {target}")
    return out


# ---------------------------------------------------------------- files: traffic and spend


def read_table_file(path: str | Path, required: Sequence[str], what: str) -> list[dict]:
    """A small CSV (or TSV/semicolon) file as dicts with lower-case, trimmed column names."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"no such {what} file: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LeadcliError(f"cannot read the {what} file {path}: {exc}", hint="give a UTF-8 CSV file") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    names = {(n or "").strip().lower(): n for n in reader.fieldnames or []}
    missing = [c for c in required if c not in names]
    if missing:
        raise LeadcliError(f"the {what} file {path} has no column {', '.join(missing)}",
                           hint=f"its header must name: {', '.join(required)}")
    rows = []
    for line_no, raw in enumerate(reader, start=2):
        row = {key: (raw.get(orig) or "").strip() for key, orig in names.items()}
        if not any(row.values()):
            continue
        row["_line"] = line_no
        rows.append(row)
    return rows


def _number(row: dict, key: str, what: str) -> Decimal:
    text = row.get(key, "")
    if text == "":
        return Decimal(0)
    try:
        value = validate.parse_decimal(text, key)
    except InvalidValue:
        raise LeadcliError(f"{what} file line {row['_line']}: {key} {text!r} is not a number",
                           hint="write plain numbers such as 1200 or 1200.50") from None
    if value < 0:
        raise LeadcliError(f"{what} file line {row['_line']}: {key} {text!r} is negative", hint="fix the file")
    return value


_PERIOD_SHAPES = (("day", 10), ("month", 7), ("year", 4))


def infer_period(labels: Iterable[str]) -> str:
    """The period a file's `period` column is written in: 2026, 2026-Q1, 2026-03 or 2026-03-14."""
    found = set()
    for label in labels:
        if len(label) == 7 and label[4:6].upper() == "-Q":
            found.add("quarter")
            continue
        for period, length in _PERIOD_SHAPES:
            if len(label) == length:
                try:
                    _dt.date.fromisoformat((label + "-01-01")[:10])
                except ValueError:
                    break
                found.add(period)
                break
        else:
            found.add("?")
    if len(found) != 1 or "?" in found:
        raise LeadcliError("the file's period column mixes or misspells periods",
                           hint="write every period the same way: 2026, 2026-Q1, 2026-03 or 2026-03-14")
    return found.pop()


def _counts_by(s: Session, scope: Scope, key_column: str, period: str | None) -> dict[tuple, dict]:
    """Leads, conversions and converted value (cents per currency) per (period of creation, key)."""
    cols = _Columns(scope)
    t = cols.t
    key = func.lower(t.c[key_column])
    keys = [key]
    if period:
        keys.insert(0, period_expr(t.c.created_at, period))
    where = list(scope.filter.clauses(t)) + scope.created_window(t)
    stmt = (select(*keys, t.c.currency, func.count().label("leads"),
                   func.sum(case((cols.is_converted, 1), else_=0)).label("converted"),
                   func.sum(case((cols.is_converted, t.c.value_cents), else_=None)).label("cents"))
            .where(*where).group_by(*keys, t.c.currency))
    out: dict[tuple, dict] = {}
    for row in s.connection().execute(stmt):
        k = tuple(row[:len(keys)])
        entry = out.setdefault(k, {"leads": 0, "converted": 0, "cents": {}})
        entry["leads"] += row.leads
        entry["converted"] += row.converted or 0
        if row.cents is not None:
            entry["cents"][row.currency] = entry["cents"].get(row.currency, 0) + row.cents
    return out


def _file_key(row: dict, period: str | None, key: str) -> tuple:
    value = row.get(key, "").lower() or None
    if period:
        label = row["period"].upper() if period == "quarter" else row["period"]
        return (label, value)
    return (value,)


def traffic(s: Session, scope: Scope, path: str | Path, period: str | None = None) -> list[dict]:
    """Per file row (period, source): visitors, sessions, spend, leads, lead rate per visitor,
    conversions per session, cost per lead."""
    rows = read_table_file(path, ("period", "source", "visitors", "sessions"), "traffic")
    period = period or infer_period(r["period"] for r in rows)
    counts = _counts_by(s, scope, "source", period)
    out = []
    for row in rows:
        visitors, sessions = _number(row, "visitors", "traffic"), _number(row, "sessions", "traffic")
        spend = _number(row, "spend", "traffic") if "spend" in row else None
        found = counts.get(_file_key(row, period, "source"), {"leads": 0, "converted": 0})
        out.append({"period": row["period"], "source": row["source"], "visitors": int(visitors),
                    "sessions": int(sessions), "spend": spend, "leads": found["leads"],
                    "converted": found["converted"], "lead_rate": pct(found["leads"], visitors),
                    "conversions_per_session": pct(found["converted"], sessions),
                    "cost_per_lead": ratio(spend, found["leads"]) if spend is not None else None})
    return out


def cost(s: Session, scope: Scope, path: str | Path, by: str = "source", currency: str | None = None) -> list[dict]:
    """Per file row: spend, leads, conversions, converted value, cost per lead and per conversion, ROI %.

    The file names the key column (`source` by default, or the --by field), `spend`, and optionally
    `period` (then leads are counted by creation period, whatever the window) and `currency`.
    """
    key = GROUP_COLUMNS.get(by.lower())
    if key is None or key in ("status", "score"):
        raise InvalidValue("by", f"cost cannot be split by {by!r}", hint="use source, owner or another lead field",
                           exit_code=2)
    rows = read_table_file(path, (by.lower(), "spend"), "spend")
    period = infer_period(r["period"] for r in rows) if rows and "period" in rows[0] else None
    if period:
        scope = Scope(filter=scope.filter, as_of=scope.as_of)
    counts = _counts_by(s, scope, key, period)
    out = []
    for row in rows:
        spend = _number(row, "spend", "spend")
        found = counts.get(_file_key(row, period, by.lower()), {"leads": 0, "converted": 0, "cents": {}})
        unit = (validate.currency(row["currency"], "currency") if row.get("currency") else None) or currency
        value, unit = _converted_value(s, found["cents"], unit)
        record = {by.lower(): row[by.lower()]}
        if period:
            record = {"period": row["period"], **record}
        record.update({"spend": spend.quantize(Decimal("0.01")), "currency": unit, "leads": found["leads"],
                       "converted": found["converted"], "converted_value": value,
                       "cost_per_lead": ratio(spend, found["leads"]),
                       "cost_per_conversion": ratio(spend, found["converted"]),
                       "roi": pct(value - spend, spend) if value is not None else None})
        out.append(record)
    return out


def _converted_value(s: Session, cents: dict[str | None, int], unit: str | None) -> tuple[Decimal, str | None]:
    if not cents:
        return Decimal("0.00"), unit
    if unit is None:
        if len(cents) > 1:
            raise UsageError(f"converted leads' values are in several currencies ({', '.join(sorted(map(str, cents)))})",
                             hint="add a currency column to the spend file or pass --currency, with rates set by "
                                  "`leadcli report rates set CUR=RATE --base CUR`")
        unit = next(iter(cents))
    factors = _factors(s, set(cents), unit) if unit else {None: Decimal(1)}
    total = sum((Decimal(c) / 100 * factors[code] for code, c in cents.items()), Decimal(0))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), unit


# ---------------------------------------------------------------- report funnel


def funnel(s: Session, scope: Scope, *, strict: bool = False) -> list[dict]:
    """Leads reaching each open stage and conversion, from the status history.

    A lead reached a stage if its history ever shows that stage or a later one (a lead created as
    qualified passed new and contacted); disqualification is not a stage, so a disqualified lead
    counts only at the stages it really reached. `strict`: only leads whose history passes new,
    contacted, qualified, converted in that order (each at or after the one before).
    """
    t = Lead.__table__
    sc = StatusChange.__table__
    where = list(scope.filter.clauses(t)) + scope.created_window(t)
    leads = select(t.c.id).where(*where).subquery("scope")
    history = [sc.c.lead_id == leads.c.id]
    if scope.as_of:
        history.append(sc.c.at <= scope.as_of)
    if not strict:
        rank = case(*((sc.c.to_status == stage, i) for i, stage in enumerate(FUNNEL_STAGES)), else_=None)
        reach = (select(leads.c.id, func.coalesce(func.max(rank), 0).label("reach"))
                 .select_from(leads.outerjoin(sc, and_(*history)))
                 .group_by(leads.c.id).subquery("reach"))
        stmt = select(*(func.sum(case((reach.c.reach >= i, 1), else_=0)) for i in range(len(FUNNEL_STAGES))))
        counts = [c or 0 for c in s.connection().execute(stmt).one()]
    else:
        counts = []
        previous = None
        for stage in FUNNEL_STAGES:
            cond = [*history, sc.c.to_status == stage]
            source = leads.join(sc, and_(*cond))
            if previous is not None:
                source = source.join(previous, previous.c.lead_id == leads.c.id)
                cond_at = sc.c.at >= previous.c.at
            else:
                cond_at = true()
            step = (select(leads.c.id.label("lead_id"), func.min(sc.c.at).label("at"))
                    .select_from(source).where(cond_at).group_by(leads.c.id).subquery(f"at_{stage}"))
            counts.append(s.connection().execute(select(func.count()).select_from(step)).scalar() or 0)
            previous = step
    out = []
    for i, stage in enumerate(FUNNEL_STAGES):
        out.append({"stage": stage, "leads": counts[i],
                    "step_rate": pct(counts[i], counts[i - 1]) if i else pct(counts[0], counts[0]),
                    "cumulative_rate": pct(counts[i], counts[0]),
                    "dropped": (counts[i - 1] - counts[i]) if i else None})
    return out


# ---------------------------------------------------------------- report time-to-convert


def time_to_convert(s: Session, scope: Scope, by: str | None = None) -> list[dict]:
    """Days from creation to conversion of converted leads: median, mean, p90 (per group)."""
    gb = parse_by(by, s)
    cols = _Columns(Scope(filter=scope.filter))
    t = cols.t
    group, source = _group_expr(gb, cols, scope)
    where = list(scope.filter.clauses(t)) + [cols.is_converted, t.c.converted_at.is_not(None)]
    if scope.date_field == "created":
        where += scope.created_window(t)
    else:
        where += scope.period_window(t.c.converted_at)
    days = days_between(t.c.created_at, t.c.converted_at)
    stmt = (select(group.label("grp"), days.label("days")).select_from(source).where(*where)
            .order_by(group, days))
    # Grouped here (percentiles need the values), matching SQL's case-insensitive source/owner/tag.
    nocase = gb.kind == "tag" or gb.column in NOCASE_COLUMNS
    groups: dict[Any, list[float]] = {}
    names: dict[Any, Any] = {}
    for grp, value in s.connection().execute(stmt):
        key = grp.casefold() if nocase and isinstance(grp, str) else grp
        names.setdefault(key, grp)
        groups.setdefault(key, []).append(max(float(value), 0.0))
    out = []
    for key, values in groups.items():
        grp = names[key]
        values.sort()
        out.append({"group": grp, "converted": len(values),
                    "median_days": _round2(quantile(values, 0.5)),
                    "mean_days": _round2(sum(values) / len(values)),
                    "p90_days": _round2(quantile(values, 0.9)),
                    "min_days": _round2(values[0]), "max_days": _round2(values[-1])})
    if gb.is_date:
        return sorted(out, key=lambda r: (r["group"] is None, str(r["group"] or "")))
    return sorted(out, key=lambda r: (r["group"] is None, -r["converted"], str(r["group"] or "").lower()))


def converted_without_date(s: Session, scope: Scope) -> int:
    """Converted leads in the filter whose conversion date is unknown (imported without one):
    `time_to_convert` leaves them out."""
    t = _Columns(Scope(filter=scope.filter)).t
    where = list(scope.filter.clauses(t)) + [t.c.status == "converted", t.c.converted_at.is_(None)]
    return int(s.connection().execute(select(func.count()).select_from(t).where(*where)).scalar() or 0)


# ---------------------------------------------------------------- report lost-reasons


def lost_reasons(s: Session, scope: Scope) -> list[dict]:
    """Disqualified leads by reason (reasons compared ignoring case), with each reason's share."""
    t = Lead.__table__
    reason = func.lower(func.trim(t.c.status_reason))
    where = list(scope.filter.clauses(t)) + scope.created_window(t) + [t.c.status == "disqualified"]
    stmt = (select(reason.label("key"), func.min(func.trim(t.c.status_reason)).label("reason"),
                   func.count().label("leads")).where(*where).group_by(reason))
    rows = [dict(r) for r in s.connection().execute(stmt).mappings()]
    total = sum(r["leads"] for r in rows)
    out = [{"reason": r["reason"] or None, "leads": r["leads"], "share": pct(r["leads"], total)} for r in rows]
    return sorted(out, key=lambda r: (r["reason"] is None, -r["leads"], (r["reason"] or "").lower()))


# ---------------------------------------------------------------- report deals


def deals(s: Session, scope: Scope, by: str | None = "owner") -> list[dict]:
    """Deals created in the window per group: open, won, lost and win rate = won × 100 / (won + lost).

    `by`: owner (the deal's), source (its lead's), status, or created/closed with a period. Deals turned
    back into leads (`reverted`) count among the deals but neither as won nor as lost.
    """
    from leadcli.models import Deal

    d = Deal.__table__
    t = Lead.__table__
    spec = (by or "all").strip().lower()
    name, _, period = spec.partition(":")
    source = d
    if spec == "all":
        group = literal("all", String)
    elif name in ("created", "closed"):
        group = period_expr(d.c[f"{name}_at"], period or "month")
    elif name in ("owner", "status") and not period:
        group = d.c[name]
    elif name == "source" and not period:
        group, source = t.c.source, d.outerjoin(t, t.c.id == d.c.lead_id)
    else:
        raise InvalidValue("by", f"deals cannot be grouped by {by!r}",
                           hint="use owner, source, status, created:month or closed:quarter", exit_code=2)
    where = _window_on(d.c.created_at, scope)
    if scope.filter.owner:
        where.append(d.c.owner == scope.filter.owner)

    def count(status: str) -> Any:
        return func.sum(case((d.c.status == status, 1), else_=0))

    stmt = (select(group.label("grp"), func.count().label("deals"), count("open").label("open"),
                   count("won").label("won"), count("lost").label("lost"))
            .select_from(source).where(*where).group_by(group))
    out = []
    for r in s.connection().execute(stmt).mappings():
        won, lost = r["won"] or 0, r["lost"] or 0
        out.append({"group": r["grp"], "deals": r["deals"], "open": r["open"] or 0, "won": won, "lost": lost,
                    "win_rate": pct(won, won + lost)})
    if name in ("created", "closed"):
        return sorted(out, key=lambda r: (r["group"] is None, str(r["group"] or "")))
    return sorted(out, key=lambda r: (r["group"] is None, -r["deals"], str(r["group"] or "").lower()))


def _window_on(column: Any, scope: Scope) -> list[Any]:
    out = []
    if scope.since:
        out.append(column >= scope.since)
    if scope.until:
        out.append(column <= scope.until)
    return out
