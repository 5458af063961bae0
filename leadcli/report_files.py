"""Currency rates, and the reports that read a file beside the database: traffic and spend."""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from leadcli import validate
from leadcli.errors import InvalidValue, LeadcliError, NotFound, UsageError
from leadcli.models import CurrencyRate
from leadcli.report_math import pct, period_expr, ratio
from leadcli.report_scope import GROUP_COLUMNS, Scope, _Columns

if TYPE_CHECKING:
    from sqlmodel import Session


# ---------------------------------------------------------------- currency rates


def set_rates(s: Session, pairs: Iterable[str], base: str) -> list[dict]:
    from leadcli.store import now_iso

    base_code: Any = validate.currency(base, "base")
    out = []
    for item in pairs:
        name, text = validate.key_value(item, "rate")
        code: Any = validate.currency(name, "rate")
        rate = validate.parse_decimal(text, "rate")
        if not rate.is_finite() or rate >= 10**12:
            raise InvalidValue("rate", f"{item!r} is not a usable rate", hint="write it as EUR=1.08")
        if rate <= 0:
            raise InvalidValue("rate", f"{item!r}: a rate must be above 0", hint="write it as EUR=1.08")
        if code == base_code:
            raise InvalidValue("rate", f"{code} is the base currency", hint="set rates of other currencies")
        row = s.get(CurrencyRate, code) or CurrencyRate(currency=code, base=base_code, rate=str(rate),
                                                        updated_at="")
        row.base, row.rate, row.updated_at = base_code, str(rate), now_iso()
        s.add(row)
        out.append({"currency": code, "base": base_code, "rate": rate})
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
                               hint=f"set one: leadcli report rates set {code}=RATE --base {target}",
                               exit_code=1)  # the database lacks a rate: not a bad option value
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
    if not value.is_finite() or value >= 10**15:
        raise LeadcliError(f"{what} file line {row['_line']}: {key} {text!r} is not a usable number",
                           hint="write plain numbers below a quadrillion, such as 1200 or 1200.50")
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
            codes = ", ".join(sorted(map(str, cents)))
            raise UsageError(f"converted leads' values are in several currencies ({codes})",
                             hint="add a currency column to the spend file or pass --currency, with rates set by "
                                  "`leadcli report rates set CUR=RATE --base CUR`")
        unit = next(iter(cents))
    factors: dict[Any, Decimal] = _factors(s, set(cents), unit) if unit else {None: Decimal(1)}
    total = sum((Decimal(c) / 100 * factors[code] for code, c in cents.items()), Decimal(0))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), unit
