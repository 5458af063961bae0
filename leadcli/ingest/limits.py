"""Limits that keep an import's memory bounded whatever the file holds.

- A field (and a physical line) longer than `--max-field-size` characters (default 64 MiB) stops the
  import with an error naming the record and the column; lines are read at most that long, so a
  gigabyte without a newline is never held whole.
- A header of more than `MAX_COLUMNS` (16,384, Excel's own limit) columns, or a record that many
  cells wide, is refused; rows are handed on in chunks of at most `CELLS_PER_CHUNK` cells.
- A compressed input (a .gz file, the parts of an .xlsx workbook) may expand at most `MAX_RATIO`
  times its compressed size once past `RATIO_FLOOR`, and to at most `MAX_EXPANDED` in all: a
  decompression bomb stops with an error after a few megabytes instead of filling the memory.
- NUL bytes and byte-order marks inside the text are removed as lines are read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from leadcli.errors import BadFile, UsageError

DEFAULT_MAX_FIELD = 64 << 20
MAX_COLUMNS = 16_384
CELLS_PER_CHUNK = 1_000_000
MAX_RATIO = 100
RATIO_FLOOR = 16 << 20
MAX_EXPANDED = 4 << 30
# openpyxl keeps an .xlsx file's shared strings in memory: their XML is bounded on its own.
MAX_SHARED_STRINGS = 64 << 20
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(value: str | int, option: str = "--max-field-size") -> int:
    """A size in bytes from `65536`, `64K`, `64M`, `1G` (binary units; `64MiB`, `64MB` read alike)."""
    match = _SIZE.match(str(value))
    size = int(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0
    if size < 1 or size > 1 << 40:
        raise UsageError(f"{option} {value!r} is not a size", hint="give bytes or a size such as 65536, 64M or 1G")
    return size


def size_text(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"


class LineTooLong(Exception):
    """A physical line longer than the field limit: `column` is the 1-based column it ran out in."""

    def __init__(self, column: int | None):
        super().__init__(column)
        self.column = column


class TooManyCells(Exception):
    """A physical line with more delimiters than any table has columns."""


# Records longer than this are split into cells here, not by the csv module, whose buffer costs 4
# bytes a character (and keeps its largest size): a 64 MiB field would cost 256 MiB there.
LONG_RECORD = 1 << 20
# What the csv module is handed in place of a record split here (a line never holds a BOM).
PLACEHOLDER = "\ufeff"


class Lines:
    """The lines of a text stream, each at most `limit` characters, without NUL bytes and BOMs.

    `fresh` is set by the reader when a record is complete; the first line of the next record is
    kept (when short) in `first`, so an error in a field spanning lines can name its column. A
    record longer than LONG_RECORD is split into cells here (`split_record`, the csv module's
    rules) and handed on as one PLACEHOLDER line, its cells in `stash`.
    """

    def __init__(self, text: io.TextIOBase, limit: int, delimiter: str, first: str = ""):
        self._readline = text.readline
        self._replay: list[str] = [first] if first else []
        self.limit = limit
        self.delimiter = delimiter
        self.first: str | None = None
        self.fresh = True
        self.stash: list[str] | None = None

    def __iter__(self) -> Iterator[str]:
        return self._lines()

    def _lines(self) -> Iterator[str]:
        # The hot loop of every import: one readline and a few C-level tests per line.
        readline, limit, long_record, replay = self._readline, self.limit, LONG_RECORD, self._replay
        while True:
            if replay:
                line = replay.pop()
            else:
                line = readline(limit + 1)
                if not line:
                    return
                if len(line) > limit or "\x00" in line or "\ufeff" in line or len(line) > MAX_COLUMNS:
                    line = self._checked(line)
            if self.fresh:
                if len(line) > long_record or line.count('"') % 2:
                    try:
                        line = self._gather(line)
                    except StopIteration:
                        return
                self.fresh = False
                self.first = line if len(line) <= long_record else None
            yield line

    def _checked(self, line: str) -> str:
        """A line read: refused when over the limit or absurdly wide; without NUL bytes and BOMs."""
        if len(line) > self.limit and line[-1] not in "\r\n":
            raise LineTooLong(None if not self.fresh else unquoted_column(line, self.delimiter))
        if len(line) > MAX_COLUMNS and line.count(self.delimiter) > 64 * MAX_COLUMNS:
            raise TooManyCells
        if "\x00" in line:
            line = line.replace("\x00", "")
        if "\ufeff" in line:
            line = line.replace("\ufeff", "")
        return line

    def _next_line(self) -> str:
        return self._replay.pop() if self._replay else self._read()

    def _read(self) -> str:
        line = self._readline(self.limit + 1)
        if not line:
            raise StopIteration
        return self._checked(line)

    def _gather(self, line: str) -> str:
        """A record's first line, or the PLACEHOLDER when the record it opens is long.

        A line with an odd number of quotes opens a quoted field: its next lines are read until
        the quotes pair up. A short record's lines are replayed to the csv module as they were.
        """
        lines, size, quotes = [line], len(line), line.count('"')
        while quotes % 2 and size <= LONG_RECORD:
            try:
                more = self._next_line()
            except StopIteration:
                break
            lines.append(more)
            size += len(more)
            quotes += more.count('"')
        if size <= LONG_RECORD:
            self._replay.extend(lines[:0:-1])
            return line
        self.first = line if len(line) <= LONG_RECORD else None
        while quotes % 2:
            if size > self.limit:
                raise LineTooLong(open_field_column(self.first, self.delimiter))
            try:
                more = self._next_line()
            except StopIteration:
                break
            lines.append(more)
            size += len(more)
            quotes += more.count('"')
        text = "".join(lines)
        del lines
        if len(text) > self.limit:
            raise LineTooLong(open_field_column(self.first, self.delimiter))
        self.stash, end = split_record(text, self.delimiter)
        if end < len(text):  # stray quotes misled the count: the rest is the next records'
            self._replay.extend(text[end:].splitlines(keepends=True)[::-1])
        return PLACEHOLDER + "\n"


def split_record(text: str, delimiter: str) -> tuple[list[str], int]:
    """The cells of the record `text` starts with, and where it ends, by the csv module's rules
    (quote `"`, doubled to escape; lenient: text after a closing quote is kept as written)."""
    stop = re.compile(f"[{re.escape(delimiter)}\r\n]")
    cells: list[str] = []
    i, n = 0, len(text)
    while True:
        parts = []
        if i < n and text[i] == '"':
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    parts.append(text[j:])
                    i = n
                    break
                parts.append(text[j:k])
                if text.startswith('"', k + 1):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
        found = stop.search(text, i)
        end = found.start() if found else n
        if end > i:
            parts.append(text[i:end])
        cells.append(parts[0] if len(parts) == 1 else "".join(parts))
        del parts
        if end >= n or text[end] != delimiter:
            if text.startswith("\r\n", end):
                return cells, end + 2
            return cells, min(end + 1, n)
        i = end + 1


def read_first_line(text: io.TextIOBase, limit: int) -> str:
    """The first line of a text stream, refused when it is longer than `limit` characters."""
    line = text.readline(limit + 1)
    if len(line) > limit and line[-1] not in "\r\n":
        raise LineTooLong(1)
    return line


def unquoted_column(line: str, delimiter: str) -> int:
    """The 1-based column a line ends in, counting the delimiters outside quoted text."""
    return re.sub(r'"[^"]*(?:"|$)', "", line).count(delimiter) + 1


def open_field_column(first: str | None, delimiter: str) -> int | None:
    """The column of the quoted field a record's first line leaves open (None when unknown)."""
    if first is None:
        return None
    import csv

    try:
        return len(next(csv.reader([first.rstrip("\r\n") + '"'], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return None


class Inflated(io.RawIOBase):
    """A decompressing stream that stops when the output outgrows the input past the limits."""

    def __init__(self, stream: Any, compressed: BinaryIO, name: str):
        self._stream = stream
        self._compressed = compressed
        self.name = name
        self.expanded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.expanded += n
        check_expansion(self.name, self.expanded, self._compressed.tell())
        return n


def check_expansion(name: str, expanded: int, compressed: int, what: str = "it") -> None:
    """A BadFile when `expanded` bytes out of `compressed` pass the ratio or size limit."""
    if expanded > MAX_EXPANDED:
        raise BadFile(f"{name}: {what} expands to more than {size_text(MAX_EXPANDED)}; nothing was imported",
                      hint="split the export into smaller files, or import it uncompressed")
    if expanded > RATIO_FLOOR and expanded > MAX_RATIO * max(compressed, 1):
        raise BadFile(f"{name}: {what} expands more than {MAX_RATIO} times its compressed size "
                      f"({size_text(RATIO_FLOOR)}+ from {compressed:,} bytes): refused as a decompression "
                      "bomb; nothing was imported",
                      hint="decompress it yourself and check it, then import the plain file")


def check_zip(fileobj: BinaryIO, name: str) -> None:
    """Refuse a workbook whose parts, as its central directory declares them, expand past the limits.

    Python's zipfile never inflates a part past its declared size (a part whose data lies about it
    fails its CRC check), so the declared sizes bound what openpyxl reads.
    """
    import zipfile

    try:
        with zipfile.ZipFile(fileobj) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadFile(f"{name}: cannot read the workbook ({exc})", hint="open it in Excel and save it again, "
                                                                      "or save the sheet as CSV") from None
    finally:
        fileobj.seek(0)
    total = 0
    for part in parts:
        total += part.file_size
        check_expansion(name, part.file_size, part.compress_size, f"its part {part.filename}")
        check_expansion(name, total, sum(p.compress_size for p in parts), "the workbook")
        if part.filename.lower().endswith("sharedstrings.xml") and part.file_size > MAX_SHARED_STRINGS:
            raise BadFile(f"{name}: its shared strings take {part.file_size:,} bytes (limit "
                          f"{size_text(MAX_SHARED_STRINGS)}); nothing was imported",
                          hint="save the sheet as CSV and import that")
