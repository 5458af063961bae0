"""The import pipeline: read -> map -> validate -> dedupe -> write. Returns a report; never prints.

How a run keeps the database safe and other commands responsive:

1. *Stage* (no write lock): the file is streamed, each row mapped and validated in Python, and
   the clean rows written in chunks into a TEMP table on the run's own connection. Temp tables
   live outside the database file, so an interactive `add` can write meanwhile. Invalid rows go
   to the rejects file; over `--max-rejects` the run stops here, having written nothing.
2. *Write* (one BEGIN IMMEDIATE transaction): in-file duplicates and matches against existing
   leads are found set-based in SQL on the indexed keys (e-mail key, phone key, external id);
   new leads, their status history and tags are inserted with INSERT ... SELECT; updates of
   existing leads (merge/update) are logged with their previous values; the run is recorded.
   A crash, Ctrl-C or kill -9 at any moment leaves the database exactly as it was.

`read_rows()` is the same reader and mapper without a database, for commands that score or
preview a CSV without importing it.
"""

from __future__ import annotations

import csv
import gc
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadcli import csvread, mapping, validate
from leadcli.errors import InvalidValue, LeadcliError, NotFound, UsageError
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.store import Store

DUPLICATE_MODES = ("skip", "merge", "update", "create")
MATCH_KEYS = {"email": "email_key", "phone": "phone_key", "external_id": "external_id"}
CHUNK = 20_000

# The staged record, in this order (also the keys of `read_rows` records).
RECORD = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company", "title",
          "source", "owner", "value_cents", "currency", "status", "status_reason", "status_at", "converted_at",
          "notes", "external_id", "tags", "fields", "created_at", "updated_at", "archived_at", "score", "grade",
          "trend", "name_key")
# Lead columns an update may change (merge fills them when empty, update overwrites them).
UPDATABLE = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company", "title",
             "source", "owner", "value_cents", "currency", "notes", "external_id", "created_at", "score", "grade",
             "trend")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class TooManyRejects(LeadcliError):
    """More invalid rows than `--max-rejects` allows: nothing was written."""

    report: ImportReport | None = None


