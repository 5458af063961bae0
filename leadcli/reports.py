"""Reports: SQL aggregations over the lead table and its status history -> plain rows. Never prints.

Every report is a GROUP BY in SQLAlchemy Core over indexed columns (migration 5 adds the covering
indexes); only small results (groups, or the durations of converted leads for percentiles) reach
Python. Date bucketing works on the ISO-8601 UTC text timestamps (`YYYY-MM-DDTHH:MM:SSZ`); the two
bits that need date arithmetic (week starts, days between) compile per dialect, so the same code
runs on SQLite and PostgreSQL. Sources, owners, companies and tags are grouped ignoring case with
an explicit lower(). The arithmetic is `report_math`, what a report counts and how it groups
`report_scope`, currency rates and the file-reading reports `report_files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, func, literal, or_, select, true

from leadcli import validate
from leadcli.errors import InvalidValue, NotFound
from leadcli.models import Lead, StatusChange
from leadcli.report_files import _factors, cost, infer_period, list_rates, read_table_file, set_rates, traffic
from leadcli.report_math import (
    PERIODS,
    Fixed2,
    _round2,
    byte_order,
    cents_to_money,
    days_between,
    pct,
    period_expr,
    period_of,
    quantile,
    ratio,
)
from leadcli.report_scope import (
    CASE_FREE_COLUMNS,
    DATE_FIELDS,
    FUNNEL_STAGES,
    GROUP_COLUMNS,
    NONE_LABEL,
    GroupBy,
    Scope,
    _case_free,
    _Columns,
    _folded,
    _group_expr,
    _sort,
    default_scope,
    parse_by,
)

if TYPE_CHECKING:
    from sqlmodel import Session

# The report API in one place: the helpers live in report_math, report_scope and report_files.
__all__ = [
    "CASE_FREE_COLUMNS", "DATE_FIELDS", "FUNNEL_STAGES", "GROUP_COLUMNS", "NONE_LABEL", "PERIODS", "Conversion",
    "Fixed2", "GroupBy", "Scope", "cents_to_money", "conversion", "conversion_overall", "cost", "days_between",
    "deals", "default_scope", "drill", "funnel", "infer_period", "list_rates", "lost_reasons", "parse_by", "pct",
    "period_expr", "period_of", "quantile", "ratio", "read_table_file", "set_rates", "time_to_convert", "traffic",
]


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
    total: Any
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
    case_free = _case_free(gb)
    columns = [group.label("grp"), total.label("total"), converted.label("converted")]
    if case_free:
        columns.append(func.min(byte_order(group)).label("label"))
    keys = [group]
    if by_currency:
        columns += [t.c.currency.label("currency"), total_value.label("total_cents"),
                    converted_value.label("converted_cents")]
        keys.append(t.c.currency)
    stmt = select(*columns).select_from(source).where(*where).group_by(*keys)
    rows = s.connection().execute(stmt).mappings().all()
    return _folded(rows, by_currency) if case_free else rows



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
    nocase = _case_free(gb)
    if target is None and len(valued) > 1:
        codes = sorted(c or NONE_LABEL for c in valued)
        notes.append(f"values are in {len(valued)} currencies ({', '.join(codes)}) and are shown in columns per "
                     "currency; set rates with `leadcli report rates set CUR=RATE` and pass --currency to add "
                     "them up")
        return Conversion(_per_currency_rows(raw, codes, gb, nocase), {}, gb, measure, None, notes, codes) \
            ._with_overall()
    unit = target or (next(iter(valued)) if valued else None)
    factors = _factors(s, set(valued), target) if target else {}
    merged: dict[Any, dict] = {}
    for r in raw:
        key = r["grp"].casefold() if nocase and isinstance(r["grp"], str) else r["grp"]
        row = merged.setdefault(key, {"group": r["grp"], "total": 0, "converted": 0, "currency": unit,
                                      "total_value": Decimal(0), "converted_value": Decimal(0)})
        row["group"] = _first_label(row["group"], r["grp"])
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


def _first_label(label: Any, other: Any) -> Any:
    """Of two spellings of one case-free group, the one first in byte order (as `byte_order` in SQL)."""
    if isinstance(label, str) and isinstance(other, str):
        return min(label, other)
    return label


def _per_currency_rows(raw: Sequence[Any], codes: list[str], gb: GroupBy, nocase: bool) -> list[dict]:
    """One row per group: its leads, conversions and rate, then each currency's values."""
    merged: dict[Any, dict] = {}
    for r in raw:
        key = r["grp"].casefold() if nocase and isinstance(r["grp"], str) else r["grp"]
        row = merged.setdefault(key, {"group": r["grp"], "total": 0, "converted": 0, "cents": {}})
        row["group"] = _first_label(row["group"], r["grp"])
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
    if total_value is None or converted_value is None:
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
    cond: Any
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


