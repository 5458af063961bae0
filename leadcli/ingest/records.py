"""Rows -> lead records, one row at a time: the reference the column-wise builder must equal.

`RowBuilder.build` turns the cells of one CSV row into a staged record (a tuple in `RECORD`
order) or raises InvalidValue naming the column. It is built once per file: the per-row work is
a loop over precomputed (column, converter) pairs. `columnwise.RecordBuilder` adds `build_many`,
the same records built a column at a time, which is what keeps a million-row import in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from leadcli import duplicates, validate
from leadcli.errors import InvalidValue
from leadcli.ingest import columns, values
from leadcli.ingest.columns import Mapping, header_key
from leadcli.ingest.options import ImportOptions
from leadcli.ingest.shape import (
    COMPANY,
    CONVERTED_AT,
    CONVERTED_FLAG,
    CURRENCY,
    DATE_FIELDS,
    EMAIL,
    EMAIL_KEY,
    EXTERNAL_ID,
    FIELDS,
    FIRST,
    LAST,
    MACHINE_NULLS,
    NAME,
    NAME_KEY,
    NAME_SLOTS,
    OWNER,
    PHONE,
    PHONE_KEY,
    RECORD,
    SLOT,
    SOURCE,
    STATUS,
    STATUS_AT,
    STATUS_REASON,
    TEXT_FIELDS,
    UPDATED_AT,
    VALUE,
    to_json,
)

_OPEN = ("new", "contacted", "qualified")
# A value kept verbatim because it did not parse: (column header, the cell as written, why).
Flag = tuple[str, str, str]


def as_written(header: str) -> str:
    """The custom field that keeps a column's value verbatim when it does not parse."""
    return f"{header} (as written)"