@dataclass
class ImportOptions:
    encoding: str = "auto"
    delimiter: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)  # CSV column -> field (--map / --mapping)
    statuses: dict[str, str] = field(default_factory=dict)  # source status -> leadcli status
    match: tuple[str, ...] = ("email", "phone", "external_id")
    on_duplicate: str = "skip"
    source: str | None = None  # for rows without one
    owner: str | None = None
    dry_run: bool = False
    rejects_path: str | None = None
    max_rejects: str | int = 0  # N rows, or "P%" of the rows read
    day_first: bool = False
    missing: list[str] = field(default_factory=list)  # extra missing-value markers
    reprocess: bool = False  # read every row even when this exact file was imported before
    typed_columns: set[str] = field(default_factory=set)  # columns named by --map: a typo is an error

    def fingerprint(self) -> str:
        """What decides a run's outcome, to recognise the same file imported the same way."""
        import hashlib

        what = {"match": list(self.match), "on_duplicate": self.on_duplicate, "columns": self.columns,
                "statuses": self.statuses, "source": self.source, "owner": self.owner, "day_first": self.day_first,
                "missing": sorted(self.missing), "encoding": self.encoding, "delimiter": self.delimiter}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def check(self) -> None:
        if self.on_duplicate not in DUPLICATE_MODES:
            raise UsageError(f"--on-duplicate {self.on_duplicate!r} is not one of {', '.join(DUPLICATE_MODES)}",
                             hint="skip keeps the existing lead, merge fills its empty fields, update overwrites "
                                  "them, create imports a new lead anyway")
        for key in self.match:
            if key not in MATCH_KEYS:
                raise UsageError(f"--match {key!r} is not a key", hint="use any of: email, phone, external_id")
        reject_limit(self.max_rejects, 100)

    def recorded(self) -> dict[str, Any]:
        """The options worth keeping with the run (for `import runs`)."""
        out = {"match": list(self.match), "on_duplicate": self.on_duplicate, "fingerprint": self.fingerprint()}
        for key in ("source", "owner", "rejects_path"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.columns:
            out["columns"] = self.columns
        if self.statuses:
            out["statuses"] = self.statuses
        if self.day_first:
            out["day_first"] = True
        if self.max_rejects not in (0, "0"):
            out["max_rejects"] = str(self.max_rejects)
        return out


def reject_limit(value: str | int, rows: int) -> int:
    text = str(value).strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 <= pct <= 100:
                raise ValueError
            return int(rows * pct / 100)
        limit = int(text)
        if limit < 0:
            raise ValueError
        return limit
    except ValueError:
        raise UsageError(f"--max-rejects {value!r} is not a count or a percentage",
                         hint="give a number of rows (10) or a share of them (1%)") from None


@dataclass
class ImportReport:
    file: str
    encoding: str
    delimiter: str
    mapping: mapping.Mapping
    sha256: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    run_id: int | None = None
    dry_run: bool = False
    rejects_file: str | None = None
    first_errors: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    same_file_runs: list[int] = field(default_factory=list)
    repeat_of: int | None = None  # the earlier run of this exact file, when the rows were not read again
    sample: list[str] | None = None
    # Wall seconds per phase: reading and checking the rows (no lock held), the write transaction
    # (waiting for the write lock included; other writers wait this long) and folding the
    # write-ahead log into the database file afterwards (no lock held).
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "rows": self.rows, "created": self.created, "updated": self.updated,
                "skipped": self.skipped, "rejected": self.rejected, "encoding": self.encoding,
                "delimiter": self.delimiter, "file": self.file, "sha256": self.sha256, "dry_run": self.dry_run,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


# ---------------------------------------------------------------- rows -> records


_SLOT = {name: i for i, name in enumerate(RECORD)}
(_NAME, _FIRST, _LAST, _EMAIL_KEY, _PHONE_KEY, _EXTERNAL_ID, _COMPANY, _SOURCE, _OWNER, _STATUS, _CONVERTED_AT,
 _STATUS_AT, _UPDATED_AT, _STATUS_REASON, _FIELDS, _NAME_KEY) = (
    _SLOT[n] for n in ("name", "first_name", "last_name", "email_key", "phone_key", "external_id", "company", "source",
                       "owner", "status", "converted_at", "status_at", "updated_at", "status_reason", "fields",
                       "name_key"))
_NAME_SLOTS = frozenset((_NAME, _FIRST, _LAST))
_DATE_FIELDS = ("created_at", "updated_at", "converted_at", "archived_at")
_MACHINE_NULLS = frozenset(("nan", "NaN", "NAN", "null", "NULL"))
# json.dumps with options builds a new encoder per call; one shared encoder is several times faster.
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_TEXT_FIELDS = ("name", "first_name", "last_name", "company", "title", "source", "owner", "status_reason", "notes",
                "external_id", "trend")


class RecordBuilder:
    """Turns the cells of one CSV row into a staged record (a tuple in RECORD order).

    Built once per file: the per-row work is a loop over precomputed (column, converter) pairs,
    which is what keeps a million-row import in seconds. Raises InvalidValue naming the column.
    """

    def __init__(self, mp: mapping.Mapping, options: ImportOptions, region: str | None = None):
        self.mapping = mp
        self.options = options
        self.width = len(mp.columns)
        self.cache = mapping.ValueCache(region if region is not None else validate.default_region())
        markers = () if mp.leadcli_export else mapping.DEFAULT_MISSING
        self.missing = frozenset(m.strip().lower() for m in (*markers, "", *options.missing))
        self.missing_len = max(len(m) for m in self.missing)
        # `Nan` and `Null` are people's names: in name columns only the other markers, the ones
        # given with --missing, and nan/null as programs write them (`NaN`, `NULL`) mean "no value".
        self.name_missing = self.missing - ({"nan", "null"} - {m.strip().lower() for m in options.missing})
        self.machine_nulls = frozenset() if mp.leadcli_export else _MACHINE_NULLS  # leadcli's export has none
        self.statuses = mapping.status_table(options.statuses)
        self.status_cache: dict[str, str] = {}
        self.by_field = mp.by_field()
        self.headers = [c.header for c in mp.columns]
        self.custom = [(c.index, c.key) for c in mp.columns if c.field == "custom"]
        self.json_keys = {key: _to_json(key) for _, key in self.custom}
        self.fields_col = self.by_field.get("fields")
        self.title_col = mp.title_column
        self.split_names = not mp.name_is_title
        self.default_source = validate.clean_text(options.source)
        self.default_owner = validate.clean_text(options.owner)
        self.text = [(_SLOT[f], self.by_field[f]) for f in _TEXT_FIELDS if f in self.by_field]
        day_first = options.day_first
        # Without --day-first, each date column's order is set by its first date that fits only one
        # (`29/09/2024`), so one column is never read half day-first and half month-first.
        self.day_order: dict[str, tuple[str, str]] = {}
        self.sniff_dates = [] if day_first else [(f, self.by_field[f]) for f in _DATE_FIELDS if f in self.by_field]
        flag = len(RECORD)  # the converted flag, after the record's slots
        # Converters: field -> (the slots they fill, a function of the trimmed cell giving their value(s)).
        converters: dict[str, tuple[tuple[int, ...], Callable[[str], Any]]] = {
            "email": ((_SLOT["email"], _SLOT["email_key"]), validate.email),
            "phone": ((_SLOT["phone"], _SLOT["phone_key"]), self.cache.phone),
            "value": ((_SLOT["value_cents"],), self.cache.money_cents),
            "currency": ((_SLOT["currency"],), self.cache.currency_code),
            **{f: ((_SLOT[f],), lambda v, f=f: mapping.parse_date(v, f, day_first, self.day_order.get(f)))
               for f in _DATE_FIELDS},
            "status": ((_SLOT["status"],), self._status),
            "converted": ((flag,), lambda v: mapping.parse_bool(v, "converted")),
            "score": ((_SLOT["score"],), _score),
            "grade": ((_SLOT["grade"],), _grade),
            "tags": ((_SLOT["tags"],), _tags),
        }
        self.convert = [(self.by_field[f], slots, fn, self.headers[self.by_field[f]])
                        for f, (slots, fn) in converters.items() if f in self.by_field]
        # (slots, converter, columns to try in order) for a phone or e-mail missing from its column.
        self.fallbacks = [(converters[f][0], converters[f][1], indexes) for f, indexes in mp.fallbacks.items()]
        if "value" in self.by_field and "currency" not in self.by_field:
            # No currency column: an amount written `1.234,56 €` or `EUR 1,234` still says which.
            idx = self.by_field["value"]
            self.convert.append((idx, (_SLOT["currency"],), validate.currency_in_amount, self.headers[idx]))
        # Whole-column versions of the converters of high-cardinality columns (see build_many).
        many = {"email": validate.emails, "phone": self.cache.phone_column,
                **dict.fromkeys(_DATE_FIELDS, mapping.parse_dates)}
        self.convert_many = {self.by_field[f]: fn for f, fn in many.items() if f in self.by_field}
        self.blank = [None] * (len(RECORD) + 1)  # + the converted flag
        self.fields_memo = _Memo(self._custom_json)

    def _status(self, v: str) -> str:
        status = self.status_cache.get(v)
        if status is None:
            status = self.statuses.get(mapping.header_key(v))
            if status is None:
                raise InvalidValue("status", f"{v!r} is not a status leadcli knows",
                                   hint=f'map it, e.g. --status-map "{v}=contacted"')
            self.status_cache[v] = status
        return status

    def build(self, cells: list[str]) -> tuple:
        if len(cells) != self.width:
            cells = self._fit(cells)
        if "'" in "".join(cells):
            cells = [unneutralise(c) for c in cells]
        missing, mlen = self.missing, self.missing_len
        rec = self.blank.copy()
        for slot, idx in self.text:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in (self.name_missing if slot in _NAME_SLOTS else missing)) \
                    and not (slot in _NAME_SLOTS and v in self.machine_nulls):
                rec[slot] = v
        for idx, slots, fn, header in self.convert:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                try:
                    value = fn(v)
                except InvalidValue as exc:
                    raise InvalidValue(header, exc.reason, exc.hint) from None
                if len(slots) == 1:
                    rec[slots[0]] = value
                else:
                    rec[slots[0]], rec[slots[1]] = value
        for slots, fn, indexes in self.fallbacks:
            if rec[slots[0]] is None:
                rec[slots[0]], rec[slots[1]] = self._fallback([cells[i] for i in indexes], fn)
        split = self.split_names
        if self.title_col is not None and rec[_NAME] is None and rec[_FIRST] is None and rec[_LAST] is None:
            v = cells[self.title_col].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                rec[_NAME], split = v, False  # no person: the lead's title names it
        fields = {}
        if self.fields_col is not None:
            fields = self._json_fields(cells[self.fields_col].strip())
        for idx, key in self.custom:
            v = cells[idx].strip()
            if v and (len(v) > mlen or v.lower() not in missing):
                fields[key] = v
        rec[_FIELDS] = self._fields_json(fields) if fields else "{}"
        return self._finish(rec, split)

    def build_many(self, rows: list[list[str]]) -> tuple[list[int], list[list], list[tuple[int, InvalidValue]]]:
        """The records of many rows, built column by column: (slots, columns, rejects).

        `columns[k]` holds slot `slots[k]` of RECORD for every valid row, in row order; slots that
        stay empty in every row are left out (SQLite's executemany binds a NULL more slowly than a
        text). `rejects` are (position in `rows`, InvalidValue). Each distinct value of a column is
        converted once. A row the column pass cannot decide alone (an invalid value, a cell
        neutralised with `'`, no identifying value) goes through `build`, so records and errors
        are exactly those of `build`, row by row.
        """
        n = len(rows)
        width = self.width
        lengths = set(map(len, rows))
        if lengths != {width}:
            if max(lengths) > width and any(c.strip() for r in rows if len(r) > width for c in r[width:]):
                return self._build_each(rows)  # a value under no header: `_fit` widens the mapping
            rows = [r if len(r) == width else r[:width] if len(r) > width else r + [""] * (width - len(r))
                    for r in rows]
        cols = list(zip(*rows)) if n else [() for _ in range(width)]
        self._sniff_day_order(cols)
        slow: set[int] = set()
        for col in cols:
            if "'" in "\x00".join(col):
                slow.update(i for i, v in enumerate(col) if v[:1] == "'")
        out: dict[int, list] = {}
        for slot, idx in self.text:
            if slot in _NAME_SLOTS:
                values = self._clean(cols[idx], self.name_missing)
                if not self.machine_nulls.isdisjoint(values):
                    values = [None if v in self.machine_nulls else v for v in values]
                out[slot] = values
            else:
                out[slot] = self._clean(cols[idx])
        flag = None
        missing, mlen = self.missing, self.missing_len
        for idx, slots, fn, _ in self.convert:
            if idx in self.convert_many and self._convert_column(cols[idx], slots, self.convert_many[idx], out):
                continue
            conv: dict[str, Any] = {}
            invalid = []
            for u in set(cols[idx]):
                v = u.strip()
                if v and (len(v) > mlen or v.lower() not in missing):
                    try:
                        conv[u] = fn(v)
                    except InvalidValue:
                        conv[u] = None if len(slots) == 1 else (None, None)
                        invalid.append(u)
                else:
                    conv[u] = None if len(slots) == 1 else (None, None)
            values = list(map(conv.__getitem__, cols[idx]))
            if invalid:
                bad = set(invalid)
                slow.update(i for i, v in enumerate(cols[idx]) if v in bad)
            if len(slots) == 1:
                if slots[0] == len(RECORD):
                    flag = values
                else:
                    out[slots[0]] = values
            else:
                first, second = zip(*values) if n else ((), ())
                out[slots[0]], out[slots[1]] = list(first), list(second)
        for slots, fn, indexes in self.fallbacks:
            main = out.get(slots[0])
            empty = range(n) if main is None else [i for i, v in enumerate(main) if v is None]
            found = {i: got for i in empty if (got := self._fallback([cols[k][i] for k in indexes], fn))[0]}
            if found:
                for slot in slots:
                    out.setdefault(slot, [None] * n)
                for i, (value, key) in found.items():
                    out[slots[0]][i], out[slots[1]][i] = value, key
        titles = self._clean(cols[self.title_col]) if self.title_col is not None else None
        self._finish_many(n, out, flag, slow, titles)
        self._fields_many(rows, cols, out, slow)
        rejects: list[tuple[int, InvalidValue]] = []
        for i in sorted(slow):
            try:
                rec = self.build(rows[i])
            except InvalidValue as exc:
                rejects.append((i, exc))
                continue
            for slot, value in enumerate(rec):
                if slot not in out:
                    if value is None:
                        continue
                    out[slot] = [None] * n
                out[slot][i] = value
        slots = sorted(out)
        columns = [out[s] for s in slots]
        if rejects:
            drop = {i for i, _ in rejects}
            keep = [i for i in range(n) if i not in drop]
            columns = [[c[i] for i in keep] for c in columns]
        return slots, columns, rejects

    def _convert_column(self, col: tuple[str, ...], slots: tuple[int, ...], many: Callable, out: dict) -> bool:
        cleaned = self._clean(col)
        present = cleaned if None not in cleaned else [v for v in cleaned if v is not None]
        try:
            result = many(present)
        except InvalidValue:
            result = None
        if result is None:
            return False  # some value needs the converter itself, and maybe an error message
        parts = (result,) if len(slots) == 1 else result
        for slot, values in zip(slots, parts):
            if present is not cleaned:
                it = iter(values)
                values = [next(it) if v is not None else None for v in cleaned]
            out[slot] = values if isinstance(values, list) else list(values)
        return True

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

    def _sniff_day_order(self, cols: list) -> None:
        for f, idx in self.sniff_dates:
            if f not in self.day_order and idx < len(cols):
                order = mapping.sniff_day_order(cols[idx])
                if order is not None:
                    self.day_order[f] = order

    def _build_each(self, rows: list[list[str]]) -> tuple[list[int], list[list], list[tuple[int, InvalidValue]]]:
        self._sniff_day_order(list(zip(*(r[:self.width] + [""] * (self.width - len(r)) for r in rows))))
        records, rejects = [], []
        for i, cells in enumerate(rows):
            try:
                records.append(self.build(cells))
            except InvalidValue as exc:
                rejects.append((i, exc))
        columns = [list(c) for c in zip(*records)] if records else [[] for _ in RECORD]
        return list(range(len(RECORD))), columns, rejects

    def _clean(self, col: tuple[str, ...], missing: frozenset[str] | None = None) -> list[str | None]:
        """Trimmed cells, None for the missing markers (`self.missing` unless given)."""
        missing, mlen = missing if missing is not None else self.missing, self.missing_len
        sample = col[:200]
        if len(set(sample)) * 2 > len(sample):
            # Mostly distinct values (e-mails, ids, dates): a set of them would cost more than it saves.
            stripped = list(map(str.strip, col))
            if min(map(len, stripped), default=0) > mlen:
                return stripped  # every marker is shorter
            return [v if (v := c.strip()) and (len(v) > mlen or v.lower() not in missing) else None for c in col]
        conv = {u: v if (v := u.strip()) and (len(v) > mlen or v.lower() not in missing) else None
                for u in set(col)}
        return list(map(conv.__getitem__, col))

    def _finish_many(self, n: int, out: dict[int, list], flag: list | None, slow: set[int],
                     titles: list | None = None) -> None:
        """`_finish` for whole columns: names, the identifying-value check, defaults, statuses, name keys."""
        get = out.get
        name, first, last = get(_NAME), get(_FIRST), get(_LAST)
        if name is None:
            if first is not None or last is not None:
                first_col, last_col = first or [None] * n, last or [None] * n
                name = out[_NAME] = [(f"{a} {b}" if b else a) if a else b for a, b in zip(first_col, last_col)]
                if titles is not None:
                    name[:] = [nm if nm is not None else t for nm, t in zip(name, titles)]
        else:
            first = first or [None] * n
            last = last or [None] * n
            split = False
            for i, (nm, a, b) in enumerate(zip(name, first, last)):
                if nm is None:
                    if a or b:
                        name[i] = " ".join(p for p in (a, b) if p)
                    elif titles is not None and titles[i] is not None:
                        name[i] = titles[i]  # no person: the lead's title names it (not split)
                elif a is None and b is None and self.split_names:
                    first[i], last[i] = validate.split_name(nm)
                    split = True
            if split or _FIRST in out:
                out[_FIRST] = first
            if split or _LAST in out:
                out[_LAST] = last
        none = [None] * n
        keys = [c for c in (get(_EMAIL_KEY), get(_PHONE_KEY), get(_EXTERNAL_ID)) if c is not None]
        if not any(None not in c for c in keys):
            # Some rows lack every key: they need a name or a company, and they match by name.
            company = get(_COMPANY) or none
            keyed = [a or b or c for a, b, c in zip(*(keys + [none] * (3 - len(keys))))]
            name_col = name or none
            for i, (k, nm, co) in enumerate(zip(keyed, name_col, company)):
                if not (nm or k or co):
                    slow.add(i)
            if name is not None:
                name_keys = [name_key(nm, co) if nm and not k else None for k, nm, co in zip(keyed, name, company)]
                if any(v is not None for v in name_keys):
                    out[_NAME_KEY] = name_keys
        for slot, default in ((_SOURCE, self.default_source), (_OWNER, self.default_owner)):
            if default is not None:
                col = get(slot)
                out[slot] = [default] * n if col is None else [default if v is None else v for v in col]
        status, converted_at, updated_at = get(_STATUS), get(_CONVERTED_AT), get(_UPDATED_AT)
        reason = get(_STATUS_REASON)
        keep_reason = self.mapping.leadcli_export
        if flag is None and converted_at is None:
            # No converted flag and no conversion date: the file's status stands.
            out[_STATUS] = status = ["new"] * n if status is None else ["new" if s is None else s for s in status]
            if updated_at is not None:
                out[_STATUS_AT] = list(updated_at)
                out[_CONVERTED_AT] = [u if s == "converted" else None for s, u in zip(status, updated_at)]
            if reason is not None and not keep_reason:
                out[_STATUS_REASON] = [r if s == "disqualified" else None for s, r in zip(status, reason)]
            return
        status = status or none
        flag = flag or none
        converted_at = converted_at or none
        updated_at = updated_at or none
        reason = list(reason) if reason is not None else none
        new_status, new_converted, status_at = [], [], []
        for i, (s, f, c, u) in enumerate(zip(status, flag, converted_at, updated_at)):
            if f and s != "converted":
                s = "converted"
            elif s is None:
                s = "converted" if c else "new"
            elif c and s in ("new", "contacted", "qualified"):
                s = "converted"
            new_status.append(s)
            if s == "converted":
                c = c or u
                new_converted.append(c)
                status_at.append(c)
            else:
                new_converted.append(None)
                status_at.append(u)
                if s != "disqualified" and not keep_reason:
                    reason[i] = None
        out[_STATUS], out[_CONVERTED_AT], out[_STATUS_AT] = new_status, new_converted, status_at
        if get(_STATUS_REASON) is not None:
            out[_STATUS_REASON] = reason

    def _fields_many(self, rows: list[list[str]], cols: list[tuple], out: dict[int, list], slow: set[int]) -> None:
        n = len(rows)
        custom = [self._clean(cols[idx]) for idx, _ in self.custom]
        if self.fields_col is None:
            if not custom:
                out[_FIELDS] = ["{}"] * n
            else:
                out[_FIELDS] = list(map(self.fields_memo.__getitem__, zip(*custom)))
            return
        values: list[str | None] = []
        keys = [key for _, key in self.custom]
        for i, (raw, *cells) in enumerate(zip(cols[self.fields_col], *custom)):
            try:
                fields = self._json_fields(raw.strip())
            except InvalidValue:
                slow.add(i)
                values.append(None)
                continue
            for key, v in zip(keys, cells):
                if v is not None:
                    fields[key] = v
            values.append(self._fields_json(fields) if fields else "{}")
        out[_FIELDS] = values

    def _custom_json(self, values: tuple) -> str:
        fields = {key: v for (_, key), v in zip(self.custom, values) if v is not None}
        return self._fields_json(fields) if fields else "{}"

    def _fields_json(self, fields: dict[str, Any]) -> str:
        # The custom fields of a CSV row are plain strings under fixed keys: written directly when
        # nothing needs escaping, which is several times faster than the json module.
        parts = []
        keys = self.json_keys
        for key, value in fields.items():
            k = keys.get(key)
            if k is None or not isinstance(value, str) or not value.isprintable() or '"' in value or "\\" in value:
                return _to_json(fields)
            parts.append(f'{k}: "{value}"')
        return "{" + ", ".join(parts) + "}"

    def _finish(self, rec: list, split: bool = True) -> tuple:
        name, first, last = rec[_NAME], rec[_FIRST], rec[_LAST]
        if name is None and (first or last):
            rec[_NAME] = name = " ".join(p for p in (first, last) if p)
        elif name and first is None and last is None and split:
            rec[_FIRST], rec[_LAST] = validate.split_name(name)
        keyed = rec[_EMAIL_KEY] or rec[_PHONE_KEY] or rec[_EXTERNAL_ID]
        if not (name or keyed or rec[_COMPANY]):
            raise InvalidValue("row", "a lead needs a name, e-mail, phone, company or external id",
                               hint="fill one of them, or map the column that holds it with --map")
        if rec[_SOURCE] is None:
            rec[_SOURCE] = self.default_source
        if rec[_OWNER] is None:
            rec[_OWNER] = self.default_owner
        status = rec[_STATUS]
        converted_at = rec[_CONVERTED_AT]
        if rec[-1] and status != "converted":
            status = "converted"
        elif status is None:
            status = "converted" if converted_at else "new"
        elif converted_at and status in ("new", "contacted", "qualified"):
            status = "converted"
        rec[_STATUS] = status
        if status == "converted":
            rec[_CONVERTED_AT] = rec[_STATUS_AT] = converted_at or rec[_UPDATED_AT]
        else:
            rec[_CONVERTED_AT] = None
            rec[_STATUS_AT] = rec[_UPDATED_AT]
            if status != "disqualified" and not self.mapping.leadcli_export:
                rec[_STATUS_REASON] = None
        if name and not keyed:
            rec[_NAME_KEY] = name_key(name, rec[_COMPANY])
        del rec[-1]
        return tuple(rec)

    def _json_fields(self, raw: str) -> dict[str, Any]:
        if not raw or raw.lower() in self.missing:
            return {}
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidValue(self.headers[self.fields_col], f"{raw[:40]!r} is not a JSON object of custom fields",
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
        out = dict(zip(RECORD, record))
        out["fields"] = json.loads(out["fields"])
        out["tags"] = json.loads(out["tags"]) if out["tags"] else []
        return out


def name_key(name: str | None, company: str | None) -> str | None:
    """The duplicate key of a lead with no e-mail, phone or external id: its name and company."""
    if not name:
        return None
    return f"{' '.join(name.casefold().split())}\x1f{' '.join((company or '').casefold().split())}"


def _grade(value: str) -> str:
    if value.upper() not in ("A", "B", "C", "D"):
        raise InvalidValue("grade", f"{value!r} is not a grade", hint="use A, B, C or D")
    return value.upper()


def _tags(value: str) -> str | None:
    tags = list(dict.fromkeys(validate.tag(t) for t in value.split(";") if t.strip()))
    return json.dumps(tags, ensure_ascii=False) if tags else None


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


def _score(value: str) -> int:
    try:
        score = int(float(value))
    except ValueError:
        raise InvalidValue("score", f"{value!r} is not a number", hint="a score is a whole number 0-100") from None
    if not 0 <= score <= 100:
        raise InvalidValue("score", f"{value} is outside 0-100", hint="a score is a whole number 0-100")
    return score


def unneutralise(cell: str) -> str:
    """Undo exactly what `output.csv_cell` does against formula injection: one leading `'`."""
    if cell[:1] == "'" and cell.lstrip("'")[:1] in _FORMULA and cell.lstrip("'"):
        return cell[1:]
    return cell


# ---------------------------------------------------------------- the reader API


@dataclass
class ReadResult:
    """What `read_rows` found: how the file was read and how its columns map."""

    source: csvread.CsvSource
    mapping: mapping.Mapping
    builder: RecordBuilder

    @property
    def encoding(self) -> str:
        return self.source.encoding

    @property
    def delimiter(self) -> str:
        return self.source.delimiter_name

    def records(self, errors: list | None = None) -> Iterator[dict[str, Any]]:
        """Each valid row as a dict of lead fields (RECORD keys; `fields` and `tags` decoded).

        Invalid rows are skipped; when `errors` is a list, (record number, cells, message) are
        appended to it.
        """
        for number, cells in self.source.rows():
            try:
                record = self.builder.build(cells)
            except InvalidValue as exc:
                if errors is not None:
                    errors.append((number, cells, exc.message))
                continue
            yield {"_row": number, **self.builder.as_dict(record)}


def read_rows(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
              options: ImportOptions | None = None) -> ReadResult:
    """Open a CSV exactly as `leadcli import` does (encoding, delimiter, mapping, value parsing).

    `path` may be `-` for stdin. Use as::

        result = ingest.read_rows("leads.csv")
        for record in result.records():
            record["email"], record["fields"]["Industry"], ...
        result.encoding, result.delimiter
    """
    options = options or ImportOptions(encoding=encoding, delimiter=delimiter)
    src = csvread.open_csv(path, options.encoding or encoding, options.delimiter or delimiter)
    mp = mapping.resolve(src.header, options.columns)
    return ReadResult(source=src, mapping=mp, builder=RecordBuilder(mp, options))


# ---------------------------------------------------------------- the run

_STAGE_DDL = ("CREATE TEMP TABLE import_stage (seq INTEGER PRIMARY KEY, line INTEGER, "
              + ", ".join(RECORD) + ", root INTEGER, target INTEGER, new_id INTEGER)")
_STAGE_INSERT = (f"INSERT INTO temp.import_stage (line, {', '.join(RECORD)}) "
                 f"VALUES ({', '.join('?' * (len(RECORD) + 1))})")


def import_file(path: str | Path, options: ImportOptions | None = None,
                progress: Callable[[int, int | None], None] | None = None, *,
                db: Store | None = None) -> ImportReport:
    """Import one CSV file (or `-` for stdin) in one transaction into `db` (default: LEADCLI_DB)."""
    from leadcli import store

    options = options or ImportOptions()
    options.check()
    db_path = (db or store.Store()).path
    store.migrate(db_path)
    digest = None
    if options.on_duplicate == "skip" and not options.reprocess:
        digest = csvread.file_sha256(path)
    src = csvread.open_csv(path, options.encoding, options.delimiter)
    with src:
        unmatched = mapping.unmatched_columns(src.header, options.columns)
        typed = [c for c in unmatched if c in options.typed_columns]
        if typed:
            raise UsageError(f"--map names no column of {Path(src.name).name}: {', '.join(map(repr, typed))}",
                             hint="the file's columns are: " + ", ".join(h for h in src.header if h)[:400])
        mp = mapping.resolve(src.header, options.columns)
        builder = RecordBuilder(mp, options)
        report = ImportReport(file=Path(src.name).name if src.name != "<stdin>" else "-", encoding=src.encoding,
                              delimiter=src.delimiter_name, mapping=mp, dry_run=options.dry_run,
                              rejects_file=options.rejects_path)
        if unmatched:
            report.warnings.append(f"the mapping names columns this file does not have: "
                                   f"{', '.join(map(repr, unmatched))}")
        if digest and _repeat(db_path, digest, options, report):
            return report
        with _connection(db_path) as conn:
            raw = conn.connection.driver_connection
            started = time.perf_counter()
            _stage(raw, src, builder, report, options, progress)
            report.seconds["read"] = time.perf_counter() - started
            report.sha256 = src.sha256
            limit = reject_limit(options.max_rejects, report.rows)
            if report.rejected > limit:
                error = TooManyRejects(
                    f"{report.rejected} of {report.rows} rows are invalid (allowed: {limit}); nothing was imported"
                    + (f"; first: {report.first_errors[0]}" if report.first_errors else ""),
                    hint="; ".join(report.hints[:2] + [
                        ("see them in " + options.rejects_path if options.rejects_path else
                         "write them to a file with --rejects FILE")
                        + ", fix them, or allow some with --max-rejects N (or P%)"]))
                error.report = report  # `--dry-run` still shows the mapping it used
                raise error
            if progress:
                progress(-1, None)
            started = time.perf_counter()
            _write(conn, raw, report, options)
            report.seconds["write"] = time.perf_counter() - started
            if not options.dry_run:
                # What SQLite's automatic checkpoint would do inside the commit, done here so the
                # summary can tell it apart from the time the write lock was held.
                started = time.perf_counter()
                raw.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
                report.seconds["checkpoint"] = time.perf_counter() - started
    return report


def _repeat(db_path: Path, digest: str, options: ImportOptions, report: ImportReport) -> bool:
    """Recognise a file imported before, byte for byte and with the same options, under `skip`.

    Every row of it then already has its lead: the leads that run created still exist (only
    `import undo` deletes leads, and any undo since disqualifies the shortcut) and the rows it
    skipped matched leads that still exist. So the run is recorded without reading the rows again;
    `--reprocess` reads them anyway.
    """
    from leadcli import store

    with store.session(write=not options.dry_run, path=db_path) as s:
        raw = store.raw_connection(s)
        hit = raw.execute(
            "SELECT id, rows, finished_at FROM import_run WHERE sha256 = ? AND undone_at IS NULL AND rejected = 0 "
            "AND json_extract(options, '$.fingerprint') = ? ORDER BY id DESC LIMIT 1",
            (digest, options.fingerprint())).fetchone()
        if hit is None:
            return False
        run_id, rows, finished = hit
        if raw.execute("SELECT 1 FROM import_run WHERE undone_at >= ? LIMIT 1", (finished,)).fetchone():
            return False
        report.sha256, report.rows, report.skipped, report.repeat_of = digest, rows, rows, run_id
        report.same_file_runs = [run_id]
        if options.dry_run:
            return True
        now = now_iso()
        recorded = {**options.recorded(), "repeat_of": run_id}
        report.run_id = raw.execute(
            "INSERT INTO import_run (file_name, sha256, started_at, finished_at, rows, skipped, encoding, delimiter, "
            "options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report.file, digest, now, now, rows, rows, report.encoding, report.delimiter,
             json.dumps(recorded, ensure_ascii=False))).lastrowid
    return True


