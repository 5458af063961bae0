"""An iCalendar feed (RFC 5545) of events, written as text line by line.

A feed of every open planned activity can hold a hundred thousand events; building a component
object per event (what the icalendar library does) takes tens of seconds, so the few properties
a feed needs are written directly, escaped and folded as the RFC says. Tests read the result
back with the icalendar library.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

UTC = _dt.timezone.utc
_SPECIAL = re.compile(r"[\\;,\r\n]")


def stamp(moment: _dt.datetime | str) -> str:
    """A UTC DATE-TIME: 20261203T140000Z (from an aware datetime or a stored `...Z` moment)."""
    if isinstance(moment, str) and len(moment) == 20 and moment.endswith("Z"):
        return moment.replace("-", "").replace(":", "")
    if isinstance(moment, str):
        moment = _dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped."""
    if not _SPECIAL.search(text):
        return text
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """A content line folded at 75 octets (never inside a UTF-8 character), ending in CRLF."""
    if len(line) <= 75 and line.isascii():
        return line + "\r\n"
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines begin with a space
    return "\r\n ".join(parts) + "\r\n"


def lines(events: Iterable[dict[str, Any]], *, name: str = "leadcli", now: _dt.datetime | None = None,
          batch: int = 500) -> Iterator[str]:
    """The feed in chunks of `batch` events: events with `uid`, `start` (an aware datetime or a
    stored UTC moment), `minutes`, `summary`, `description`."""
    dtstamp = stamp(now or _dt.datetime.now(UTC))
    yield ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//leadcli//planned activities//EN\r\n"
           "CALSCALE:GREGORIAN\r\n" + fold("X-WR-CALNAME:" + escape(name)))
    out: list[str] = []
    for item in events:
        # DURATION rather than DTEND: no date arithmetic per event.
        out += ["BEGIN:VEVENT\r\n", fold("UID:" + escape(item["uid"])), f"DTSTAMP:{dtstamp}\r\n",
                f"DTSTART:{stamp(item['start'])}\r\n", f"DURATION:PT{int(item.get('minutes') or 15)}M\r\n",
                fold("SUMMARY:" + escape(item["summary"]))]
        if item.get("description"):
            out.append(fold("DESCRIPTION:" + escape(item["description"])))
        out.append("END:VEVENT\r\n")
        if len(out) >= batch * 8:
            yield "".join(out)
            out = []
    yield "".join(out) + "END:VCALENDAR\r\n"