# ---------------------------------------------------------------- report funnel


def funnel(s: Session, scope: Scope, *, strict: bool = False) -> list[dict]:
    """Leads reaching each open stage and conversion, from the status history.

    A lead reached a stage if its history ever shows that stage or a later one (a lead created as
    qualified passed new and contacted); disqualification is not a stage, so a disqualified lead
    counts only at the stages it really reached. `strict`: only leads whose history passes new,
    contacted, qualified, converted in that order (each at or after the one before).
    """
    t = Lead.metadata.tables["lead"]
    sc = StatusChange.metadata.tables["status_change"]
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
    nocase = _case_free(gb)
    stmt = (select(group.label("grp"), days.label("days")).select_from(source).where(*where)
            .order_by(func.lower(group) if nocase else group, days))
    # Grouped here (percentiles need the values), ignoring the case of source/owner/company/tag.
    groups: dict[Any, list[float]] = {}
    names: dict[Any, Any] = {}
    for grp, value in s.connection().execute(stmt):
        key = grp.casefold() if nocase and isinstance(grp, str) else grp
        names[key] = _first_label(names.get(key, grp), grp)
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
    t = Lead.metadata.tables["lead"]
    reason = func.lower(func.trim(t.c.status_reason))
    where = list(scope.filter.clauses(t)) + scope.created_window(t) + [t.c.status == "disqualified"]
    stmt = (select(reason.label("key"), func.min(byte_order(func.trim(t.c.status_reason))).label("reason"),
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
    t = Lead.metadata.tables["lead"]
    spec = (by or "all").strip().lower()
    name, _, period = spec.partition(":")
    source: Any = d
    group: Any
    if spec == "all":
        group = literal("all", String)
    elif name in ("created", "closed"):
        group = period_expr(d.c[f"{name}_at"], period or "month")
    elif name == "status" and not period:
        group = d.c.status
    elif name == "owner" and not period:
        group = func.lower(d.c.owner)
    elif name == "source" and not period:
        group, source = func.lower(t.c.source), d.outerjoin(t, t.c.id == d.c.lead_id)
    else:
        raise InvalidValue("by", f"deals cannot be grouped by {by!r}",
                           hint="use owner, source, status, created:month or closed:quarter", exit_code=2)
    where = _window_on(d.c.created_at, scope)
    if scope.filter.owner:
        where.append(func.lower(d.c.owner) == scope.filter.owner.lower())

    def count(status: str) -> Any:
        return func.sum(case((d.c.status == status, 1), else_=0))

    stmt = (select(group.label("grp"), func.count().label("deals"), count("open").label("open"),
                   count("won").label("won"), count("lost").label("lost"))
            .select_from(source).where(*where).group_by(group))
    rows = s.connection().execute(stmt).mappings().all()
    labels = _deal_labels(s, rows, name, source, where) if name in ("owner", "source") and not period else {}
    out = []
    for r in rows:
        won, lost = r["won"] or 0, r["lost"] or 0
        out.append({"group": labels.get(r["grp"], r["grp"]), "deals": r["deals"], "open": r["open"] or 0,
                    "won": won, "lost": lost, "win_rate": pct(won, won + lost)})
    if name in ("created", "closed"):
        return sorted(out, key=lambda r: (r["group"] is None, str(r["group"] or "")))
    return sorted(out, key=lambda r: (r["group"] is None, -r["deals"], str(r["group"] or "").lower()))


def _deal_labels(s: Session, rows: Sequence[Any], name: str, source: Any, where: list) -> dict[str, str]:
    """The spelling of each case-free owner or source group: that of its oldest deal."""
    from leadcli.models import Deal

    d, t = Deal.__table__, Lead.metadata.tables["lead"]
    column = d.c.owner if name == "owner" else t.c.source
    first = (select(func.min(d.c.id)).select_from(source).where(*where)
             .group_by(func.lower(column)).having(func.lower(column).is_not(None)))
    stmt = select(column).select_from(source).where(d.c.id.in_(first))
    return {value.lower(): value for (value,) in s.connection().execute(stmt) if value is not None}


def _window_on(column: Any, scope: Scope) -> list[Any]:
    out = []
    if scope.since:
        out.append(column >= scope.since)
    if scope.until:
        out.append(column <= scope.until)
    return out