@contextmanager
def _connection(db_path: Path) -> Iterator[Any]:
    from sqlalchemy.exc import DatabaseError as SADatabaseError

    from leadcli import store

    try:
        with store.engine(db_path).connect() as conn:
            raw = conn.connection.driver_connection
            # A bigger page cache for the bulk work; bounded so memory stays flat at any size.
            raw.execute("PRAGMA cache_size = -65536")
            raw.execute("PRAGMA temp.cache_size = -32768")
            # The commit does not checkpoint: import_file does it right after (see there).
            raw.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                yield conn
            finally:
                raw.execute("PRAGMA wal_autocheckpoint = 1000")
                if not raw.in_transaction:
                    raw.execute("DROP TABLE IF EXISTS temp.import_stage")
    except SADatabaseError as exc:
        orig = getattr(exc, "orig", None)
        if isinstance(orig, sqlite3.DatabaseError):
            raise store._translate(orig, db_path) from exc
        raise
    except sqlite3.DatabaseError as exc:
        raise store._translate(exc, db_path) from exc


def _stage(raw: sqlite3.Connection, src: csvread.CsvSource, builder: RecordBuilder, report: ImportReport,
           options: ImportOptions, progress: Callable | None) -> None:
    """Read, map and validate every row into temp.import_stage. Touches only the temp database."""
    raw.execute("DROP TABLE IF EXISTS temp.import_stage")
    raw.execute(_STAGE_DDL)
    rejects_fh = None
    rejects = None
    # The rows staged are freed chunk by chunk and make no reference cycles; the cyclic garbage
    # collector would only rescan the growing caches, costing a tenth of the run on big files.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    raw.execute("BEGIN")
    # A 64-bit hash of each match key per staged row: in-file duplicates are then found with one
    # numpy sort per key, and only the few candidate rows are compared exactly (see _find_roots).
    # Rows of leadcli's own export are distinct leads (they had distinct ids): they are matched
    # against the database only, never against each other, so export -> import round-trips.
    keys = [] if options.on_duplicate == "create" or builder.mapping.leadcli_export else \
        [MATCH_KEYS[k] for k in options.match] + ["name_key"]
    hashes: list[list] = [[] for _ in keys]
    try:
        rows_read = src.rows()
        while True:
            chunk = list(islice(rows_read, CHUNK))
            if not chunk:
                break
            if report.sample is None:
                report.sample = chunk[0][1]
            report.rows += len(chunk)
            slots, columns, rejected = builder.build_many([cells for _, cells in chunk])
            numbers = [number for number, _ in chunk]
            for i, exc in rejected:
                number, cells = chunk[i]
                report.rejected += 1
                if len(report.first_errors) < 5:
                    report.first_errors.append(f"record {number}: {exc.message}")
                    if exc.hint and exc.hint not in report.hints:
                        report.hints.append(exc.hint)
                if options.rejects_path:
                    if rejects is None:
                        rejects_fh = _open_rejects(options.rejects_path)
                        rejects = csv.writer(rejects_fh, lineterminator="\n")
                        rejects.writerow([*src.header, "error"])
                    rejects.writerow([*cells[:len(src.header)], exc.message])
            if rejected:
                drop = {i for i, _ in rejected}
                numbers = [number for i, number in enumerate(numbers) if i not in drop]
            if not numbers:
                continue
            by_slot = dict(zip(slots, columns))
            for key, found in zip(keys, hashes):
                found.append(_hash_column(by_slot.get(_SLOT[key]), len(numbers)))
            raw.executemany(f"INSERT INTO temp.import_stage (line, {', '.join(RECORD[s] for s in slots)}) "
                            f"VALUES ({', '.join('?' * (len(slots) + 1))})", zip(numbers, *columns))
            if progress:
                progress(src.bytes_read, src.total_bytes)
        if progress:
            progress(src.bytes_read, src.total_bytes)
        _find_roots(raw, keys, hashes)
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
        if rejects_fh is not None:
            rejects_fh.close()


