"""The only writer to stdout: tables, CSV, JSON, JSON Lines, Markdown and bar charts.

Data goes to stdout, messages to stderr. The format is chosen once per command from
`--format` / `LEADCLI_FORMAT`; `auto` means a Rich table on a terminal and CSV in a pipe.
Rich is imported only when a table is actually drawn, so start-up stays cheap.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

FORMATS = ("auto", "table", "csv", "json", "jsonl", "markdown")

# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Settings:
    format: str = "auto"
    quiet: bool = False
    color: bool = True


settings = Settings()


def configure(format: str | None = None, quiet: bool = False, no_color: bool = False) -> None:
    settings.format = (format or os.environ.get("LEADCLI_FORMAT") or "auto").lower()
    if settings.format not in FORMATS:
        from leadcli.errors import UsageError

        bad, settings.format = settings.format, "auto"
        raise UsageError(f"unknown output format {bad!r}", hint=f"use one of: {', '.join(FORMATS)}")
    settings.quiet = quiet
    settings.color = not no_color and "NO_COLOR" not in os.environ


def current_format() -> str:
    """The concrete format for this command: `auto` resolved against stdout."""
    if settings.format != "auto":
        return settings.format
    return "table" if _isatty(sys.stdout) else "csv"


def _isatty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Column:
    """One output column: `key` names it in csv/json; the rest only shapes the table."""

    key: str
    header: str | None = None
    justify: Literal["default", "left", "center", "right", "full"] = "left"
    style: str | None = None
    fmt: Callable[[Any], str] | None = None
    max_width: int | None = None
    wrap: bool = False
    fixed: bool | None = None  # never shrunk; default: right-justified (numeric) columns
    drop: int = 0  # on a narrow terminal, columns with the highest `drop` go first (0 = never)

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.key.replace("_", " ")


ColumnSpec = Sequence["Column | str"]


def _columns(spec: ColumnSpec | None, rows: Sequence[dict]) -> list[Column]:
    if spec is None:
        spec = list(rows[0].keys()) if rows else []
    return [c if isinstance(c, Column) else Column(c) for c in spec]


def open_private(path: str) -> Any:
    """A text file for data the user asked to write, readable by its owner only (replaced whole)."""
    from leadcli.output_files import private_output

    return private_output(path, force=True)


# ---------------------------------------------------------------- plain values


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN never reaches JSON
        return None
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    converted = to_jsonable(value)
    if converted is value:
        return str(value)
    return converted


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=indent, default=_json_default)


def csv_cell(value: Any) -> str:
    """A cell for CSV/spreadsheets: numbers as they are, text neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = dumps(value)
    else:
        value = str(value)
    # Text that already starts with quotes before a formula character gets one more, so that
    # removing exactly one leading quote (what `leadcli import` does) gives the text back.
    if value.lstrip("'").startswith(_FORMULA_START):
        return "'" + value
    return value


# What a terminal would act on rather than show: C0 controls but newline and tab, DEL, C1 controls,
# and the bidi embeddings, overrides and isolates that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x1B:
        return "\\e"
    if code == 0x0A:
        return "\\n"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe(text: str, *, one_line: bool = False) -> str:
    """`text` as a terminal shows it literally: escapes, controls and bidi overrides written visibly.

    Every table, card, message and error goes through here, so text from the database or a file
    can neither move the cursor, retitle the window nor reorder what is shown. CSV/JSON keep the
    data as stored.
    """
    pattern = _UNSAFE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape_char, text) if pattern.search(text) else text


def _safe_renderable(value: Any) -> Any:
    """A Rich Text built by a command, with the same escaping (its styles kept when nothing changes)."""
    from rich.text import Text

    if isinstance(value, Text) and _UNSAFE.search(value.plain):
        return Text(safe(value.plain), style=value.style)
    return value


def _opt_safe(text: str | None) -> str | None:
    return None if text is None else safe(text)


