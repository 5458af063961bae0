"""Report arithmetic: periods of ISO timestamps (portable per dialect), percentages, money, quantiles."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from leadcli.errors import InvalidValue

if TYPE_CHECKING:
    pass

PERIODS = ("day", "week", "month", "quarter", "year")


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


class byte_order(FunctionElement):
    """A text column compared byte by byte (upper case before lower), whatever the column's or the database's
    collation: `min(byte_order(col))` picks the same spelling on SQLite and on PostgreSQL."""

    type = String()
    name = "byte_order"
    inherit_cache = True


@compiles(byte_order)
def _byte_order_sqlite(element, compiler, **kw):
    return f"({compiler.process(list(element.clauses)[0], **kw)} COLLATE BINARY)"


@compiles(byte_order, "postgresql")
def _byte_order_pg(element, compiler, **kw):
    return f"({compiler.process(list(element.clauses)[0], **kw)} COLLATE \"C\")"


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