def _open_rejects(path: str) -> Any:
    try:
        return open(Path(path).expanduser(), "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise LeadcliError(f"cannot write the rejects file {path} ({exc.strerror}); nothing was imported",
                           hint="give --rejects a path in a folder that exists and you can write to") from None


_NONE_HASH = hash(None)


def _hash_column(values: list | None, n: int) -> Any:
    """64-bit hashes of a key column's values, 0 where a row has none."""
    import numpy as np

    if values is None:
        return np.zeros(n, dtype=np.int64)
    hashed = np.fromiter(map(hash, values), dtype=np.int64, count=n)
    # A key hashing like None is only a candidate pair more: candidates are compared exactly.
    hashed[hashed == _NONE_HASH] = 0
    return hashed


def same_lead_conflict(key: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two records sharing `key` are still different leads, by a stronger key that differs.

    A phone is shared by colleagues (a switchboard) and an e-mail by a team (info@): a match on one
    of them does not hold when the records' e-mails (for a phone) or external ids differ. A shared
    external id holds unless both the e-mails and the names differ (two CRMs numbering from 1).
    `_match` applies the same rule in SQL (`_LOOKUP_VETO`).
    """
    def differ(k: str) -> bool:
        return a.get(k) is not None and b.get(k) is not None and a[k] != b[k]

    if key == "phone_key":
        return differ("email_key") or differ("external_id")
    if key == "email_key":
        return differ("external_id")
    if key == "external_id":
        return differ("email_key") and differ("name")
    return False


def _find_roots(raw: sqlite3.Connection, keys: list[str], hashes: list[Any]) -> None:
    """Mark each row that shares a match key with an earlier row: `root` = the first such row.

    Rows chained through different keys (A shares an e-mail with B, B a phone with C) all point
    at the first one. Staged rows have seq = position + 1.
    """
    if not keys or not hashes or not hashes[0]:
        return
    import numpy as np

    candidates: set[int] = set()
    for parts in hashes:
        values = np.concatenate(parts)
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        same = np.nonzero((ordered[1:] == ordered[:-1]) & (ordered[1:] != 0))[0]
        if len(same):
            candidates.update((order[same] + 1).tolist())
            candidates.update((order[same + 1] + 1).tolist())
    if not candidates:
        return
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS import_candidate (seq INTEGER PRIMARY KEY)")
    raw.execute("DELETE FROM temp.import_candidate")
    raw.executemany("INSERT INTO temp.import_candidate (seq) VALUES (?)", [(c,) for c in sorted(candidates)])
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    # Each group of rows keeps the identity of its first row (plus what later rows add), so a row
    # sharing only a phone with a group whose e-mail differs from its own starts a group of its own.
    identity: dict[int, dict[str, Any]] = {}
    first_with: dict[tuple[int, str], list[int]] = {}
    rows = raw.execute(f"SELECT s.seq, s.email_key, s.external_id, lower(s.name), "
                       f"{', '.join('s.' + k for k in keys)} FROM temp.import_stage s "
                       "JOIN temp.import_candidate c ON c.seq = s.seq ORDER BY s.seq")
    for seq, email_key, external_id, name, *values in rows:
        identity[seq] = {"email_key": email_key, "external_id": external_id, "name": name}
        for i, value in enumerate(values):
            if value is None:
                continue
            groups = first_with.setdefault((i, value), [])
            mine = find(seq)
            for other in groups:
                theirs = find(other)
                if theirs == mine:
                    break
                if not same_lead_conflict(keys[i], identity[theirs], identity[mine]):
                    keep, gone = min(theirs, mine), max(theirs, mine)
                    parent[gone] = keep
                    merged = identity[keep]
                    for k, v in identity.pop(gone).items():
                        if merged.get(k) is None:
                            merged[k] = v
                    break
            else:
                groups.append(seq)
    updates = [(find(seq), seq) for seq in sorted(candidates) if find(seq) != seq]
    raw.executemany("UPDATE temp.import_stage SET root = ? WHERE seq = ?", updates)
    raw.execute("DROP TABLE temp.import_candidate")


def _write(conn: Any, raw: sqlite3.Connection, report: ImportReport, options: ImportOptions) -> None:
    """The one write transaction: match, insert, update, record the run."""
    from sqlmodel import Session

    conn.execution_options(leadcli_begin="DEFERRED" if options.dry_run else "IMMEDIATE")
    trans = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        now = now_iso()
        report.same_file_runs = [r[0] for r in raw.execute(
            "SELECT id FROM import_run WHERE sha256 = ? AND undone_at IS NULL ORDER BY id", (report.sha256,))]
        _match(raw, options)
        ids = _assign_ids(raw, options)
        first_id = ids.first
        report.created = raw.execute(f"SELECT count(*) FROM temp.import_stage s WHERE {ids.where}").fetchone()[0]
        run_id = None
        if not options.dry_run:
            run_id = raw.execute(
                "INSERT INTO import_run (file_name, sha256, started_at, finished_at, encoding, delimiter, options) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (report.file, report.sha256, now, now, report.encoding, report.delimiter,
                 json.dumps(options.recorded(), ensure_ascii=False))).lastrowid
            if report.created:
                _insert_leads(raw, now, report.created, ids)
        changed_ids: list[int] = []
        updated_rows, changes = _apply_updates(raw, options, run_id, now, ids, apply=not options.dry_run,
                                               changed_ids=changed_ids)
        report.updated = updated_rows
        report.skipped = report.rows - report.rejected - report.created - report.updated
        if not options.dry_run:
            last_id = first_id + report.created - 1 if report.created else None
            raw.execute("UPDATE import_run SET finished_at = ?, rows = ?, created = ?, updated = ?, skipped = ?, "
                        "rejected = ?, first_lead_id = ?, last_lead_id = ? WHERE id = ?",
                        (now_iso(), report.rows, report.created, report.updated, report.skipped, report.rejected,
                         first_id if report.created else None, last_id, run_id))
            if report.created:
                from leadcli import leads

                leads.on_leads_created(s, first_id, last_id)
            if changed_ids:
                from leadcli import scoring

                scoring.rescore_leads(s, changed_ids)
            report.run_id = run_id
        s.flush()
        if options.dry_run:
            trans.rollback()
        else:
            trans.commit()
    except BaseException:
        if trans.is_active:
            trans.rollback()
        raise
    finally:
        s.close()


def _match(raw: sqlite3.Connection, options: ImportOptions) -> None:
    """`target` = the existing lead each first-of-its-keys row duplicates (by --match, in order)."""
    keys = [MATCH_KEYS[k] for k in options.match]
    if options.on_duplicate == "create" or not keys:
        return
    if raw.execute("SELECT 1 FROM lead LIMIT 1").fetchone() is None:
        return  # nothing to match (a first import): no look-up per row while the write lock is held
    lookups = ", ".join(f"(SELECT min(id) FROM lead WHERE lead.{k} = import_stage.{k}{_LOOKUP_VETO.get(k, '')})"
                        for k in keys)
    has_key = " OR ".join(f"{k} IS NOT NULL" for k in keys)
    raw.execute(f"UPDATE temp.import_stage SET target = {'coalesce(' + lookups + ')' if len(keys) > 1 else lookups} "
                f"WHERE root IS NULL AND ({has_key})")
    # A row with no e-mail, phone or external id matches a lead that has none either, by name and
    # company; without this, re-importing such a file would duplicate every row.
    if raw.execute("SELECT 1 FROM temp.import_stage WHERE name_key IS NOT NULL AND root IS NULL LIMIT 1").fetchone():
        raw.create_function("leadcli_name_key", 2, name_key, deterministic=True)
        raw.execute("DROP TABLE IF EXISTS temp.import_keyless")
        raw.execute("CREATE TEMP TABLE import_keyless AS SELECT id, leadcli_name_key(name, company) AS k FROM lead "
                    "WHERE email_key IS NULL AND phone_key IS NULL AND external_id IS NULL AND name IS NOT NULL")
        raw.execute("CREATE INDEX temp.ix_import_keyless ON import_keyless (k, id)")
        raw.execute("UPDATE temp.import_stage SET target = (SELECT min(id) FROM temp.import_keyless k "
                    "WHERE k.k = import_stage.name_key) WHERE root IS NULL AND target IS NULL AND name_key IS NOT NULL")
        raw.execute("DROP TABLE temp.import_keyless")


def _differ(column: str, lead_expr: str | None = None, stage_expr: str | None = None) -> str:
    lead_expr, stage_expr = lead_expr or f"lead.{column}", stage_expr or f"import_stage.{column}"
    return f"({stage_expr} IS NOT NULL AND {lead_expr} IS NOT NULL AND {lead_expr} <> {stage_expr})"


# `same_lead_conflict` as conditions on a matched lead.
_LOOKUP_VETO = {
    "phone_key": f" AND NOT {_differ('email_key')} AND NOT {_differ('external_id')}",
    "email_key": f" AND NOT {_differ('external_id')}",
    "external_id": f" AND NOT ({_differ('email_key')} AND "
                   f"{_differ('name', 'lower(lead.name)', 'lower(import_stage.name)')})",
}


@dataclass
class _Ids:
    """How the write reads a staged row's new lead id: `expr` (on the stage aliased `s`), for the rows `where`."""

    first: int
    expr: str = "s.new_id"
    where: str = "s.new_id IS NOT NULL"


def _assign_ids(raw: sqlite3.Connection, options: ImportOptions) -> _Ids:
    """Ids for the new leads, consecutive and above every id an earlier run used (undo works on ranges)."""
    first_id = raw.execute("SELECT max(coalesce((SELECT max(id) FROM lead), 0), "
                           "coalesce((SELECT max(last_lead_id) FROM import_run), 0)) + 1").fetchone()[0]
    creatable = "root IS NULL AND target IS NULL"
    others = [seq for (seq,) in raw.execute(
        f"SELECT seq FROM temp.import_stage WHERE NOT ({creatable}) ORDER BY seq LIMIT 20001")]
    if not others:
        # Every row makes a new lead: its id is its position, so no stage row is rewritten (that
        # would be a second pass over the whole stage while the write lock is held).
        return _Ids(first_id, expr=f"(s.seq + {int(first_id) - 1})", where="1")
    if len(others) <= 20_000:
        # The rows between two rows that create nothing get ids by plain arithmetic on seq.
        last = raw.execute("SELECT coalesce(max(seq), 0) FROM temp.import_stage").fetchone()[0]
        previous = 0
        for k, seq in enumerate(others + [last + 1]):
            if seq - 1 >= previous + 1:
                raw.execute("UPDATE temp.import_stage SET new_id = seq + ? WHERE seq BETWEEN ? AND ?",
                            (first_id - 1 - k, previous + 1, seq - 1))
            previous = seq
    else:
        raw.execute(f"""UPDATE temp.import_stage SET new_id = ? - 1 + m.rn FROM (
                           SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM temp.import_stage
                           WHERE {creatable}) AS m
                       WHERE m.seq = import_stage.seq""", (first_id,))
    # Later rows with the same keys act on what their first row became (a match or a new lead).
    raw.execute("""UPDATE temp.import_stage SET target = (
                       SELECT coalesce(r.target, r.new_id) FROM temp.import_stage r WHERE r.seq = import_stage.root)
                   WHERE root IS NOT NULL""")
    return _Ids(first_id)


_LEAD_INSERT_COLUMNS = ("id", "name", "first_name", "last_name", "email", "email_key", "phone", "phone_key",
                        "company", "title", "source", "owner", "value_cents", "currency", "status", "status_reason",
                        "fields", "notes", "external_id", "score", "grade", "trend", "created_at", "updated_at",
                        "converted_at", "archived_at")


def _insert_leads(raw: sqlite3.Connection, now: str, created: int, ids: _Ids) -> None:
    existing = raw.execute("SELECT count(*) FROM lead").fetchone()[0]
    indexes: list[tuple[str, str]] = []
    if created >= 20_000 and created > existing:
        # Filling a mostly empty table: building each index once from sorted data is about twice
        # as fast as updating every index row by row. Same transaction, same index definitions
        # (whatever migrations created), so a crash still leaves the database as it was.
        indexes = raw.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                              "AND tbl_name IN ('lead', 'status_change', 'lead_tag')").fetchall()
        for name, _ in indexes:
            raw.execute(f'DROP INDEX main."{name}"')
    _insert_rows(raw, now, ids)
    if not indexes:
        return
    # The index builds are most of the write lock's time. SQLite sorts each index in pieces the
    # size of the page cache: pieces of 4 MB (they fit the CPU caches), sorted by two helper
    # threads and then merged, build the indexes of a 1,000,000-row import in 6.3 s instead of
    # 9.8 s with the 64 MB cache of the rest of the run (8 MB: 7.0 s), and with less memory.
    cache_size = raw.execute("PRAGMA main.cache_size").fetchone()[0]
    raw.execute("PRAGMA main.cache_size = -4096")
    raw.execute("PRAGMA threads = 2")
    try:
        for _, sql in indexes:
            raw.execute(sql)
    finally:
        raw.execute("PRAGMA threads = 0")
        raw.execute(f"PRAGMA main.cache_size = {int(cache_size)}")


