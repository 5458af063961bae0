"""WHEN: the moments a salesperson types (`tomorrow`, `fri`, `+3d`, `2026-12-03 14:00`), in local time.

Moments are read in the user's time zone (`TZ`, else the system's) and stored as ISO 8601 UTC
(`2026-12-03T13:00:00Z`), the format of every timestamp in the database. A day without a time means
09:00 local, the start of a working day, so "due tomorrow" is on tomorrow's list wherever the user is.

`LEADCLI_NOW` (an ISO 8601 moment) replaces the clock; it exists for tests and demonstrations
("what will `today` show on Friday?"), never for everyday use.
"""

from __future__ import annotations

import datetime as _dt
import os
import re

from leadcli.errors import InvalidValue

UTC = _dt.timezone.utc
DEFAULT_TIME = _dt.time(9, 0)
FORMS = ("now, today, tomorrow, yesterday, a weekday (fri), +3d, +2w, +4h, -2d, next week, "
         "YYYY-MM-DD [HH:MM], optionally followed by HH:MM (fri 14:00)")

_WEEKDAYS = {name: i for i, names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"), ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday"))) for name in names}
_RELATIVE = re.compile(r"^([+-])\s*(\d{1,4})\s*(h|hours?|d|days?|w|weeks?)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}t\d{2}:\d{2}")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


_zones: dict[str, _dt.tzinfo] = {}


def local_zone() -> _dt.tzinfo:
    """The user's time zone: `TZ` when it names a zone, else the system's (looked up once per TZ)."""
    key = os.environ.get("TZ", "")
    if key not in _zones:
        _zones[key] = _find_zone(key)
    return _zones[key]


def _find_zone(tz: str) -> _dt.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = tz.lstrip(":").strip()
    if not name:
        name = _system_zone_name() or ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    # A POSIX TZ string or an unnamed system zone: the C library's current offset.
    return _dt.datetime.now().astimezone().tzinfo or UTC


def _system_zone_name() -> str | None:
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def now() -> _dt.datetime:
    """The current moment (UTC, aware); `LEADCLI_NOW` overrides it for tests."""
    fixed = os.environ.get("LEADCLI_NOW", "").strip()
    if fixed:
        return parse_iso(fixed)
    return _dt.datetime.now(UTC).replace(microsecond=0)


def parse_iso(text: str) -> _dt.datetime:
    """A stored or ISO 8601 moment as an aware UTC datetime (a naive one is local time)."""
    moment = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    return moment.astimezone(UTC)


def to_iso(moment: _dt.datetime) -> str:
    """The stored form: ISO 8601 UTC with a Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return to_iso(now())


def local_day_start(moment: _dt.datetime | None = None, days: int = 0) -> _dt.datetime:
    """Local midnight of the day holding `moment` (default: now), `days` later, in UTC."""
    zone = local_zone()
    day = (moment or now()).astimezone(zone).date() + _dt.timedelta(days=days)
    return _local(day, _dt.time(0, 0), zone)


def _local(day: _dt.date, at: _dt.time, zone: _dt.tzinfo) -> _dt.datetime:
    # Through UTC and back so a wall time skipped by a DST change lands after the gap.
    naive = _dt.datetime.combine(day, at)
    guess = naive.replace(tzinfo=zone).astimezone(UTC)
    return guess.astimezone(zone).astimezone(UTC)


def parse(text: str, field: str = "when", *, base: _dt.datetime | None = None) -> _dt.datetime:
    """A WHEN typed by the user, as an aware UTC datetime. Raises a usage error naming the forms."""
    clean = " ".join((text or "").lower().split())
    zone = local_zone()
    current = (base or now()).astimezone(zone)
    result = _parse(clean, current, zone)
    if result is None:
        raise InvalidValue(field, f"{text!r} is not a moment leadcli understands", hint=f"use {FORMS}",
                           exit_code=2)
    return result.astimezone(UTC)


def _parse(clean: str, current: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime | None:
    if clean == "now":
        return current
    if _ISO_MOMENT.match(clean):
        # A full timestamp from a script (2026-12-03T14:00:00Z, +01:00): its own zone, or local.
        try:
            return parse_iso(clean.upper())
        except ValueError:
            return None
    if match := _RELATIVE.match(clean):
        return _relative(match, current, zone)
    at: _dt.time | None = None
    words = clean.split(" ")
    if words and (time_match := _TIME.match(words[-1])):
        at = _clock(time_match)
        if at is None:
            return None
        words = words[:-1]
    day = _day(" ".join(words), current.date()) if words else current.date()
    if day is None:
        return None
    return _local(day, at or DEFAULT_TIME, zone)


def _relative(match: re.Match[str], current: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime:
    sign = 1 if match.group(1) == "+" else -1
    amount, unit = int(match.group(2)) * sign, match.group(3)[0]
    if unit == "h":
        return current + _dt.timedelta(hours=amount)
    days = amount * (7 if unit == "w" else 1)
    return _local(current.date() + _dt.timedelta(days=days), DEFAULT_TIME, zone)


def _clock(match: re.Match[str]) -> _dt.time | None:
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return _dt.time(hour, minute)


def _day(words: str, today: _dt.date) -> _dt.date | None:
    if words == "today":
        return today
    if words == "tomorrow":
        return today + _dt.timedelta(days=1)
    if words == "yesterday":
        return today - _dt.timedelta(days=1)
    if words == "next week":
        return today + _dt.timedelta(days=7 - today.weekday())
    if words in _WEEKDAYS:
        # The next such day, never today: on a Friday, `fri` is a week away (as in taskwarrior).
        ahead = (_WEEKDAYS[words] - today.weekday() - 1) % 7 + 1
        return today + _dt.timedelta(days=ahead)
    if match := _DATE.match(words):
        try:
            return _dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- showing moments


def local_text(iso: str | None, *, seconds: bool = False) -> str:
    """A stored moment as the user reads it: `2026-12-03 14:00` in local time."""
    if not iso:
        return ""
    moment = parse_iso(iso).astimezone(local_zone())
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def relative_text(iso: str | None, current: _dt.datetime | None = None) -> str:
    """How late (`2 d late`, `3 h late`) or how soon (`in 45 min`) a due moment is."""
    if not iso:
        return ""
    delta = parse_iso(iso) - (current or now())
    late = delta.total_seconds() < 0
    span = _span(abs(delta))
    return f"{span} late" if late else f"in {span}"


def _span(delta: _dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def days_between(start_iso: str, end: _dt.datetime) -> float:
    return (end - parse_iso(start_iso)).total_seconds() / 86400
