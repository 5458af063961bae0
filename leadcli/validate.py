"""Normalising and validating single values: e-mail, phone, currency, money, dates.

Each function returns the normalised value or raises `InvalidValue(field, reason, hint)`.
Shared by `add`/`edit` and by the import pipeline, so a value means the same wherever it enters.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from leadcli import duplicates
from leadcli.errors import InvalidValue

_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ASCII_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                          r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$")


# A visible character: not a space, a control (C0, C1), a soft hyphen, a format mark or a BOM.
_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")


def clean_text(value: str | None) -> str | None:
    """Trimmed text without NUL bytes and byte-order marks, or None for empty (or only controls)."""
    if value is None:
        return None
    value = scrub(str(value)).strip()
    if value and not value.isprintable() and not _VISIBLE.search(value):
        return None
    return value or None


def scrub(value: str) -> str:
    """Text without NUL bytes and byte-order marks (U+FEFF anywhere): neither is ever data."""
    if "\x00" in value or "\ufeff" in value:
        return value.replace("\x00", "").replace("\ufeff", "")
    return value


def email(value: str | None, field: str = "email") -> tuple[str | None, str | None]:
    """(stored e-mail, dedupe key): trimmed, domain lower-cased; key fully lower-cased."""
    value = clean_text(value)
    if value is None:
        return None, None
    if (_ASCII_EMAIL.match(value) or _INTL_EMAIL.match(value)) and ".." not in value and not value.startswith(".") \
            and ".@" not in value and len(value) <= 254:
        local, domain = value.rsplit("@", 1)
        normalised = f"{local}@{domain.lower()}"
        key = normalised.lower()
        return normalised, (key if duplicates.email_is_key(key) else None)
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(field, f"{value!r} is not a valid e-mail address ({exc})",
                           hint="give an address like name@example.com, or leave it empty") from None
    key = result.normalized.lower()
    return result.normalized, (key if duplicates.email_is_key(key) else None)


_EMAIL_LINE = re.compile("(?m)^" + _ASCII_EMAIL.pattern[1:-1] + "$")
# Internationalised addresses (`maría.garcía.7@…`, `ольга.петрова@…`) decided without email_validator:
# local parts of Latin, Greek or Cyrillic letters (precomposed, so already NFC; at most 32 of them,
# so within 64 bytes) at an ASCII domain; email_validator would store them exactly so.
_INTL_LOCAL = (r"(?:[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]|"
               r"[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03ff\u0400-\u0482\u048a-\u04ff]){1,32}")
_INTL_EMAIL = re.compile("^" + _INTL_LOCAL + _ASCII_EMAIL.pattern[_ASCII_EMAIL.pattern.index("@"):])
_INTL_LINE = re.compile("(?m)^" + _INTL_EMAIL.pattern[1:-1] + "$")
_EMAIL_DOMAIN = re.compile(r"@[^\n]+")
# A cheap pre-check over a whole column: could any address be a placeholder (see duplicates)?
_PLACEHOLDER_HINT = re.compile("(?m)^(?:" + "|".join(map(re.escape, duplicates.PLACEHOLDER_LOCALS)) + ")@|@(?:"
                               + "|".join(map(re.escape, duplicates.PLACEHOLDER_DOMAINS)) + ")$|[@.](?:"
                               + "|".join(duplicates.PLACEHOLDER_DOMAIN_LABELS) + r")(?:\.|$)")


def emails(values: list[str]) -> tuple[list[str], list[str]] | None:
    """`email()` of many trimmed values at once: (stored, keys), or None when any value needs `email()`.

    The ASCII shape is checked by one regex pass over the values joined by newlines, so a column
    of a million plain addresses costs a few string operations, not a million calls.
    """
    if not values:
        return [], []
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or ".." in joined or ".@" in joined or joined.startswith(".") \
            or "\n." in joined or max(map(len, values)) > 254:
        return None
    if len(_EMAIL_LINE.findall(joined)) != len(values) and \
            (joined.isascii() or len(_INTL_LINE.findall(joined)) != len(values)):
        return None
    lowered = joined.lower()
    keys: list[str | None] = lowered.split("\n")  # type: ignore[assignment]
    if _PLACEHOLDER_HINT.search(lowered):
        keys = [k if k is not None and duplicates.email_is_key(k) else None for k in keys]
    if lowered == joined:
        return values, keys  # type: ignore[return-value]
    stored = _EMAIL_DOMAIN.sub(lambda m: m.group().lower(), joined).split("\n")
    return stored, keys  # type: ignore[return-value]


def default_region() -> str | None:
    region = os.environ.get("LEADCLI_REGION", "").strip().upper()
    return region or None


_PHONE_CHARS = re.compile(r"^[\d\s()+\-./x#*]+$|^[\d\s()+\-./]+\s*(ext\.?|extension)\s*\d+$", re.IGNORECASE)


def phone(value: str | None, field: str = "phone", region: str | None = None) -> tuple[str | None, str | None]:
    """(stored phone, dedupe key): E.164 where parseable, the original text otherwise.

    Numbers without a country code are parsed with `LEADCLI_REGION` (e.g. US, DE) when set.
    """
    value = clean_text(value)
    if value is None:
        return None, None
    digits = re.sub(r"\D", "", value)
    if not _PHONE_CHARS.match(value) or len(digits) < 3 or len(digits) > 17:
        raise InvalidValue(field, f"{value!r} is not a phone number",
                           hint="use digits with an optional leading + and country code, e.g. +1 415 555 0100")
    import phonenumbers

    region = region or default_region()
    try:
        parsed = phonenumbers.parse(value, None if value.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return value, None
    if phonenumbers.is_possible_number(parsed):
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        key = e164 if duplicates.phone_is_key(e164) else None
        return (f"{e164} ext. {parsed.extension}" if parsed.extension else e164), key
    # Not normalised (no country code and no region known): kept as written, never a duplicate key.
    return value, None


def currency(value: str | None, field: str = "currency") -> str | None:
    value = clean_text(value)
    if value is None:
        return None
    from leadcli.ingest.locale_data import iso_currencies

    code = value.upper()
    if code not in iso_currencies():
        raise InvalidValue(field, f"{value!r} is not an ISO 4217 currency code",
                           hint="use a three-letter code such as USD, EUR, GBP")
    return code


_MONEY_WORDS = re.compile(r"^(?:R\$|US\$)\s*|\s*(?:zł|руб\.?|р\.|kr\.?|Kč|Ft|lei)$", re.IGNORECASE)
_DOT_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+$")
_MONEY_JUNK = re.compile(r"[\s$€£¥₹₽₩₪₺₫฿₴₦₱]|^[A-Z]{3}\s*|\s*[A-Z]{3}$")


# Symbols that name one currency; `$`, `¥` and `kr` are shared by several and decide nothing.
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "₽": "RUB", "₹": "INR", "₺": "TRY", "₩": "KRW", "₪": "ILS",
                     "₴": "UAH", "₦": "NGN", "₱": "PHP", "฿": "THB", "₫": "VND", "zł": "PLN", "R$": "BRL",
                     "US$": "USD", "руб": "RUB", "р.": "RUB"}
_CODE_IN_AMOUNT = re.compile(r"^([A-Z]{3})\s*[\d.,]|[\d.,]\s*([A-Z]{3})$")


def currency_in_amount(text: str) -> str | None:
    """The currency an amount names (`1.234,56 €`, `EUR 1,234`, `R$ 10`), if exactly one."""
    m = _CODE_IN_AMOUNT.search(text.strip())
    if m:
        from leadcli.ingest.locale_data import iso_currencies

        code = m.group(1) or m.group(2)
        return code if code in iso_currencies() else None
    found = {code for symbol, code in _CURRENCY_SYMBOLS.items() if symbol in text}
    return found.pop() if len(found) == 1 else None


def money(value: str | int | float | Decimal | None, field: str = "value") -> int | None:
    """An amount as integer cents (rounded half-up to the cent); refuses negatives."""
    if value is None:
        return None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = clean_text(value if isinstance(value, str) else str(value))
        if text is None:
            return None
        amount = parse_decimal(text, field)
    if not amount.is_finite():
        raise InvalidValue(field, f"{value!r} is not a number", hint="give an amount such as 1500 or 1500.50")
    if amount < 0:
        raise InvalidValue(field, f"{value} is negative", hint="a lead's value must be 0 or more")
    if amount >= 90_000_000_000_000:
        raise InvalidValue(field, f"{value} is too large", hint="give an amount below 90 trillion")
    cents = (amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cents)


def parse_decimal(text: str, field: str = "value") -> Decimal:
    """A number written by a person or a spreadsheet: `1,234.50`, `1.234,50`, `$12,400.00`, `1 500`."""
    raw = text
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("-+")
    text = _MONEY_WORDS.sub("", text.strip())
    text = _MONEY_JUNK.sub("", text.strip()).replace("\u00a0", "").replace("'", "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        if text.count(",") == 1 and len(tail) != 3:
            text = head + "." + tail
        else:
            text = text.replace(",", "")
    elif "." in text and _DOT_THOUSANDS.match(text):
        # `12.000`, `1.500`, `1.000.000`: dots grouping thousands (de, ru, pt-BR…), as a single
        # comma followed by three digits is read as grouping above. An amount with three decimals
        # would be written `0.125` or `12.5` by the same exports.
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(field, f"{raw!r} is not a number",
                           hint="give an amount such as 1500, 1,500.50 or 1.500,50") from None
    return -amount if negative else amount


# ---------------------------------------------------------------- dates

_REL = re.compile(r"^(\d+)\s*([dwmy])$", re.IGNORECASE)


def to_iso(moment: _dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


PERIODS = ("today", "yesterday", "this-week", "last-week", "this-month", "last-month", "this-quarter",
           "last-quarter", "this-year", "ytd", "last-year")
DATE_FORMS = "YYYY-MM-DD, an ISO 8601 time, " + ", ".join(PERIODS) + " or an age like 30d, 6w, 3m, 1y"


def user_date(value: str, field: str = "date", *, end_of_day: bool = False) -> str:
    """A date typed on the command line, as an ISO UTC timestamp.

    Accepts `YYYY-MM-DD`, an ISO 8601 datetime (with or without offset), a named period of the
    user's calendar (`today`, `this-week`, `last-month`, `this-quarter`, `ytd`... see PERIODS) and
    ages such as `30d`, `6w`, `3m`, `1y` (that long ago). Days begin at local midnight. With
    `end_of_day` (for `--until`), a date or a period means its last second, an age that day's.
    """
    text = value.strip()
    lower = text.lower().replace("_", "-")
    try:
        span = _period(lower) or _age(lower)
        if span is None:
            if len(text) == 10:
                day = _dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=_dt.timezone.utc)
                span = (day, day + _dt.timedelta(days=1))
            else:
                return to_iso(_dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        start, end = span
        return to_iso(end - _dt.timedelta(seconds=1) if end_of_day else start)
    except (ValueError, OverflowError):
        raise InvalidValue(field, f"{value!r} is not a date (or is out of range)", hint=f"use {DATE_FORMS}") from None


def _local_midnight(day: _dt.date) -> _dt.datetime:
    from leadcli import when

    return when.local_day_start(_dt.datetime(day.year, day.month, day.day, 12, tzinfo=when.local_zone()))


def _month_start(year: int, month: int) -> _dt.date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return _dt.date(year, month, 1)


def _period(word: str) -> tuple[_dt.datetime, _dt.datetime] | None:
    """A named period as (local midnight it starts, local midnight after it ends), in UTC."""
    if word not in PERIODS:
        return None
    from leadcli import when

    today = when.now().astimezone(when.local_zone()).date()
    day = _dt.timedelta(days=1)
    quarter = (today.month - 1) // 3 * 3 + 1
    bounds = {
        "today": (today, today + day),
        "yesterday": (today - day, today),
        "this-week": (today - _dt.timedelta(days=today.weekday()), today - _dt.timedelta(days=today.weekday() - 7)),
        "last-week": (today - _dt.timedelta(days=today.weekday() + 7), today - _dt.timedelta(days=today.weekday())),
        "this-month": (_month_start(today.year, today.month), _month_start(today.year, today.month + 1)),
        "last-month": (_month_start(today.year, today.month - 1), _month_start(today.year, today.month)),
        "this-quarter": (_month_start(today.year, quarter), _month_start(today.year, quarter + 3)),
        "last-quarter": (_month_start(today.year, quarter - 3), _month_start(today.year, quarter)),
        "this-year": (_dt.date(today.year, 1, 1), _dt.date(today.year + 1, 1, 1)),
        "ytd": (_dt.date(today.year, 1, 1), today + day),
        "last-year": (_dt.date(today.year - 1, 1, 1), _dt.date(today.year, 1, 1)),
    }[word]
    return _local_midnight(bounds[0]), _local_midnight(bounds[1])


def _age(word: str) -> tuple[_dt.datetime, _dt.datetime] | None:
    """`30d`, `6w`, `3m`, `1y`: the local day that long ago."""
    match = _REL.match(word)
    if not match:
        return None
    from leadcli import when

    n, unit = int(match.group(1)), match.group(2)
    days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
    if days > 366_000:
        raise OverflowError(word)
    start = when.local_day_start(days=-days)
    return start, when.local_day_start(start + _dt.timedelta(hours=36))


# ---------------------------------------------------------------- key=value and names


def date_window(since: str | None, until: str | None) -> None:
    """--since after --until matches nothing: say so rather than print an empty result."""
    if since and until and since > until:
        from leadcli.errors import UsageError

        raise UsageError(f"--since ({since[:10]}) is after --until ({until[:10]})", hint="swap the two dates")


def key_value(item: str, field: str = "field") -> tuple[str, str]:
    if "=" not in item:
        raise InvalidValue(field, f"{item!r} is not KEY=VALUE", hint='write it as --field "Industry=Retail"')
    key, value = scrub(item).split("=", 1)
    key = key.strip()
    if not key:
        raise InvalidValue(field, f"{item!r} has an empty key", hint='write it as --field "Industry=Retail"')
    return key, value.strip()


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """First and last name from a full name: the last word is the last name."""
    name = clean_text(name)
    if not name:
        return None, None
    last, comma, first = name.partition(",")
    if comma and _has_letter(first) and _has_letter(last) and "," not in first \
            and first.strip().strip(".").casefold() not in _NAME_SUFFIXES:
        return " ".join(first.split()), " ".join(last.split())  # `Lewis, James`
    parts = name.split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# What may follow a comma in a full name without it being `Last, First`.
_NAME_SUFFIXES = frozenset(("jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "mba", "inc", "ltd", "llc"))


def tag(value: str) -> str:
    value = " ".join(scrub(value).split())
    if not value:
        raise InvalidValue("tag", "a tag cannot be empty", hint="give a word such as --tag vip")
    return value
