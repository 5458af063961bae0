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


class Lines:
    """The lines of a text stream, each at most `limit` characters, without NUL bytes and BOMs.

    `fresh` is set by the reader when a record is complete; the first line of the next record is
    kept (when short) in `first`, so an error in a field spanning lines can name its column.
    """

    def __init__(self, text: io.TextIOBase, limit: int, delimiter: str, first: str = ""):
        self._readline = text.readline
        self._pending = first
        self.limit = limit
        self.delimiter = delimiter
        self.first: str | None = None
        self.fresh = True

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        if self._pending:
            line, self._pending = self._pending, ""
        else:
            line = self._readline(self.limit + 1)
            if not line:
                raise StopIteration
        if len(line) > self.limit and line[-1] not in "\r\n":
            raise LineTooLong(None if not self.fresh else unquoted_column(line, self.delimiter))
        if len(line) > MAX_COLUMNS and line.count(self.delimiter) > 64 * MAX_COLUMNS:
            raise TooManyCells
        if "\x00" in line:
            line = line.replace("\x00", "")
        if "\ufeff" in line:
            line = line.replace("\ufeff", "")
        if self.fresh:
            self.fresh = False
            self.first = line if len(line) <= 1 << 20 else None
        return line


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