def _insert_rows(raw: sqlite3.Connection, now: str, ids: _Ids) -> None:
    new_id, where = ids.expr, ids.where
    select = ", ".join(
        {"id": new_id, "created_at": "coalesce(created_at, :now)", "updated_at": "coalesce(updated_at, :now)",
         "converted_at": "CASE WHEN status = 'converted' THEN coalesce(converted_at, :now) END"}.get(c, c)
        for c in _LEAD_INSERT_COLUMNS)
    # new_id grows with seq, the stage's rowid, so a plain scan is already in id order (no sort).
    raw.execute(f"INSERT INTO lead ({', '.join(_LEAD_INSERT_COLUMNS)}) SELECT {select} FROM temp.import_stage s "
                f"WHERE {where}", {"now": now})
    # Every lead starts with its creation entry, as `add` writes it; a lead imported past `new`
    # also gets the move to its status, dated by the file where it can be.
    raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                f"SELECT {new_id}, NULL, 'new', coalesce(created_at, :now), 'imported' FROM temp.import_stage s "
                f"WHERE {where}", {"now": now})
    raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                f"SELECT {new_id}, 'new', status, coalesce(status_at, :now), coalesce(status_reason, 'imported') "
                f"FROM temp.import_stage s WHERE {where} AND status <> 'new'", {"now": now})
    raw.execute(f"INSERT OR IGNORE INTO lead_tag (lead_id, tag) SELECT {new_id}, j.value "
                f"FROM temp.import_stage s, json_each(s.tags) j WHERE {where} AND s.tags IS NOT NULL")


