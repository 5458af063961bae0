"""Rows -> lead records a column at a time: the same records as `RowBuilder.build`, faster.

A chunk of rows is transposed into columns; each distinct value of a column is converted once,
and the hot columns (e-mails, phones, ISO dates) by whole-column fast paths. A row the column pass
cannot decide alone (an invalid value, a cell neutralised with `'`, no identifying value) goes
through `build`, so records and errors are exactly those of the row builder; a property test
holds the two to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, cast

from leadcli import duplicates, validate
from leadcli.errors import InvalidValue
from leadcli.ingest import values
from leadcli.ingest.records import Flag, RowBuilder
from leadcli.ingest.shape import (
    COMPANY,
    CONVERTED_AT,
    CONVERTED_FLAG,
    CURRENCY,
    EMAIL,
    EMAIL_KEY,
    EXTERNAL_ID,
    FIELDS,
    FIRST,
    LAST,
    NAME,
    NAME_KEY,
    NAME_SLOTS,
    OWNER,
    PHONE,
    PHONE_KEY,
    RECORD,
    SOURCE,
    STATUS,
    STATUS_AT,
    STATUS_REASON,
    UPDATED_AT,
    VALUE,
)

Built = tuple[list[int], list[list], list[tuple[int, InvalidValue]]]


class RecordBuilder(RowBuilder):
    """`RowBuilder` plus `build_many`, the column-wise path the import stages its chunks with."""

    chunk_flags: dict[int, list[Flag]] = {}  # noqa: RUF012 - set per chunk by build_many
    chunk_dated: Counter[str] = Counter()  # closed rows of the chunk by the column that dated them
    _dated: list[str | None] = []  # noqa: RUF012

    def build_many(self, rows: list[list[str]]) -> Built:
        """The records of many rows, built column by column: (slots, columns, rejects).

        `columns[k]` holds slot `slots[k]` of RECORD for every valid row, in row order; slots that
        stay empty in every row are left out (SQLite's executemany binds a NULL more slowly than a
        text). `rejects` are (position in `rows`, InvalidValue). Records and errors are exactly
        those of `build`, row by row; `chunk_flags` then holds the flags of each flagged row
        (position in `rows` -> flags).
        """
        self.chunk_flags = {}
        self.chunk_dated = Counter()
        n = len(rows)
        width = self.width
        lengths = set(map(len, rows))
        if lengths != {width}:
            if max(lengths) > width and any(c.strip() for r in rows if len(r) > width for c in r[width:]):
                return self._build_each(rows)  # a value under no header: `_fit` widens the mapping
            rows = [r if len(r) == width else r[:width] if len(r) > width else r + [""] * (width - len(r))
                    for r in rows]
        cols: list[tuple[str, ...]] = list(zip(*rows, strict=True)) if n else [() for _ in range(width)]
        self._sniff_day_order(cols)
        slow: set[int] = set()
        for col in cols:
            if "'" in "\x00".join(col):
                slow.update(i for i, v in enumerate(col) if v[:1] == "'")
        out = self._text_columns(cols)
        flag = self._convert_columns(cols, n, out, slow)
        self._fallback_columns(cols, n, out)
        titles = self._clean(cols[self.title_col]) if self.title_col is not None else None
        self._finish_many(n, out, flag, slow, titles, cols)
        self._fields_many(rows, cols, out, slow)
        return self._settle(rows, n, out, slow)

    def _text_columns(self, cols: list[tuple[str, ...]]) -> dict[int, list]:
        out: dict[int, list] = {}
        for slot, idx in self.text:
            if slot in NAME_SLOTS:
                cleaned = self._clean(cols[idx], self.name_missing)
                if not self.machine_nulls.isdisjoint(cleaned):
                    cleaned = [None if v in self.machine_nulls else v for v in cleaned]
                out[slot] = cleaned
            else:
                out[slot] = self._clean(cols[idx])
        return out

    def _convert_columns(self, cols: list[tuple[str, ...]], n: int, out: dict[int, list],
                         slow: set[int]) -> list | None:
        """Typed columns into `out`; rows with a value that does not convert into `slow`.

        Returns the `converted` flag column, when the file has one.
        """
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
            converted = list(map(conv.__getitem__, cols[idx]))
            if invalid:
                bad = set(invalid)
                slow.update(i for i, v in enumerate(cols[idx]) if v in bad)
            if len(slots) == 1:
                if slots[0] == CONVERTED_FLAG:
                    flag = converted
                else:
                    out[slots[0]] = converted
            else:
                first, second = zip(*converted, strict=True) if n else ((), ())
                out[slots[0]], out[slots[1]] = list(first), list(second)
        return flag

    def _fallback_columns(self, cols: list[tuple[str, ...]], n: int, out: dict[int, list]) -> None:
        for slots, fn, indexes in self.fallbacks:
            main = out.get(slots[0])
            empty = range(n) if main is None else [i for i, v in enumerate(main) if v is None]
            found = {i: got for i in empty if (got := self._fallback([cols[k][i] for k in indexes], fn))[0]}
            if found:
                for slot in slots:
                    out.setdefault(slot, [None] * n)
                for i, (value, key) in found.items():
                    out[slots[0]][i], out[slots[1]][i] = value, key

    def _settle(self, rows: list[list[str]], n: int, out: dict[int, list], slow: set[int]) -> Built:
        """The undecided rows through `build` (a record or a reject each), then the columns of the rest."""
        rejects: list[tuple[int, InvalidValue]] = []
        for i in sorted(slow):
            try:
                rec = self.build(rows[i])
            except InvalidValue as exc:
                rejects.append((i, exc))
                continue
            if self.flags:
                self.chunk_flags[i] = self.flags
            self._dated[i] = self.dated_by
            for slot, value in enumerate(rec):
                if slot not in out:
                    if value is None:
                        continue
                    out[slot] = [None] * n
                out[slot][i] = value
        drop_rows = {i for i, _ in rejects}
        self.chunk_dated = Counter(d for i, d in enumerate(self._dated) if d is not None and i not in drop_rows)
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
        for slot, column in zip(slots, parts, strict=True):
            if present is not cleaned:
                it = iter(column)
                column = [next(it) if v is not None else None for v in cleaned]
            out[slot] = column if isinstance(column, list) else list(column)
        return True

    def _sniff_day_order(self, cols: list) -> None:
        for f, idx in self.sniff_dates:
            if f not in self.day_order and idx < len(cols):
                order = values.sniff_day_order(cols[idx])
                if order is not None:
                    self.day_order[f] = order

    def _build_each(self, rows: list[list[str]]) -> tuple[list[int], list[list], list[tuple[int, InvalidValue]]]:
        self._sniff_day_order(list(zip(*(r[:self.width] + [""] * (self.width - len(r)) for r in rows), strict=False)))
        records, rejects = [], []
        for i, cells in enumerate(rows):
            try:
                records.append(self.build(cells))
            except InvalidValue as exc:
                rejects.append((i, exc))
                continue
            if self.flags:
                self.chunk_flags[i] = self.flags
            if self.dated_by is not None:
                self.chunk_dated[self.dated_by] += 1
        columns = [list(c) for c in zip(*records, strict=False)] if records else [[] for _ in RECORD]
        return list(range(len(RECORD))), columns, rejects

    def _clean(self, col: tuple[str, ...], missing: frozenset[str] | None = None) -> list[str | None]:
        """Trimmed cells, None for the missing markers (`self.missing` unless given)."""
        missing, mlen = missing if missing is not None else self.missing, self.missing_len
        sample = col[:200]
        if len(set(sample)) * 2 > len(sample):
            # Mostly distinct values (e-mails, ids, dates): a set of them would cost more than it saves.
            stripped = list(map(str.strip, col))
            if min(map(len, stripped), default=0) > mlen:
                return cast("list[str | None]", stripped)  # every marker is shorter
            return [v if (v := c.strip()) and (len(v) > mlen or v.lower() not in missing) else None for c in col]
        conv = {u: v if (v := u.strip()) and (len(v) > mlen or v.lower() not in missing) else None
                for u in set(col)}
        return list(map(conv.__getitem__, col))

    def _finish_many(self, n: int, out: dict[int, list], flag: list | None, slow: set[int],
                     titles: list | None, cols: list[tuple[str, ...]]) -> None:
        """`_finish` for whole columns: names, the identifying-value check, defaults, statuses, name keys."""
        name = self._names_many(n, out, titles)
        self._keys_many(n, out, name, slow)
        currency, value = out.get(CURRENCY), out.get(VALUE)
        if self.cache.default_currency and value is not None:
            cur = self.cache.default_currency
            out[CURRENCY] = [cur if c is None and v is not None else c
                             for c, v in zip(currency or [None] * n, value, strict=True)]
        for slot, default in ((SOURCE, self.default_source), (OWNER, self.default_owner)):
            if default is not None:
                col = out.get(slot)
                out[slot] = [default] * n if col is None else [default if v is None else v for v in col]
        self._statuses_many(n, out, flag, slow, cols)

    def _names_many(self, n: int, out: dict[int, list], titles: list | None) -> list | None:
        """Full names from first and last (or the title), first and last from full names; the name column."""
        name, first, last = out.get(NAME), out.get(FIRST), out.get(LAST)
        if name is None:
            if first is not None or last is not None:
                first_col, last_col = first or [None] * n, last or [None] * n
                name = out[NAME] = [(f"{a} {b}" if b else a) if a else b
                                    for a, b in zip(first_col, last_col, strict=True)]
                if titles is not None:
                    name[:] = [nm if nm is not None else t for nm, t in zip(name, titles, strict=True)]
            return name
        first = first or [None] * n
        last = last or [None] * n
        split = False
        for i, (nm, a, b) in enumerate(zip(name, first, last, strict=True)):
            if nm is None:
                if a or b:
                    name[i] = " ".join(p for p in (a, b) if p)
                elif titles is not None and titles[i] is not None:
                    name[i] = titles[i]  # no person: the lead's title names it (not split)
            elif a is None and b is None and self.split_names:
                first[i], last[i] = validate.split_name(nm)
                split = True
        if split or FIRST in out:
            out[FIRST] = first
        if split or LAST in out:
            out[LAST] = last
        return name

    def _keys_many(self, n: int, out: dict[int, list], name: list | None, slow: set[int]) -> None:
        """Rows with no identifying value go to `slow` (to be rejected); keyless rows get a name key."""
        keys = [c for c in (out.get(EMAIL_KEY), out.get(PHONE_KEY), out.get(EXTERNAL_ID)) if c is not None]
        if any(None not in c for c in keys):
            return  # every row has a key
        none = [None] * n
        company = out.get(COMPANY) or none
        keyed = [a or b or c for a, b, c in zip(*(keys + [none] * (3 - len(keys))), strict=True)]
        name_col = name or none
        # A placeholder e-mail or phone is no key, but it is still someone's: the row is a lead.
        written = [out.get(EMAIL) or none, out.get(PHONE) or none]
        for i, (k, nm, co, em, ph) in enumerate(zip(keyed, name_col, company, *written, strict=True)):
            if not (nm or k or co or em or ph):
                slow.add(i)
        if name is not None:
            name_keys = [duplicates.name_key(nm, co) if nm and not k else None
                         for k, nm, co in zip(keyed, name, company, strict=True)]
            if any(v is not None for v in name_keys):
                out[NAME_KEY] = name_keys

    def _statuses_many(self, n: int, out: dict[int, list], flag: list | None, slow: set[int],
                       cols: list[tuple[str, ...]]) -> None:
        """Each row's status, conversion date and status date, as `_finish` decides them.

        With other status signals (a lifecycle stage, a lost reason, close-date columns), the rows
        they may change are decided by `build` (see `_settle`).
        """
        get = out.get
        status, converted_at, updated_at, reason = get(STATUS), get(CONVERTED_AT), get(UPDATED_AT), get(STATUS_REASON)
        keep_reason = self.mapping.leadcli_export
        none = [None] * n
        reasons = list(reason) if reason is not None else none
        new_status, new_converted, status_at, dated = [], [], [], []
        conv_h, upd_h = self.converted_header, self.updated_header
        own = self.mapping.leadcli_export
        for i, (s, f, c, u) in enumerate(zip(status or none, flag or none, converted_at or none, updated_at or none,
                                             strict=True)):
            if f and s != "converted":
                s = "converted"
            elif s is None:
                s = "converted" if c else "new"
            elif c and s in ("new", "contacted", "qualified"):
                s = "converted"
            new_status.append(s)
            if s == "converted" or s == "disqualified":
                at = c if s == "converted" and (c or own) else u
                dated.append(None if at is None else conv_h if at is c else upd_h)
                new_converted.append(at if s == "converted" else None)
                status_at.append(at)
            else:
                dated.append(None)
                new_converted.append(None)
                status_at.append(u)
                if not keep_reason:
                    reasons[i] = None
        out[STATUS], out[CONVERTED_AT], out[STATUS_AT] = new_status, new_converted, status_at
        if reason is not None:
            out[STATUS_REASON] = reasons
        self._dated = dated
        if self.status_extras:
            life = cols[self.lifecycle_col] if self.lifecycle_col is not None else None
            given = reason or none
            for i, s in enumerate(new_status):
                if s not in ("new", "contacted", "qualified") or given[i] is not None or \
                        (life is not None and life[i].strip()):
                    slow.add(i)

    def _fields_many(self, rows: list[list[str]], cols: list[tuple], out: dict[int, list], slow: set[int]) -> None:
        n = len(rows)
        custom = [self._clean(cols[idx]) for idx, _ in self.custom]
        if self.fields_col is None:
            if not custom:
                out[FIELDS] = ["{}"] * n
            else:
                out[FIELDS] = list(map(self.fields_memo.__getitem__, zip(*custom, strict=False)))
            return
        found: list[str | None] = []
        keys = [key for _, key in self.custom]
        for i, (raw, *cells) in enumerate(zip(cols[self.fields_col], *custom, strict=False)):
            try:
                fields = self._json_fields(raw.strip())
            except InvalidValue:
                slow.add(i)
                found.append(None)
                continue
            for key, v in zip(keys, cells, strict=False):
                if v is not None:
                    fields[key] = v
            found.append(self._fields_json(fields) if fields else "{}")
        out[FIELDS] = found
