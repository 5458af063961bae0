"""Bytes -> rows: reading CSV files as CRMs and spreadsheets write them: any encoding, any delimiter, junk rows.

`open_csv(source)` takes a path (optionally gzipped) or `-` for stdin, detects the encoding and the
delimiter from the first megabyte, skips an Excel `sep=;` line, and streams rows. Blank rows and the
footer of Salesforce report exports (`Grand Totals (N records)`, `Confidential Information - Do Not
Distribute`, the copyright line) are dropped. The file is read once: its SHA-256 and the bytes read
(for a progress bar) are counted on the way.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from leadcli.errors import BadFile, LeadcliError
from leadcli.ingest import xlsxfile

SAMPLE_BYTES = 1 << 20
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|", "pipe": "|",
              "comma": ",", "semicolon": ";"}
DELIMITER_NAMES = {",": ",", ";": ";", "\t": "tab", "|": "|"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Single-byte encodings worth telling apart in CRM exports: Excel on Windows (1252), Cyrillic
# Windows (1251, Bitrix24/1C), and plain Latin-1 (Salesforce's ISO-8859-1 export option).
_LEGACY = ["cp1252", "cp1251", "latin_1"]
_FOOTER = re.compile(r"^\s*(grand totals?\b|confidential information\b|copyright\s*(\(c\)|©)|"
                     r"©\s*\d{4}.*salesforce)", re.IGNORECASE)
# csv's default limit (128 KiB) is too small for a long notes field.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class _CountingReader(io.RawIOBase):
    """A raw stream that replays a sampled prefix, then the rest, hashing and counting bytes."""

    def __init__(self, prefix: bytes, rest: BinaryIO):
        self._prefix = memoryview(prefix)
        self._rest = rest
        self.sha = hashlib.sha256()
        self.bytes_read = 0
        self.quotes = 0  # b'"' bytes: quote characters in any ASCII-compatible encoding

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            data = bytes(self._prefix[:n])
            buffer[:n] = data
            self._prefix = self._prefix[n:]
        else:
            data = self._rest.read(len(buffer))
            n = len(data)
            buffer[:n] = data
        self.quotes += data.count(b'"')
        if n:
            self.sha.update(buffer[:n])
            self.bytes_read += n
        return n


@dataclass
class CsvSource:
    """An open CSV file: its header, how it was read, and its rows (read once, streaming)."""

    name: str
    header: list[str]
    encoding: str
    delimiter: str
    total_bytes: int | None
    _reader: _CountingReader
    _rows: Iterator[list[str]]
    _closers: list = field(default_factory=list)
    header_line: int = 1
    # Records that cannot be read as cells: (record number, what was read of it, why).
    broken: list[tuple[int, list[str], str]] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, self.delimiter)

    @property
    def bytes_read(self) -> int:
        return self._reader.bytes_read

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes read so far (of the whole file once the rows are exhausted)."""
        return self._reader.sha.hexdigest()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(record number, cells) of each data row, without blank rows and report footers.

        The record number counts records after the header, starting at 1 (not physical lines:
        a quoted cell may span several). A last record that opens a quote it never closes is not
        yielded but kept in `broken` (with the lines it swallowed read again as records).
        """
        number = 0
        held: tuple[int, list[str]] | None = None
        try:
            for row in self._rows:
                number += 1
                if not row:
                    continue
                first = row[0]
                if first:
                    # Only a first cell starting with a space, g, c or © can open a footer: the
                    # regex is left out for the other rows, which is most of a big file.
                    lead = first[0]
                    if (lead in "gGcC©" or lead.isspace()) and _FOOTER.match(first) \
                            and not any(c.strip() for c in row[1:]):
                        continue
                elif not any(row):
                    continue
                if held is not None:
                    yield held
                held = (number, row)
            if held is not None:
                if self._unclosed_quote(held[1]):
                    yield from self._break(*held)
                else:
                    yield held
        except UnicodeError as exc:  # a decode error, or UTF-16 without its BOM
            reason = getattr(exc, "reason", exc)
            raise BadFile(f"{self.name}: record {number + 1} is not valid {self.encoding} ({reason})",
                          hint="pass the file's encoding, e.g. --encoding cp1252 or --encoding latin-1") from None
        except csv.Error as exc:
            raise BadFile(f"{self.name}: record {number + 1} is not valid CSV ({exc})",
                          hint="check the quoting around that line, or pass --delimiter") from None

    def _unclosed_quote(self, last: list[str]) -> bool:
        """Whether the last record swallowed the lines after a quote it never closed.

        The csv module (lenient on purpose: exports hold stray quotes) reads from a quote that is
        never closed to the end of the file as one cell. That happened when the file holds an odd
        number of quote characters and its last record has a cell spanning lines.
        """
        if self.encoding.startswith("utf-16") or self.encoding == "xlsx" or self._reader.quotes % 2 == 0:
            return False
        return any("\n" in cell or "\r" in cell for cell in last)

    def _break(self, number: int, cells: list[str]) -> Iterator[tuple[int, list[str]]]:
        """Keep the broken record in `broken`; read the lines it swallowed again, as records."""
        at = next(i for i, cell in enumerate(cells) if "\n" in cell or "\r" in cell)
        head, _, rest = cells[at].replace("\r\n", "\n").replace("\r", "\n").partition("\n")
        self.broken.append((number, [*cells[:at], head], "a quote opened in this record is never closed"))
        for offset, row in enumerate(csv.reader(rest.split("\n"), delimiter=self.delimiter), 1):
            if any(c.strip() for c in row):
                yield number + offset, row

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer.close()
            except Exception:
                pass

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_csv(source: str | Path, encoding: str = "auto", delimiter: str = "auto",
             sheet: str | None = None) -> CsvSource:
    """Open `source` (a path, a .gz path, an .xlsx workbook, or `-` for stdin) and read its header."""
    name = str(source)
    closers: list = []
    raw, name, total = _open_binary(name, closers)
    try:
        try:
            prefix = _read_prefix(raw)
        except (OSError, EOFError) as exc:
            raise BadFile(f"{name}: cannot read it ({exc})", hint="is it a complete CSV or .csv.gz file?") from None
        if not prefix.strip():
            raise BadFile(f"{name} is empty", hint="export the leads again, with a header row")
        if xlsxfile.is_xlsx(prefix):
            return _open_xlsx(name, prefix, raw, total, closers, sheet)
        xlsxfile.refuse_other_kinds(name, prefix)
        enc = detect_encoding(prefix) if encoding in (None, "", "auto") else _codec(encoding)
        reader = _CountingReader(prefix, raw)
        text = io.TextIOWrapper(io.BufferedReader(reader, 1 << 16), encoding=enc, newline="")
        closers.append(text)
        try:
            first = text.readline()
        except UnicodeError as exc:  # a decode error, or UTF-16 without its BOM
            raise BadFile(f"{name}: the first line is not valid {enc} ({getattr(exc, 'reason', exc)})",
                          hint="pass the file's encoding, e.g. --encoding cp1252") from None
        header_line = 1
        sep = re.match(r"^\ufeff?sep=(.)\r?\n?$", first, re.IGNORECASE)
        if sep:
            first = ""
            header_line = 2
            if delimiter in (None, "", "auto"):
                delimiter = sep.group(1)
        sample = _decode_sample(prefix, enc, skip_first_line=bool(sep))
        delim = sniff_delimiter(sample) if delimiter in (None, "", "auto") else parse_delimiter(delimiter)
        lines = itertools.chain((first,), text) if first else text
        rows = csv.reader(lines, delimiter=delim, quotechar='"', doublequote=True, skipinitialspace=False,
                          strict=False)
        header = _read_header(name, rows)
    except BaseException:
        for c in closers:
            c.close()
        raise
    return CsvSource(name=name, header=header, encoding=enc, delimiter=delim, total_bytes=total,
                     _reader=reader, _rows=rows, _closers=closers, header_line=header_line)


def _open_xlsx(name: str, prefix: bytes, raw: BinaryIO, total: int | None, closers: list,
               sheet: str | None) -> CsvSource:
    reader = _CountingReader(prefix, raw)
    data = io.BufferedReader(reader, 1 << 16).read()
    title, rows = xlsxfile.sheet_rows(data, name, sheet)
    header = _read_header(name, rows)
    return CsvSource(name=name, header=header, encoding="xlsx", delimiter=f"sheet {title}", total_bytes=total,
                     _reader=reader, _rows=rows, _closers=closers)


def _open_binary(name: str, closers: list) -> tuple[BinaryIO, str, int | None]:
    """The file's byte stream (gunzipped when it is a .gz), its display name and size when known."""
    if name == "-":
        return sys.stdin.buffer, "<stdin>", None
    path = Path(name).expanduser()
    try:
        raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - the CsvSource closes it
    except FileNotFoundError:
        raise BadFile(f"{name}: no such file", hint="check the path (use - to read standard input)") from None
    except IsADirectoryError:
        raise BadFile(f"{name} is a folder, not a CSV file", hint="give the path of a .csv file") from None
    except PermissionError:
        raise BadFile(f"{name}: permission denied", hint="make the file readable by this user "
                                                        "(the one cron runs as, for a cron job)") from None
    except OSError as exc:
        raise BadFile(f"{name}: cannot read it ({exc.strerror})", hint="check the file's permissions") from None
    closers.append(raw)
    total: int | None = os.fstat(raw.fileno()).st_size
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        closers.append(raw)
        total = None
    else:
        raw.seek(0)
    return raw, name, total