def raw_cell(value: Any) -> str:
    """A CSV cell as stored: like `csv_cell` without the spreadsheet formula guard."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return csv_cell(value)


def text_cell(value: Any) -> str:
    """A human-readable cell for tables and Markdown (terminal-safe: see `safe`)."""
    return safe(_text_cell(value))


_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _text_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and _ISO_UTC.match(value):
        # A stored moment (ISO 8601 UTC) as the user reads it: local time, to the minute.
        from leadcli import when

        return when.local_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return ""
        return f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# ---------------------------------------------------------------- consoles


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=not settings.color,
        highlight=False,
        soft_wrap=False,
        emoji=False,
        markup=False,
    )


def message(text: str) -> None:
    """A progress or success note on stderr; silent under --quiet."""
    if not settings.quiet:
        print(safe(text), file=sys.stderr)


def warn(text: str) -> None:
    print(f"warning: {safe(text)}", file=sys.stderr)


def error(message_text: str, hint: str | None = None) -> None:
    print(f"error: {safe(message_text)}", file=sys.stderr)
    if hint:
        print(f"hint: {safe(hint)}", file=sys.stderr)


def line(text: str) -> None:
    """One plain line of data on stdout (an id, a path); escaped only when stdout is a terminal."""
    print(safe(text) if _isatty(sys.stdout) else text, file=sys.stdout)


# ---------------------------------------------------------------- tables of rows


def stream(records: Iterable[dict], columns: Sequence[str], fmt: str, file: Any = None, *, raw: bool = False) -> int:
    """Write records one by one as csv, json or jsonl (for exports too big to hold in memory).

    `file` defaults to stdout; returns the number of records written. `raw` CSV keeps text as
    stored (no formula guard).
    """
    out = file if file is not None else sys.stdout
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(columns))
        cell = raw_cell if raw else csv_cell
        for record in records:
            writer.writerow([cell(record.get(key)) for key in columns])
            count += 1
    elif fmt == "jsonl":
        for record in records:
            out.write(dumps(record) + "\n")
            count += 1
    elif fmt == "json":
        out.write("[")
        for record in records:
            out.write(("\n  " if count == 0 else ",\n  ") + dumps(record))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        raise ValueError(f"cannot stream format {fmt!r}")
    return count


def rows(
    data: Iterable[dict],
    columns: ColumnSpec | None = None,
    *,
    title: str | None = None,
    table_columns: ColumnSpec | None = None,
    empty: str = "nothing to show",
    caption: str | None = None,
) -> None:
    """Print a list of records in the chosen format.

    `columns` are the keys written in csv/markdown (json/jsonl write each whole record);
    `table_columns`, when given, is the narrower set drawn in a terminal table.
    """
    data = list(data)
    fmt = current_format()
    if fmt == "json":
        sys.stdout.write(dumps(data, indent=2) + "\n")
        return
    if fmt == "jsonl":
        for record in data:
            sys.stdout.write(dumps(record) + "\n")
        return
    cols = _columns(columns, data)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in cols])
        for record in data:
            writer.writerow([csv_cell(record.get(c.key)) for c in cols])
        return
    if fmt == "markdown":
        _markdown(data, cols)
        return
    if not data:
        message(empty)
        return
    _table(data, _columns(table_columns, data) if table_columns else cols, title=title, caption=caption)


def _markdown(data: Sequence[dict], cols: Sequence[Column]) -> None:
    def esc(value: Any) -> str:
        return text_cell(value).replace("|", "\\|").replace("\n", " ")

    out = sys.stdout
    out.write("| " + " | ".join(c.key for c in cols) + " |\n")
    out.write("|" + "|".join("---:" if c.justify == "right" else "---" for c in cols) + "|\n")
    for record in data:
        out.write("| " + " | ".join(esc(record.get(c.key)) for c in cols) + " |\n")


def _table(data: Sequence[dict], cols: Sequence[Column], *, title: str | None, caption: str | None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = console()
    cols, widths = _layout(list(cols), data, out.width)
    table = Table(title=_opt_safe(title), caption=_opt_safe(caption), box=box.SIMPLE_HEAD, header_style="bold",
                  title_justify="left", pad_edge=False)
    for col in cols:
        table.add_column(safe(col.title), justify=col.justify, style=col.style, width=widths[col.key],
                         no_wrap=not col.wrap, overflow="fold" if col.wrap else "ellipsis")
    for record in data:
        cells = []
        for col in cols:
            value = record.get(col.key)
            cells.append(_safe_renderable(value) if hasattr(value, "__rich_console__") else Text(
                safe(col.fmt(value)) if col.fmt else text_cell(value)))
        table.add_row(*cells)
    out.print(table)


def _layout(cols: list[Column], data: Sequence[dict], width: int) -> tuple[list[Column], dict[str, int]]:
    """Column widths that fit the terminal: fixed columns whole, the rest share what is left.

    Optional columns (`drop`) are left out, highest first, while the rest would get too narrow.
    """
    def natural(col: Column) -> int:
        cells = [col.fmt(r.get(col.key)) if col.fmt else text_cell(r.get(col.key)) for r in data[:500]]
        longest = max([len(col.title)] + [len(c) for c in cells if isinstance(c, str)])
        return min(longest, col.max_width) if col.max_width else longest

    def is_fixed(col: Column) -> bool:
        return col.fixed if col.fixed is not None else col.justify == "right"

    sizes = {c.key: natural(c) for c in cols}
    while True:
        gaps = 3 * (len(cols) - 1) + 2  # padding, divider and box edges
        fixed = sum(sizes[c.key] for c in cols if is_fixed(c))
        flex = [c for c in cols if not is_fixed(c)]
        room = width - gaps - fixed
        wanted = sum(sizes[c.key] for c in flex)
        if wanted <= room or not any(c.drop for c in cols) or (flex and room >= 8 * len(flex)):
            break
        cols.remove(max(cols, key=lambda c: c.drop))
    widths = {c.key: sizes[c.key] for c in cols}
    if wanted > room and flex:
        share = max(room, 4 * len(flex))
        # Shrink the widest flexible columns first, down to an even share each.
        for col in sorted(flex, key=lambda c: sizes[c.key]):
            fair = share // len(flex)
            widths[col.key] = max(3, min(sizes[col.key], fair))
            share -= widths[col.key]
            flex = [c for c in flex if c is not col]
    return cols, widths


# ---------------------------------------------------------------- bar charts

_BLOCKS = " ▏▎▍▌▋▊▉█"


def bar_text(fraction: float | None, width: int = 30) -> str:
    """A horizontal bar of `width` cells filled to `fraction` (0..1), in eighths of a cell."""
    if fraction is None or fraction != fraction:
        return ""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


def bars(
    data: Iterable[dict],
    columns: ColumnSpec,
    *,
    value_key: str,
    scale_max: float | None = None,
    title: str | None = None,
    caption: str | None = None,
    bar_width: int = 30,
    empty: str = "nothing to show",
) -> None:
    """Rows with a bar chart column in table mode; the same rows plainly in every other format."""
    data = list(data)
    if current_format() != "table" or not data:
        rows(data, columns, title=title, empty=empty)
        return
    values = [r.get(value_key) for r in data]
    top = scale_max if scale_max is not None else max((v for v in values if v is not None), default=0) or 1
    cols = _columns(columns, data)
    # The bars take what the other columns leave of the terminal, so neither is cut short.
    used = sum(min(max([len(c.title)] + [len(c.fmt(r.get(c.key)) if c.fmt else text_cell(r.get(c.key)))
                                         for r in data[:500]]), c.max_width or 10**6) for c in cols)
    bar_width = max(8, min(bar_width, console().width - used - 3 * len(cols) - 2))
    decorated = []
    for record in data:
        value = record.get(value_key)
        decorated.append({**record, "_bar": bar_text(None if value is None else float(value) / float(top), bar_width)})
    cols = cols + [Column("_bar", header="", fixed=True, style="cyan" if settings.color else None)]
    _table(decorated, cols, title=title, caption=caption)


# Digits five lines tall, for a headline number (`scorecard`).
_BIG_FONT = {
    "0": ("███", "█ █", "█ █", "█ █", "███"), "1": (" █ ", "██ ", " █ ", " █ ", "███"),
    "2": ("███", "  █", "███", "█  ", "███"), "3": ("███", "  █", " ██", "  █", "███"),
    "4": ("█ █", "█ █", "███", "  █", "  █"), "5": ("███", "█  ", "███", "  █", "███"),
    "6": ("███", "█  ", "███", "█ █", "███"), "7": ("███", "  █", "  █", "  █", "  █"),
    "8": ("███", "█ █", "███", "█ █", "███"), "9": ("███", "█ █", "███", "  █", "███"),
    ".": (" ", " ", " ", " ", "█"), ",": (" ", " ", " ", " ", "▄"), "%": ("█ █", "  █", " █ ", "█  ", "█ █"),
    "-": ("   ", "   ", "███", "   ", "   "), " ": ("  ",) * 5,
}


def big_text(text: str) -> list[str]:
    """`text` (digits, . , % -) drawn five lines tall; other characters are left out."""
    glyphs = [_BIG_FONT[ch] for ch in text if ch in _BIG_FONT]
    return [" ".join(g[i] for g in glyphs) for i in range(5)]


def scorecard(data: dict, *, value: str, label: str, detail: str | None = None) -> None:
    """One headline number: drawn large on a terminal; the record as one row in every other format."""
    if current_format() != "table":
        rows([data])
        return
    from rich.text import Text

    out = console()
    out.print(Text(safe(label), style="bold"))
    out.print(Text("\n".join(big_text(value)), style="bold cyan" if settings.color else ""))
    if detail:
        out.print(Text(safe(detail)))


# ---------------------------------------------------------------- single records


@dataclass
class Section:
    title: str
    data: list[dict] = field(default_factory=list)
    columns: ColumnSpec | None = None


def card(
    data: dict,
    *,
    title: str,
    fields: Sequence[tuple[str, Any]],
    sections: Sequence[Section] = (),
    flat: dict | None = None,
) -> None:
    """One record: a labelled card on a terminal, the record itself in json, one row in csv."""
    fmt = current_format()
    if fmt in ("json", "jsonl"):
        sys.stdout.write(dumps(data, indent=2 if fmt == "json" else None) + "\n")
        return
    if fmt in ("csv", "markdown"):
        row = flat if flat is not None else {k: v for k, v in data.items() if not isinstance(v, list)}
        rows([row])
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = console()
    grid = Table(title=safe(title), box=box.SIMPLE, show_header=False, title_justify="left", title_style="bold")
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in fields:
        if value is None or value == "" or value == [] or value == {}:
            continue
        grid.add_row(safe(label), _safe_renderable(value) if hasattr(value, "__rich_console__")
                     else Text(text_cell(value)))
    out.print(grid)
    for section in sections:
        if not section.data:
            continue
        cols = _columns(section.columns, section.data)
        _table(section.data, cols, title=section.title, caption=None)


# ---------------------------------------------------------------- calendar feeds


def ics(events: Iterable[dict], *, name: str = "leadcli", stamp: _dt.datetime | None = None) -> None:
    """Events (`uid`, `start`, `minutes`, `summary`, `description`) as an iCalendar feed on stdout."""
    from leadcli.calendar_feed import lines

    sys.stdout.writelines(lines(events, name=name, now=stamp))