# ---------------------------------------------------------------- merge / update

_STATUS_RANK = {"new": 0, "contacted": 1, "qualified": 2, "converted": 3, "disqualified": 3}


def _apply_updates(raw: sqlite3.Connection, options: ImportOptions, run_id: int | None, now: str, ids: _Ids,
                   apply: bool, changed_ids: list[int] | None = None) -> tuple[int, int]:
    """Rows that duplicate a lead, under merge/update: change it and log what it was before.

    Rows are taken grouped by lead, so each lead is read once, changed once and logged once
    (with its values from before the run), however many rows of the file point at it.
    Returns (rows that changed something, leads changed).
    """
    if options.on_duplicate not in ("merge", "update"):
        return 0, 0
    overwrite = options.on_duplicate == "update"
    created_range = raw.execute(f"SELECT min({ids.expr}), max({ids.expr}) FROM temp.import_stage s "
                                f"WHERE {ids.where}").fetchone()
    lead_cols = [r[1] for r in raw.execute("PRAGMA main.table_info(lead)")]
    wanted = [c for c in ("id", *UPDATABLE, "status", "status_reason", "converted_at", "updated_at", "fields")
              if c in lead_cols]
    read_lead = f"SELECT {', '.join(wanted)} FROM lead WHERE id = ?"
    stage_cols = ("target", *RECORD)
    cur = raw.cursor()
    cur.execute(f"SELECT {', '.join(stage_cols)} FROM temp.import_stage WHERE target IS NOT NULL "
                "ORDER BY target, seq")
    rows_changed = leads_changed = 0
    group: list[dict] = []
    current = None

    def flush() -> None:
        nonlocal rows_changed, leads_changed
        if not group:
            return
        lead_row = raw.execute(read_lead, (group[0]["target"],)).fetchone()
        if lead_row is None:
            return
        lead = dict(zip(wanted, lead_row))
        before = dict(lead)
        if lead["status"] == "converted":
            return  # a converted lead's record is kept as it was for reports
        tags_added: list[str] = []
        history: list[tuple] = []
        existing_tags = {t for (t,) in raw.execute("SELECT tag FROM lead_tag WHERE lead_id = ?", (lead["id"],))}
        changing_rows = 0
        for row in group:
            changed = _merge_row(lead, row, overwrite)
            for tag in json.loads(row["tags"]) if row["tags"] else []:
                if tag.lower() not in {t.lower() for t in existing_tags} | {t.lower() for t in tags_added}:
                    tags_added.append(tag)
                    changed = True
            if overwrite and row["status"] and _STATUS_RANK[row["status"]] > _STATUS_RANK[lead["status"]] \
                    and lead["status"] not in ("converted", "disqualified"):
                moment = row["status_at"] or now
                history.append((lead["status"], row["status"], moment,
                                row["status_reason"] if row["status"] == "disqualified" else None))
                lead["status"] = row["status"]
                if row["status"] == "converted":
                    lead["converted_at"] = row["converted_at"] or moment
                if row["status"] == "disqualified":
                    lead["status_reason"] = row["status_reason"]
                changed = True
            changing_rows += bool(changed)
        diff = {k: before[k] for k in wanted if k != "id" and lead[k] != before[k]}
        if not diff and not tags_added:
            # Rows that undo each other (a later row of the file restores what an earlier one
            # changed) leave the lead as it was: nothing was updated, so a re-import stays a no-op.
            return
        rows_changed += changing_rows
        leads_changed += 1
        if not apply:
            return
        if changed_ids is not None:
            changed_ids.append(lead["id"])
        lead["updated_at"] = now
        diff["updated_at"] = before["updated_at"]
        sets = ", ".join(f"{k} = ?" for k in diff)
        raw.execute(f"UPDATE lead SET {sets} WHERE id = ?", (*(lead[k] for k in diff), lead["id"]))
        history_ids = []
        for from_status, to_status, moment, reason in history:
            history_ids.append(raw.execute(
                "INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)",
                (lead["id"], from_status, to_status, moment, reason or "imported")).lastrowid)
        raw.executemany("INSERT OR IGNORE INTO lead_tag (lead_id, tag) VALUES (?, ?)",
                        [(lead["id"], t) for t in tags_added])
        created_here = created_range[0] is not None and created_range[0] <= lead["id"] <= created_range[1]
        if not created_here:
            raw.execute("INSERT INTO import_change (run_id, lead_id, before, tags_added, history_ids) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (run_id, lead["id"], json.dumps(diff, ensure_ascii=False),
                         json.dumps(tags_added, ensure_ascii=False), json.dumps(history_ids)))

    while True:
        chunk = cur.fetchmany(2000)
        if not chunk:
            break
        for values in chunk:
            row = dict(zip(stage_cols, values))
            if row["target"] != current:
                flush()
                group = []
                current = row["target"]
            group.append(row)
    flush()
    return rows_changed, leads_changed