def _read_header(name: str, rows: Iterator[list[str]]) -> list[str]:
    try:
        header = next(rows)
    except StopIteration:
        header = []
    except (csv.Error, UnicodeError) as exc:
        raise BadFile(f"{name}: cannot read the header ({exc})", hint="check the file's encoding and quoting") from None
    header = [h.lstrip("\ufeff").strip() for h in header]
    if any(ch < " " and ch not in "\t\r\n" for h in header for ch in h):
        raise BadFile(f"{name} does not look like a CSV file: its first line holds binary data",
                      hint="export the leads as CSV (a spreadsheet's 'Save as CSV'), or check --encoding")
    while header and not header[-1]:
        header.pop()  # a trailing delimiter on the header line (a re-save in Excel)
    if not header:
        raise BadFile(f"{name} has no header row", hint="the first line must name the columns")
    return header


def file_sha256(path: str | Path) -> str | None:
    """The SHA-256 of a file's content as `open_csv` reads it (decompressed if gzipped); None for stdin."""
    if str(path) == "-":
        return None
    target = Path(path).expanduser()
    if not target.is_file():
        return None
    sha = hashlib.sha256()
    try:
        raw = open(target, "rb")  # noqa: SIM115 - closed by the `with raw` below
    except OSError:
        return None  # open_csv says what is wrong with it
    with raw:
        stream: BinaryIO = raw
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        else:
            raw.seek(0)
        try:
            while chunk := stream.read(1 << 20):
                sha.update(chunk)
        except (OSError, EOFError) as exc:  # a truncated or damaged .gz
            raise BadFile(f"{target.name}: cannot read it ({exc})",
                          hint="is it a complete CSV or .csv.gz file?") from None
    return sha.hexdigest()


