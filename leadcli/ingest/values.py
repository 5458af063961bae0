"""Text -> typed value: dates, money and currencies, phones, booleans, statuses, scores, tags.

The import's fast paths: each parser is called once per cell, so the common shapes are decided
with a regex or a cache and only the rest goes to the general checks in `validate` (which `add`
and `edit` use too, so a value means the same whichever way it arrives).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Sequence

from leadcli import duplicates, validate
from leadcli.errors import InvalidValue, LeadcliError
from leadcli.ingest.columns import header_key
from leadcli.stages import Status

# Cells that mean "no value" in the exports leadcli reads (`--missing` adds more).

# Only unambiguous markers: words that are real answers in some exports (`unknown`, `Select`,
# `Other`, `None`) are kept unless named with --missing.
DEFAULT_MISSING = ("", "#n/a", "n/a", "null", "nan", "-")


# ---------------------------------------------------------------- statuses

_STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "new": ("new", "open", "opennotcontacted", "notcontacted", "notstarted", "unassigned", "lead", "subscriber",
            "received", "unread", "marketingqualifiedlead", "mql", "необработан", "новый", "новая"),
    "contacted": ("contacted", "workingcontacted", "working", "attemptedtocontact", "attempted", "inprogress",
                  "connected", "contactinfuture", "inprocess", "nurturing", "nurture", "вработе"),
    "qualified": ("qualified", "prequalified", "salesqualifiedlead", "sql",
                  "opportunity", "opendeal", "processed", "обработан", "quoted",
                  # the open stages of an opportunity (Salesforce, Zoho, Odoo, Creatio): a qualified lead
                  "prospecting", "qualification", "needsanalysis", "valueproposition", "iddecisionmakers",
                  "perceptionanalysis", "proposalpricequote", "negotiationreview", "proposition", "proposal",
                  "negotiation", "distribution", "presentation"),
    "converted": ("converted", "closedconverted", "customer", "won", "dealwon", "closedwon", "evangelist",
                  "качественныйлид", "сконвертирован"),
    "disqualified": ("disqualified", "closednotconverted", "junk", "junklead", "unqualified", "notqualified",
                     "lostlead", "lost", "closedlost", "dead", "rejected", "badtiming", "baddata", "spam",
                     "closedlosttocompetition", "notinterested",
                     "некачественныйлид"),
}
STATUS_WORDS = {word: status for status, words in _STATUS_WORDS.items() for word in words}
STATUSES = tuple(s.value for s in Status)

_TRUE = {"yes", "y", "true", "t", "on", "1", "да", "x", "✓"}
_FALSE = {"no", "n", "false", "f", "off", "0", "нет", ""}


def parse_bool(text: str, fld: str) -> bool:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise InvalidValue(fld, f"{text!r} is not yes/no", hint="use yes/no, y/n, true/false or 1/0")



def status_table(overrides: dict[str, str] | None = None) -> dict[str, str]:
    table = dict(STATUS_WORDS)
    for raw, status in (overrides or {}).items():
        target = status.strip().lower()
        if target not in STATUSES:
            raise LeadcliError(f"--status-map {raw}={status}: {status!r} is not a status",
                               hint="map to one of: " + ", ".join(STATUSES), exit_code=2)
        table[header_key(raw)] = target
    return table


# ---------------------------------------------------------------- dates

_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,]\d+)?)?)?\s*"
                  r"(Z|UTC|GMT|[+-]\d\d:?\d\d|[+-]\d\d|[A-Z]{3,4})?$", re.IGNORECASE)
_SLASH = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d\d)(?::(\d\d))?\s*([AaPp][Mm])?)?"
                    r"\s*(Z|UTC|GMT|[A-Z]{3,4})?$")
# Zone abbreviations exports write (Salesforce: `2024-03-12 09:14:00 PST`) that name one offset.
_ZONES = {"Z": 0, "UTC": 0, "GMT": 0, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5,
          "EST": -5, "EDT": -4, "AKST": -9, "AKDT": -8, "HST": -10, "WET": 0, "WEST": 1, "BST": 1, "CET": 1,
          "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11}
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d\d)(?::(\d\d))?)?$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_EXCEL_EPOCH = _dt.datetime(1899, 12, 30, tzinfo=_dt.timezone.utc)
_UNIX_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_valid_days: dict[tuple[int, int, int], bool] = {}


def _real_day(y: int, m: int, d: int) -> bool:
    key = (y, m, d)
    ok = _valid_days.get(key)
    if ok is None:
        try:
            _dt.date(y, m, d)
            ok = 1900 <= y <= 2200
        except ValueError:
            ok = False
        if len(_valid_days) < 200_000:
            _valid_days[key] = ok
    return ok


_iso_days: dict[str, bool] = {}


def _iso_day(day: str) -> bool:
    ok = day[:4].isdigit() and day[5:7].isdigit() and day[8:10].isdigit() and \
        _real_day(int(day[:4]), int(day[5:7]), int(day[8:10]))
    if len(_iso_days) < 200_000:
        _iso_days[day] = ok
    return ok


def parse_date(text: str, fld: str, day_first: bool = False, order: tuple[str, str] | None = None) -> str:
    """A date or time as written by a CRM or a spreadsheet, as ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SSZ`).

    ISO with or without offset, `M/d/yyyy h:mm a`, `dd.MM.yyyy`, `MM/dd/yyyy` (or `dd/MM/yyyy` with
    `day_first`, or when the first number is over 12), Excel serial days and UNIX seconds or
    milliseconds. Times without an offset are taken as UTC. `order` is the day order a column's
    values showed (see `sniff_day_order`): ("dmy" or "mdy", the value that showed it); a slash
    date that does not fit it is an error rather than a silent swap.
    """
    n = len(text)
    if (n == 10 or n == 16 or n == 19 or n == 20) and text[4] == "-" and text[7] == "-":
        fast = _plain_iso(text, n)
        if fast is not None:
            return fast
    m = _ISO.match(text)
    if m:
        return _from_iso(m, fld, text)
    m = _SLASH.match(text)
    if m:
        return _from_slash(m, fld, text, day_first, order)
    m = _YMD_SLASH.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh, mi, ss = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
        if not _real_day(y, mo, d) or hh > 23 or mi > 59 or ss > 59:
            raise _bad_date(fld, text)
        return f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}Z"
    if _NUMBER.match(text):
        return _from_number(text, fld)
    try:
        return validate.to_iso(_dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        loose = _loose_date(text)
        if loose is None:
            raise _bad_date(fld, text) from None
    return validate.to_iso(loose)


def _plain_iso(text: str, n: int) -> str | None:
    """The shapes exports write most (`2025-03-12`, `2025-03-12 09:14`, leadcli's own
    `2025-03-12T09:14:00Z`), without the regex: an import calls this once per row and column."""
    day = text[:10]
    ok = _iso_days.get(day)
    if ok is None:
        ok = _iso_day(day)
    if ok:
        if n == 10:
            return day + "T00:00:00Z"
        hh, mi = text[11:13], text[14:16]
        if text[10] in " T" and text[13] == ":" and hh.isdigit() and mi.isdigit() and hh < "24" and mi < "60":
            if n == 16:
                return f"{day}T{hh}:{mi}:00Z"
            ss = text[17:19]
            if text[16] == ":" and ss.isdigit() and ss < "60" and (n == 19 or text[19] in "Zz"):
                return f"{day}T{hh}:{mi}:{ss}Z"
    return None


def _from_iso(m: re.Match, fld: str, text: str) -> str:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not _real_day(y, mo, d):
        raise _bad_date(fld, text)
    hh, mi, ss = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    if hh > 23 or mi > 59 or ss > 59:
        raise _bad_date(fld, text)
    tz = m.group(7)
    if not tz or tz.upper() in ("Z", "UTC", "GMT") or tz in ("+00:00", "+0000", "+00", "-00:00"):
        return f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}Z"
    if tz[0] in "+-":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)) * sign
    else:
        offset = _zone(tz, fld, text)
    moment = _dt.datetime(y, mo, d, hh, mi, ss, tzinfo=_dt.timezone(offset))
    return validate.to_iso(moment)


def _from_slash(m: re.Match, fld: str, text: str, day_first: bool, order: tuple[str, str] | None) -> str:
    a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
    year = int(y) + (2000 if len(y) == 2 and int(y) < 70 else 1900 if len(y) == 2 else 0)
    # A dotted date is always day first (de_DE, ru_RU); a slash date follows --day-first
    # unless one of its numbers can only be a day.
    if sep != "." and order is not None:
        dmy = order[0] == "dmy"
        day, month = (a, b) if dmy else (b, a)
        if month > 12:
            raise InvalidValue(fld, f"{text!r} is not a real date read {'day' if dmy else 'month'} first, as "
                                    f"this column is ({order[1]!r} can only be read that way)",
                               hint="the column mixes day-first and month-first dates: fix this one "
                                    "(or the one that set the order)")
    elif sep == "." or a > 12 or (day_first and b <= 12):
        day, month = a, b
    else:
        month, day = a, b
    hh, mi, ss = int(m.group(5) or 0), int(m.group(6) or 0), int(m.group(7) or 0)
    ampm = (m.group(8) or "").lower()
    if ampm:
        if not 1 <= hh <= 12:
            raise _bad_date(fld, text)
        hh = hh % 12 + (12 if ampm == "pm" else 0)
    if not _real_day(year, month, day) or hh > 23 or mi > 59 or ss > 59:
        raise _bad_date(fld, text)
    offset = _zone(m.group(9), fld, text) if m.group(9) else None
    if offset:
        return validate.to_iso(_dt.datetime(year, month, day, hh, mi, ss, tzinfo=_dt.timezone(offset)))
    return f"{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mi:02d}:{ss:02d}Z"


def _from_number(text: str, fld: str) -> str:
    """UNIX milliseconds or seconds, or an Excel serial day."""
    number = float(text)
    if "." not in text and len(text) in (12, 13):
        return validate.to_iso(_UNIX_EPOCH + _dt.timedelta(milliseconds=int(text)))
    if "." not in text and len(text) in (9, 10):
        return validate.to_iso(_UNIX_EPOCH + _dt.timedelta(seconds=int(text)))
    if 1 <= number < 2958466 and len(text.split(".")[0]) <= 5:
        moment = _EXCEL_EPOCH + _dt.timedelta(days=number)
        return validate.to_iso(moment.replace(microsecond=0))
    raise _bad_date(fld, text)


def _zone(name: str, fld: str, text: str) -> _dt.timedelta:
    hours = _ZONES.get(name.upper())
    if hours is None:
        raise InvalidValue(fld, f"{text!r}: the time zone {name!r} is not one leadcli knows",
                           hint="write the offset instead, e.g. 2024-03-12 09:14:00 -08:00")
    return _dt.timedelta(hours=hours)


_ORDER_PROBE = re.compile(r"(?m)^[ \t]*([0-9]{1,2})[/\-]([0-9]{1,2})[/\-][0-9]{2,4}\b")


def sniff_day_order(values: Sequence[str]) -> tuple[str, str] | None:
    """The day order a column's slash dates show: the first one with a number over 12 decides.

    ("dmy", "29/09/2024") or ("mdy", "09/29/2024"); None while every such date fits both orders.
    One regex pass over the joined column: columns of ISO dates cost almost nothing.
    """
    for m in _ORDER_PROBE.finditer("\n".join(values)):
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 and b <= 12:
            return "dmy", m.group(0).strip()
        if b > 12 and a <= 12:
            return "mdy", m.group(0).strip()
    return None


_DAY = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
# The fixed-width shapes of `parse_date`'s fast path, by length: (pattern, the text appended).
# Each value's only space or `T` is at position 10 and its only `z` at 19.
_ISO_COLUMN = {10: (re.compile(f"(?m)^{_DAY}$"), "T00:00:00Z"),
               16: (re.compile(f"(?m)^{_DAY}[ T]{_TIME}$"), ":00Z"),
               19: (re.compile(f"(?m)^{_DAY}[ T]{_TIME}:[0-5][0-9]$"), "Z"),
               20: (re.compile(f"(?m)^{_DAY}[ T]{_TIME}:[0-5][0-9][Zz]$"), "")}


def parse_dates(values: list[str]) -> list[str] | None:
    """`parse_date` of many trimmed values written in one ISO shape, or None when they are not.

    One regex pass over the values joined by newlines checks them all and a few string
    replacements rewrite them; the distinct days are then checked to be real ones.
    """
    if not values:
        return []
    lengths = set(map(len, values))
    shape = _ISO_COLUMN.get(lengths.pop()) if len(lengths) == 1 else None
    if shape is None:
        return None
    pattern, tail = shape
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or len(pattern.findall(joined)) != len(values):
        return None
    for day in set(values) if len(values[0]) == 10 else {v[:10] for v in values}:
        ok = _iso_days.get(day)
        if ok is None:
            ok = _iso_day(day)
        if not ok:
            return None
    if len(values[0]) > 10:
        joined = joined.replace(" ", "T").replace("z", "Z")
    if tail:
        joined = joined.replace("\n", tail + "\n") + tail
    return joined.split("\n")


_LOOSE_FORMATS = ("%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y", "%b %d, %Y %I:%M %p", "%d-%b-%Y",
                  "%d-%b-%y", "%a, %d %b %Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S %Z")


def _loose_date(text: str) -> _dt.datetime | None:
    cleaned = re.sub(r"\s+", " ", text.strip())
    cleaned = re.sub(r"\s*GMT([+-]\d\d:?\d\d)$", r"\1", cleaned)
    try:
        return _dt.datetime.fromisoformat(cleaned)
    except ValueError:
        pass
    for fmt in _LOOSE_FORMATS:
        try:
            return _dt.datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    return _named_month(cleaned)


_LETTERS = re.compile(r"[^\W\d_]+\.?")
_MONTHS_EN = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIME_WORDS = frozenset(("am", "pm", "t", "z", "utc", "gmt", "h"))


def _named_month(text: str) -> _dt.datetime | None:
    """A date with its month written as a word in any export language (`15 Apr, 2021 00:03:00`,
    `15-Apr-2021 3:30 PM`, `3. März 2024`, `15 апреля 2021`), read by dateutil once the month is
    English. The month being a word, the day and year cannot be swapped; a year of 4 digits is
    required, so `May-20` (a spreadsheet's damage to `5-20`) is never a date."""
    from leadcli.ingest.locale_data import month_words

    if not re.search(r"(?<!\d)\d{4}(?!\d)", text):
        return None
    months = month_words()
    out, found = text, 0
    for word in _LETTERS.findall(text):
        key = word.casefold().rstrip(".")
        if key in _TIME_WORDS:
            continue
        number = months.get(key)
        if number is None:
            return None  # another word: not a date
        out = out.replace(word, f" {_MONTHS_EN[number]} ", 1)
        found += 1
    if found != 1:
        return None
    from dateutil import parser

    try:
        return parser.parse(out.replace(",", " "), default=_dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return None


def _bad_date(fld: str, text: str) -> InvalidValue:
    return InvalidValue(fld, f"{text!r} is not a real date",
                        hint="use YYYY-MM-DD, M/d/yyyy (--day-first for d/M/yyyy), dd.MM.yyyy, an Excel serial "
                             "or epoch milliseconds")


# ---------------------------------------------------------------- fast paths for the hot columns

_PLAIN_MONEY = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")


class ValueCache:
    """Per-import caches: CRM columns repeat the same amounts, currencies and phone layouts."""

    def __init__(self, region: str | None = None, currency: str | None = None):
        self.region = region
        self.default_currency = currency  # --currency: decides an ambiguous `$` or `Dollar`
        self.money: dict[str, int | None] = {}
        self.phones: dict[str, tuple[str, str | None, int]] = {}
        self.currency: dict[str, str | None] = {}

    def money_cents(self, text: str, fld: str = "value") -> int | None:
        hit = self.money.get(text)
        if hit is not None:
            return hit
        m = _PLAIN_MONEY.match(text)
        if m:
            whole = int(m.group(1).replace(",", ""))
            frac = m.group(2) or ""
            cents: int | None = whole * 100 + (int(frac.ljust(2, "0")) if frac else 0)
        else:
            cents = validate.money(text, fld)
        if len(self.money) < 100_000:
            self.money[text] = cents
        return cents

    def currency_code(self, text: str) -> str | None:
        """An ISO code, symbol or name in the export's language (`Рубль`, `US Dollar`) as its code;
        an ambiguous one (`$`, `Dollar`) is --currency's when that is among its meanings, else None."""
        if text in self.currency:
            return self.currency[text]
        try:
            code = validate.currency(text)
        except InvalidValue:
            from leadcli.ingest.locale_data import currency_codes

            codes = currency_codes(text)
            if not codes:
                raise InvalidValue("currency", f"{text!r} is not a currency (an ISO 4217 code, symbol or name)",
                                   hint="use a code such as USD, EUR, GBP") from None
            code = codes.pop() if len(codes) == 1 else \
                self.default_currency if self.default_currency in codes else None
        self.currency[text] = code
        return code

    def amount_currency(self, text: str) -> str | None:
        """The currency an amount names (`1.234,56 €`, `EUR 1,234`, `R$ 10`, `150 руб.`), if one."""
        words = _AMOUNT_NUMBER.sub(" ", text).strip()
        if not words:
            return None
        try:
            return self.currency_code(words)
        except InvalidValue:
            return None

    def phone_column(self, values: list[str]) -> tuple[list[str | None], list[str | None]] | None:
        """`phone` of many trimmed values at once, or None when any of them needs `phone` itself.

        Each distinct layout (all but the last four digits) is parsed once, through `phone` on its
        first value, exactly as row by row; the rest is string concatenation.
        """
        if not values:
            return [], []
        if min(map(len, values)) < 8:
            return None
        last4 = [v[-4:] for v in values]
        if not "".join(last4).isdigit():
            # Some numbers end in a separator (`+33 1 30 00 00 01`): those take `phone` one by one.
            fast = self.phone_column([v for v in values if v[-4:].isdigit()])
            if fast is None:
                return None
            stored: list[str | None] = []
            keys: list[str | None] = []
            it = iter(zip(*fast, strict=True))
            for v in values:
                pair = next(it) if v[-4:].isdigit() else self.phone(v)
                stored.append(pair[0])
                keys.append(pair[1])
            return stored, keys
        heads = [v[:-4] for v in values]
        first = dict(zip(reversed(heads), reversed(values), strict=False))
        prefixes: dict[str, str] = {}
        for head, value in first.items():
            hit = self.phones.get(head)
            if hit is None:
                self.phone(value)
                hit = self.phones.get(head)
            if hit is None or hit[0] != "e164" or hit[1] is None:
                return None
            prefixes[head] = hit[1]
        e164: list[str | None] = [prefixes[h] + d for h, d in zip(heads, last4, strict=True)]
        return e164, duplicates.phone_keys(e164)

    def phone(self, text: str) -> tuple[str | None, str | None]:
        """A phone cell as written by an export: `clean_phone`, then `layout_phone`."""
        if not text.isascii() or text[:2] in ("p:", "P:") or "E+" in text or "e+" in text \
                or len(_PHONE_SPLIT.split(text)) > 1:
            text = clean_phone(text, self.region)
        return self.layout_phone(text)

    def layout_phone(self, text: str) -> tuple[str | None, str | None]:
        """`validate.phone` with a cache keyed on the number's layout.

        libphonenumber's decision (country code, trunk prefix, possible length) depends on the
        leading digits and the length, never on the last four digits; so numbers that differ only
        there share one parse, and the answer is rebuilt with their own last four digits.
        """
        last4 = text[-4:]
        if last4.isdigit() and len(text) >= 8:
            key = text[:-4]
        else:
            digits_at = [i for i, ch in enumerate(text) if ch.isdigit()]
            if len(digits_at) < 7:
                return _phone(text, self.region)
            last4 = "".join(text[i] for i in digits_at[-4:])
            layout = list(text)
            for i in digits_at[-4:]:
                layout[i] = "#"
            key = "".join(layout)
        hit = self.phones.get(key)
        if hit is not None:
            kind, prefix, _ = hit
            if kind == "e164":
                e164 = prefix + last4  # type: ignore[operator]
                return e164, (e164 if duplicates.phone_is_key(e164) else None)
            return _phone(text, self.region)
        stored, phone_key = _phone(text, self.region)
        if stored and stored.startswith("+") and stored == phone_key and stored.endswith(last4):
            entry: tuple[str, str | None, int] = ("e164", stored[:-4], 0)
        else:
            entry = ("raw", None, 0)
        if len(self.phones) < 200_000:
            self.phones[key] = entry
        return stored, phone_key


_AMOUNT_NUMBER = re.compile(r"[-+()]?\d[\d\s.,'\u00a0\u202f]*")
# Marks that come with copied numbers: direction marks and embeddings, BOM, no-break spaces.
_INVISIBLE = {ord(c): None for c in "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
              "\u2066\u2067\u2068\u2069\ufeff"} | {0xa0: " ", 0x202f: " ", 0x2007: " "}
_EXCEL_NUMBER = re.compile(r"^\d(?:[.,]\d+)?E\+?\d+$", re.IGNORECASE)
_PHONE_SPLIT = re.compile(r"\s*(?:/|,|;|\||\bor\b|\boder\b|\bили\b)\s*")


class PartialValue(InvalidValue):
    """A cell that does not parse as a whole but holds a usable value (the first of two phones)."""

    def __init__(self, field: str, message: str, value: object):
        super().__init__(field, message, hint="keep one value per cell")
        self.value = value


def clean_phone(text: str, region: str | None = None) -> str:
    """Invisible marks and Facebook's `p:` type prefix off a phone cell; a spreadsheet's scientific
    notation (`1.15164E+11`, digits lost) and two numbers in one cell are errors that name it (the
    second kind carrying the first number, see PartialValue)."""
    text = text.translate(_INVISIBLE).strip()
    if text[:2] in ("p:", "P:"):
        text = text[2:].strip()
    if _EXCEL_NUMBER.match(text):
        raise InvalidValue("phone", f"{text!r} is a number a spreadsheet wrote in scientific notation: its last "
                                    "digits are lost", hint="export the column as text, or type the number again")
    parts = [p for p in _PHONE_SPLIT.split(text) if p]
    if len(parts) > 1 and all(sum(ch.isdigit() for ch in p) >= 6 for p in parts):
        first = _phone(parts[0], region)
        raise PartialValue("phone", f"{text!r} holds {len(parts)} phone numbers; the first is the lead's phone",
                           first)
    return text


def _phone(text: str, region: str | None) -> tuple[str | None, str | None]:
    # validate.phone refuses the letters of vanity numbers (`800-38-AVAIL`), which libphonenumber
    # would turn into digits nobody wrote.
    return validate.phone(text, region=region)


# ---------------------------------------------------------------- small fields

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_TAG_SPLIT = re.compile(r"[;,]")


def grade(value: str) -> str:
    if value.upper() not in ("A", "B", "C", "D"):
        raise InvalidValue("grade", f"{value!r} is not a grade", hint="use A, B, C or D")
    return value.upper()


def score(value: str) -> int:
    try:
        number = int(float(value))
    except ValueError:
        raise InvalidValue("score", f"{value!r} is not a number", hint="a score is a whole number 0-100") from None
    if not 0 <= number <= 100:
        raise InvalidValue("score", f"{value} is outside 0-100", hint="a score is a whole number 0-100")
    return number


def tags(value: str, own: bool = False) -> str | None:
    """A cell of tags split on `;` and `,` (`Hot, Warm`) as the JSON list the stage keeps; leadcli's
    own export (`own`) joins them with `;` only, a comma being part of a tag there."""
    parts = value.split(";") if own else _TAG_SPLIT.split(value)
    found = list(dict.fromkeys(validate.tag(t) for t in parts if t.strip()))
    return json.dumps(found, ensure_ascii=False) if found else None


def unneutralise(cell: str) -> str:
    """Undo exactly what `output.csv_cell` does against formula injection: one leading `'`."""
    if cell[:1] == "'" and cell.lstrip("'")[:1] in _FORMULA and cell.lstrip("'"):
        return cell[1:]
    return cell