def _merge_row(lead: dict, row: dict, overwrite: bool) -> bool:
    changed = False
    for key in UPDATABLE:
        value = row.get(key)
        if value is None or key not in lead:
            continue
        if overwrite:
            if lead[key] != value:
                lead[key] = value
                changed = True
        elif lead[key] in (None, ""):
            lead[key] = value
            changed = True
    new_fields = json.loads(row["fields"]) if row["fields"] and row["fields"] != "{}" else {}
    if new_fields:
        fields = json.loads(lead["fields"]) if isinstance(lead["fields"], str) else dict(lead["fields"] or {})
        before = dict(fields)
        for key, value in new_fields.items():
            if overwrite or fields.get(key) in (None, ""):
                fields[key] = value
        if fields != before:
            lead["fields"] = json.dumps(fields, ensure_ascii=False)
            changed = True
    return changed


# ---------------------------------------------------------------- runs and undo


def list_runs(s: Session) -> list[dict[str, Any]]:
    raw = _raw(s)
    cols = ("id", "file_name", "started_at", "rows", "created", "updated", "skipped", "rejected", "encoding",
            "delimiter", "sha256", "undone_at", "options")
    out = []
    for values in raw.execute(f"SELECT {', '.join(cols)} FROM import_run ORDER BY id DESC"):
        run = dict(zip(cols, values))
        run["file"] = run.pop("file_name")
        run["options"] = json.loads(run["options"] or "{}")
        out.append(run)
    return out