def _read_prefix(raw: BinaryIO) -> bytes:
    chunks, size = [], 0
    while size < SAMPLE_BYTES:
        chunk = raw.read(SAMPLE_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise LeadcliError(f"unknown encoding {name!r}", hint="use auto, utf-8, utf-16, cp1252, cp1251 or latin-1",
                           exit_code=2) from None


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file from its first bytes: a BOM, else UTF-8 if it decodes, else the likeliest
    legacy code page (charset-normalizer, limited to the code pages CRM exports use)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            if name == "utf-16" and sample.startswith(codecs.BOM_UTF32_LE):
                return "utf-32"
            return name
    if _is_utf8(sample):
        return "utf-8"
    if sample[:200].count(b"\x00") > 20:
        return "utf-16-le" if sample[1::2].count(b"\x00") > sample[::2].count(b"\x00") else "utf-16-be"
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:200_000], cp_isolation=_LEGACY).best()
    if best is None:
        return "cp1252"
    name = codecs.lookup(best.encoding).name
    # cp1252 is a superset of Latin-1's printable range; report Latin-1 only when 1252 cannot decode.
    if name == "iso8859-1":
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"
    return name


def _is_utf8(sample: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _decode_sample(prefix: bytes, enc: str, skip_first_line: bool) -> str:
    text = codecs.getincrementaldecoder(enc)(errors="replace").decode(prefix[:256_000], final=False)
    text = text.lstrip("\ufeff")
    if skip_first_line:
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def parse_delimiter(value: str) -> str:
    key = value if value in DELIMITERS else value.lower()
    if key in DELIMITERS:
        return DELIMITERS[key]
    if len(value) == 1 and not value.isalnum() and value not in "\"\r\n'":
        return value  # another separator some tool wrote (`:`, `^`, a space)
    raise LeadcliError(f"unknown delimiter {value!r}", hint="use auto, ',', ';', tab or '|'", exit_code=2)


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; TAB | that splits the first records most consistently."""
    cut = sample.rfind("\n")
    if cut > 0 and len(sample) >= 256_000 - 4:
        sample = sample[:cut]
    best, best_score = ",", (0.0, 0)
    for delim in (",", ";", "\t", "|"):
        try:
            records = []
            for row in csv.reader(io.StringIO(sample), delimiter=delim, strict=False):
                if row:
                    records.append(row)
                if len(records) >= 50:
                    break
        except csv.Error:
            continue
        if not records:
            continue
        width = len(records[0])
        while width > 1 and not records[0][width - 1].strip():
            width -= 1
        if width < 2:
            continue
        rest = records[1:] or records
        consistent = sum(1 for r in rest if len(r) in (width, len(records[0]))) / len(rest)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best
