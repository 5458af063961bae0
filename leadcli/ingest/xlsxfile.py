"""Bytes -> rows for files that are not CSV: `.xlsx` workbooks read with openpyxl (imported lazily),
and a clear error naming any other kind of file (Excel 97-2003, ZIP, PDF, images).

A workbook's rows are written as CSV would hold them: dates as ISO text, whole numbers without a
`.0` (a 12-digit record id stays `101234567801`), booleans as `TRUE`/`FALSE`. A formatted report
(Salesforce's) puts title rows above the header and leaves column A empty: the header is the
first row that names several columns, and empty leading columns are dropped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import BinaryIO

from leadcli.errors import BadFile

# (magic bytes, what the file is, the fix)
_KINDS = (
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)", "save it as .xlsx or CSV in Excel, then import that"),
    (b"%PDF", "a PDF document", "export the leads from the CRM as CSV or .xlsx"),
    (b"\x89PNG", "a PNG image", "export the leads from the CRM as CSV or .xlsx"),
    (b"\xff\xd8\xff", "a JPEG image", "export the leads from the CRM as CSV or .xlsx"),
    (b"GIF8", "a GIF image", "export the leads from the CRM as CSV or .xlsx"),
    (b"7z\xbc\xaf", "a 7-Zip archive", "extract the CSV file from it, then import that"),
    (b"Rar!", "a RAR archive", "extract the CSV file from it, then import that"),
    (b"{\\rtf", "an RTF document", "export the leads from the CRM as CSV or .xlsx"),
)
_HEADER_SCAN = 30


def is_xlsx(prefix: bytes) -> bool:
    return prefix.startswith(b"PK\x03\x04") and (b"xl/" in prefix or b"[Content_Types].xml" in prefix)


def refuse_other_kinds(name: str, prefix: bytes) -> None:
    """A BadFile naming what the file is when it is no text table (an .xlsx is handled elsewhere)."""
    for magic, what, hint in _KINDS:
        if prefix.startswith(magic):
            raise BadFile(f"{name} is {what}, not a CSV file", hint=hint)
    if prefix.startswith(b"PK\x03\x04") and not is_xlsx(prefix):
        what = "an OpenDocument spreadsheet" if b"opendocument" in prefix[:200] else "a ZIP archive"
        raise BadFile(f"{name} is {what}, not a CSV file",
                      hint="save it as .xlsx or CSV" if "OpenDocument" in what else
                           "unzip it and import the CSV file inside")


def sheet_rows(data: BinaryIO, name: str, sheet: str | None) -> tuple[str, Iterator[list[str]]]:
    """(the sheet's name, its rows as text from the header row on) of an .xlsx file (a binary stream)."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency
        raise BadFile(f"{name} is an Excel workbook and openpyxl is not installed",
                      hint="pip install openpyxl, or save the sheet as CSV") from None
    try:
        # Formulas as written (`=HYPERLINK(...)`): a cached result may be missing, the text never is.
        book = openpyxl.load_workbook(data, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any damage to the zip or its XML
        raise BadFile(f"{name}: cannot read the workbook ({exc})", hint="open it in Excel and save it again, "
                                                                      "or save the sheet as CSV") from None
    if sheet is not None and sheet not in book.sheetnames:
        raise BadFile(f"{name} has no sheet {sheet!r}", hint="its sheets are: " + ", ".join(book.sheetnames))
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    rows = ([_text(v) for v in row] for row in ws.iter_rows(values_only=True))
    return ws.title, _guarded(_from_header(rows), name)


def _guarded(rows: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """The rows; damage found while streaming the sheet (a bad CRC, broken XML) as a BadFile."""
    try:
        yield from rows
    except BadFile:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage to the zip or its XML
        raise BadFile(f"{name}: cannot read the workbook ({exc}); nothing was imported",
                      hint="open it in Excel and save it again, or save the sheet as CSV") from None


def _from_header(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """The rows from the header on, without the empty leading columns of a formatted report."""
    skipped: list[list[str]] = []
    for row in rows:
        filled = [i for i, v in enumerate(row) if v.strip()]
        if len(filled) >= 2 or len(skipped) >= _HEADER_SCAN:
            start = filled[0] if filled else 0
            yield row[start:]
            for later in rows:
                yield later[start:]
            return
        skipped.append(row)
    yield from skipped  # no row names two columns: read the sheet as it is


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ") if value.time() != _dt.time() else value.date().isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    text = str(value)
    if "\x00" in text or "\ufeff" in text:
        text = text.replace("\x00", "").replace("\ufeff", "")
    return text