def undo_run(s: Session, run_id: int, force: bool = False) -> dict[str, Any]:
    """Delete the leads run `run_id` created and restore the fields it updated."""
    raw = _raw(s)
    run = raw.execute("SELECT id, first_lead_id, last_lead_id, finished_at, undone_at FROM import_run WHERE id = ?",
                      (run_id,)).fetchone()
    if run is None:
        raise NotFound(f"no import run {run_id}", hint="list them with `leadcli import runs`")
    _, first, last, finished, undone = run
    if undone:
        raise LeadcliError(f"import run {run_id} was already undone at {undone}")
    later = [r for (r,) in raw.execute(
        """SELECT DISTINCT c.run_id FROM import_change c JOIN import_run r ON r.id = c.run_id
           WHERE c.run_id > ? AND r.undone_at IS NULL AND (c.lead_id BETWEEN ? AND ?
                 OR c.lead_id IN (SELECT lead_id FROM import_change WHERE run_id = ?)) ORDER BY c.run_id DESC""",
        (run_id, first or 0, last or -1, run_id))]
    if later:
        raise LeadcliError(f"later import runs changed leads of run {run_id}: {', '.join(map(str, later))}",
                           hint=f"undo those first: leadcli import undo {later[0]}")
    touched = 0
    if first is not None:
        touched = raw.execute("SELECT count(*) FROM lead WHERE id BETWEEN ? AND ? AND updated_at > ?",
                              (first, last, finished)).fetchone()[0]
    if touched and not force:
        raise LeadcliError(f"{touched} lead(s) created by run {run_id} were changed after the import",
                           hint=f"undoing deletes them anyway with: leadcli import undo {run_id} --force")
    restored = 0
    for lead_id, before, tags_added, history_ids in raw.execute(
            "SELECT lead_id, before, tags_added, history_ids FROM import_change WHERE run_id = ?",
            (run_id,)).fetchall():
        values = json.loads(before)
        if values:
            raw.execute(f"UPDATE lead SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                        (*values.values(), lead_id))
        for tag in json.loads(tags_added or "[]"):
            raw.execute("DELETE FROM lead_tag WHERE lead_id = ? AND tag = ?", (lead_id, tag))
        for change_id in json.loads(history_ids or "[]"):
            raw.execute("DELETE FROM status_change WHERE id = ?", (change_id,))
        restored += 1
    deleted = 0
    if first is not None:
        deleted = raw.execute("DELETE FROM lead WHERE id BETWEEN ? AND ?", (first, last)).rowcount
    raw.execute("UPDATE import_run SET undone_at = ? WHERE id = ?", (now_iso(), run_id))
    return {"run_id": run_id, "deleted": deleted, "restored": restored}


def _raw(s: Session) -> sqlite3.Connection:
    from leadcli import store

    return store.raw_connection(s)