class RowBuilder:
    """Turns the cells of one CSV row into a staged record (a tuple in RECORD order).

    A value that does not parse is kept verbatim as the custom field `<Column> (as written)` and
    listed in `flags` (of the last row built); with `--strict`, it raises InvalidValue naming the
    column. A row with no identity at all always raises.
    """

    flags: list[Flag]

    def __init__(self, mp: Mapping, options: ImportOptions, region: str | None = None):
        self.mapping = mp
        self.options = options
        self.width = self.header_width = len(mp.columns)
        self.cache = values.ValueCache(region if region is not None else validate.default_region(),
                                       options.currency.upper() if options.currency else None)
        markers = () if mp.leadcli_export else values.DEFAULT_MISSING
        self.missing = frozenset(m.strip().lower() for m in (*markers, "", *options.missing))
        self.missing_len = max(len(m) for m in self.missing)
        # `Nan` and `Null` are people's names: in name columns only the other markers, the ones
        # given with --missing, and nan/null as programs write them (`NaN`, `NULL`) mean "no value".
        self.name_missing = self.missing - ({"nan", "null"} - {m.strip().lower() for m in options.missing})
        self.machine_nulls = frozenset() if mp.leadcli_export else MACHINE_NULLS  # leadcli's export has none
        self.statuses = values.status_table(options.statuses)
        self.status_cache: dict[str, str] = {}
        self.by_field = mp.by_field()
        self.headers = [c.header for c in mp.columns]
        self.custom = [(c.index, c.key or c.header) for c in mp.columns if c.field == "custom"]
        self.json_keys = {key: to_json(key) for _, key in self.custom}
        self.fields_col = self.by_field.get("fields")
        self.title_col = mp.title_column
        self.split_names = not mp.name_is_title
        self.default_source = validate.clean_text(options.source)
        self.default_owner = validate.clean_text(options.owner)
        self.text = [(SLOT[f], self.by_field[f]) for f in TEXT_FIELDS if f in self.by_field]
        # Without --day-first, each date column's order is set by its first date that fits only one
        # (`29/09/2024`), so one column is never read half day-first and half month-first.
        self.day_order: dict[str, tuple[str, str]] = {}
        self.sniff_dates = [] if options.day_first else \
            [(f, self.by_field[f]) for f in DATE_FIELDS if f in self.by_field]
        self._plan_converters(mp, options.day_first)
        self._plan_status_signals(mp)
        self.blank: list[Any] = [None] * (CONVERTED_FLAG + 1)
        self.fields_memo = _Memo(self._custom_json)
        self.flags = []

    def _plan_converters(self, mp: Mapping, day_first: bool) -> None:
        """The (column, slots, converter, header) list a row is run through, its fallbacks and column forms."""
        # Converters: field -> (the slots they fill, a function of the trimmed cell giving their value(s)).
        converters: dict[str, tuple[tuple[int, ...], Callable[[str], Any]]] = {
            "email": ((SLOT["email"], SLOT["email_key"]), validate.email),
            "phone": ((SLOT["phone"], SLOT["phone_key"]), self.cache.phone),
            "value": ((SLOT["value_cents"],), self.cache.money_cents),
            "currency": ((SLOT["currency"],), self.cache.currency_code),
            **{f: ((SLOT[f],), self._date_converter(f, day_first)) for f in DATE_FIELDS},
            "status": ((SLOT["status"],), self._status),
            "converted": ((CONVERTED_FLAG,), lambda v: values.parse_bool(v, "converted")),
            "score": ((SLOT["score"],), values.score),
            "grade": ((SLOT["grade"],), values.grade),
            "tags": ((SLOT["tags"],), (lambda v: values.tags(v, True)) if mp.leadcli_export else values.tags),
        }
        self.convert = [(self.by_field[f], slots, fn, self.headers[self.by_field[f]])
                        for f, (slots, fn) in converters.items() if f in self.by_field]
        # (slots, converter, columns to try in order) for a phone or e-mail missing from its column.
        self.fallbacks = [(converters[f][0], converters[f][1], indexes) for f, indexes in mp.fallbacks.items()]
        if "value" in self.by_field and "currency" not in self.by_field:
            # No currency column: an amount written `1.234,56 €` or `EUR 1,234` still says which.
            idx = self.by_field["value"]
            self.convert.append((idx, (SLOT["currency"],), self.cache.amount_currency, self.headers[idx]))
        # Whole-column versions of the converters of high-cardinality columns (see build_many).
        many = {"email": validate.emails, "phone": self.cache.phone_column,
                **dict.fromkeys(DATE_FIELDS, values.parse_dates)}
        self.convert_many = {self.by_field[f]: fn for f, fn in many.items() if f in self.by_field}

    def _plan_status_signals(self, mp: Mapping) -> None:
        """The columns besides the status that decide a row's status and the date it closed."""
        keys = [(c.index, c.header, header_key(c.header)) for c in mp.columns if c.field == "custom" and c.header]
        self.lifecycle_col = next((i for i, _, k in keys if k in columns.LIFECYCLE), None)
        sources: dict[int, str] = {}
        for group in (columns.CONVERSION_DATES, columns.CLOSE_DATES, columns.STAGE_DATES):
            sources.update((i, h) for i, h, k in keys if k in group and i not in sources)
        self.date_sources = list(sources.items())
        self.lost_reason = "status_reason" in self.by_field and not mp.leadcli_export
        self.status_extras = self.lifecycle_col is not None or bool(self.date_sources) or self.lost_reason
        by_field = self.by_field
        self.converted_header = self.headers[by_field["converted_at"]] if "converted_at" in by_field else None
        self.updated_header = self.headers[by_field["updated_at"]] if "updated_at" in by_field else None
        self.dated_by: str | None = None

    def _signals(self, status: str, rec: list, cells: list[str]) -> str:
        """A lifecycle stage of Opportunity/Customer/Evangelist converts whatever the status says and
        moves an open status forward; a lost reason disqualifies an open row."""
        if self.lifecycle_col is not None:
            v = header_key(cells[self.lifecycle_col])
            # HubSpot: at Opportunity, Customer or Evangelist a deal exists: the lead is converted.
            life = "converted" if v in ("opportunity", "customer", "evangelist") else self.statuses.get(v)
            if life == "converted":
                return "converted"
            if life in _OPEN and status in _OPEN and _OPEN.index(life) > _OPEN.index(status):
                status = life
        if self.lost_reason and rec[STATUS_REASON] and status in _OPEN:
            status = "disqualified"
        return status

    def _close_date(self, rec: list, cells: list[str], status: str) -> tuple[str | None, str | None]:
        """When a closed row closed, and the column that says so: its conversion date, else the
        close date, the last status change, the last modification; else unknown (never today)."""
        if status == "converted" and (rec[CONVERTED_AT] or self.mapping.leadcli_export):
            # leadcli's own export says when, or that nobody knows (an empty converted_at).
            return rec[CONVERTED_AT], self.converted_header if rec[CONVERTED_AT] else None
        for idx, header in self.date_sources:
            v = cells[idx].strip()
            if v and (len(v) > self.missing_len or v.lower() not in self.missing):
                try:
                    return values.parse_date(v, header, self.options.day_first), header
                except InvalidValue as exc:
                    self._flag(exc, header, v)  # the row's date is this column's, and it is no date
        if rec[UPDATED_AT]:
            return rec[UPDATED_AT], self.updated_header
        return None, None

    def _date_converter(self, fld: str, day_first: bool) -> Callable[[str], str]:
        # Reads the column's day order when called: `build_many` sniffs it from each chunk.
        return lambda v: values.parse_date(v, fld, day_first, self.day_order.get(fld))

    def _status(self, v: str) -> str:
        status = self.status_cache.get(v)
        if status is None:
            status = self.statuses.get(header_key(v))
            if status is None:
                raise InvalidValue("status", f"{v!r} is not a status leadcli knows",
                                   hint=f'map it, e.g. --status-map "{v}=contacted"')
            self.status_cache[v] = status
        return status

    def build(self, cells: list[str]) -> tuple:
        if len(cells) != self.width:
            cells = self._fit(cells)
        if "'" in "".join(cells):
            cells = [values.unneutralise(c) for c in cells]
        missing, mlen = self.missing, self.missing_len
        rec = self.blank.copy()
        for slot, idx in self.text:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in (self.name_missing if slot in NAME_SLOTS else missing)) \
                    and not (slot in NAME_SLOTS and v in self.machine_nulls):
                rec[slot] = v
        self.flags = flags = []
        if len(cells) > self.header_width and any(c.strip() for c in cells[self.header_width:]):
            # More cells than the header (an unquoted comma shifted them): kept, and the row flagged.
            extra = [c for c in cells[self.header_width:] if c.strip()]
            flags.append(("row", ", ".join(extra), f"{len(cells)} cells for {self.header_width} columns; the extra "
                                                   f"cells are kept as `column N`"))
        for idx, slots, fn, header in self.convert:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                try:
                    value = fn(v)
                except InvalidValue as exc:
                    value = self._flag(exc, header, v)
                    if value is None:
                        continue
                if len(slots) == 1:
                    rec[slots[0]] = value
                else:
                    rec[slots[0]], rec[slots[1]] = value
        for slots, fn, indexes in self.fallbacks:
            if rec[slots[0]] is None:
                rec[slots[0]], rec[slots[1]] = self._fallback([cells[i] for i in indexes], fn)
        split = self.split_names
        if self.title_col is not None and rec[NAME] is None and rec[FIRST] is None and rec[LAST] is None:
            v = cells[self.title_col].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                rec[NAME], split = v, False  # no person: the lead's title names it
        fields = {}
        if self.fields_col is not None:
            raw = cells[self.fields_col].strip()
            try:
                fields = self._json_fields(raw)
            except InvalidValue as exc:
                self._flag(exc, self.headers[self.fields_col], raw)
        for idx, key in self.custom:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                fields[key] = v
        for header, v, _ in flags:
            if header != "row":
                fields[as_written(header)] = v
        rec[FIELDS] = self._fields_json(fields) if fields else "{}"
        return self._finish(rec, split, cells)

    def _flag(self, exc: InvalidValue, header: str, text: str) -> Any:
        """A value that does not parse: kept verbatim and flagged (or, with --strict, the row's error).

        Returns the part of it that did parse (the first of two phones in one cell), else None.
        """
        if self.options.strict:
            raise InvalidValue(header, exc.reason, exc.hint) from None
        if all(f[0] != header for f in self.flags):
            self.flags.append((header, text, exc.reason))
        return getattr(exc, "value", None)

    def _fallback(self, cells: list[str], fn: Callable) -> tuple[Any, Any]:
        """The first of `cells` that converts (a bad one is only skipped: it stays a custom field)."""
        for cell in cells:
            v = cell.strip()
            if v and (len(v) > self.missing_len or v.lower() not in self.missing):
                try:
                    return fn(v)
                except InvalidValue:
                    continue
        return None, None

    def _finish(self, rec: list, split: bool = True, cells: list[str] | None = None) -> tuple:
        name, first, last = rec[NAME], rec[FIRST], rec[LAST]
        if name is None and (first or last):
            rec[NAME] = name = " ".join(p for p in (first, last) if p)
        elif name and first is None and last is None and split:
            rec[FIRST], rec[LAST] = validate.split_name(name)
        keyed = rec[EMAIL_KEY] or rec[PHONE_KEY] or rec[EXTERNAL_ID]
        # A placeholder e-mail or phone is no key, but it is still someone's: the row is a lead.
        if not (name or keyed or rec[COMPANY] or rec[EMAIL] or rec[PHONE]):
            raise InvalidValue("row", "a lead needs a name, e-mail, phone, company or external id",
                               hint="fill one of them, or map the column that holds it with --map")
        if rec[CURRENCY] is None and rec[VALUE] is not None:
            rec[CURRENCY] = self.cache.default_currency
        if rec[SOURCE] is None:
            rec[SOURCE] = self.default_source
        if rec[OWNER] is None:
            rec[OWNER] = self.default_owner
        status = rec[STATUS]
        converted_at = rec[CONVERTED_AT]
        if rec[-1] and status != "converted":
            status = "converted"
        elif status is None:
            status = "converted" if converted_at else "new"
        elif converted_at and status in ("new", "contacted", "qualified"):
            status = "converted"
        if self.status_extras and cells is not None:
            status = self._signals(status, rec, cells)
        rec[STATUS] = status
        self.dated_by = None
        if status in ("converted", "disqualified"):
            at, self.dated_by = self._close_date(rec, cells or [], status)
            rec[STATUS_AT] = at
            rec[CONVERTED_AT] = at if status == "converted" else None
        else:
            rec[CONVERTED_AT] = None
            rec[STATUS_AT] = rec[UPDATED_AT]
        if status in _OPEN and not self.mapping.leadcli_export:
            rec[STATUS_REASON] = None
        if name and not keyed:
            rec[NAME_KEY] = duplicates.name_key(name, rec[COMPANY])
        del rec[CONVERTED_FLAG]
        return tuple(rec)

    def _json_fields(self, raw: str) -> dict[str, Any]:
        if not raw or raw.lower() in self.missing:
            return {}
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            header = self.headers[self.fields_col] if self.fields_col is not None else "fields"
            raise InvalidValue(header, f"{raw[:40]!r} is not a JSON object of custom fields",
                               hint='leadcli writes them as {"Industry": "Retail"}')
        return parsed

    def _fit(self, cells: list[str]) -> list[str]:
        width = self.width
        if len(cells) < width:
            return cells + [""] * (width - len(cells))
        for i in range(width, len(cells)):
            if cells[i].strip():
                # A value under no header (a row longer than the header) is kept, not dropped.
                self.width = len(cells)
                while len(self.headers) < len(cells):
                    n = len(self.headers)
                    self.headers.append(f"column {n + 1}")
                    self.custom.append((n, f"column {n + 1}"))
                return cells
        return cells[:width]

    def as_dict(self, record: tuple) -> dict[str, Any]:
        out = dict(zip(RECORD, record, strict=False))
        out["fields"] = json.loads(out["fields"])
        out["tags"] = json.loads(out["tags"]) if out["tags"] else []
        return out

    def _custom_json(self, cells: tuple) -> str:
        fields = {key: v for (_, key), v in zip(self.custom, cells, strict=False) if v is not None}
        return self._fields_json(fields) if fields else "{}"

    def _fields_json(self, fields: dict[str, Any]) -> str:
        # The custom fields of a CSV row are plain strings under fixed keys: written directly when
        # nothing needs escaping, which is several times faster than the json module.
        parts = []
        keys = self.json_keys
        for key, value in fields.items():
            k = keys.get(key)
            if k is None or not isinstance(value, str) or not value.isprintable() or '"' in value or "\\" in value:
                return to_json(fields)
            parts.append(f'{k}: "{value}"')
        return "{" + ", ".join(parts) + "}"


class _Memo(dict):
    """A dict that computes a missing key's value with `fn` (bounded: cleared when it grows large)."""

    def __init__(self, fn: Callable[[Any], Any], limit: int = 100_000):
        super().__init__()
        self.fn = fn
        self.limit = limit

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.fn(key)
        return value
