"""The import, stage by stage: file -> rows -> columns -> values -> records -> dedupe -> write -> run.

1. *Stage* (no write lock): the file is streamed (`csvfile`), its columns mapped (`columns`), each
   chunk of rows turned into records (`columnwise`, `values`) and written to the store's staging
   table; invalid rows go to the rejects file; rows that are the same person as an earlier row
   are marked (`dedupe`). Over `--max-rejects` the run stops here, having written nothing.
2. *Write* (one transaction, `write`): matches against existing leads, new leads, merges, the run.

`read_rows()` is the same reader and record builder without a database, for commands that score
or preview a CSV without importing it.
"""

from __future__ import annotations

import csv
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadcli.errors import InvalidValue, LeadcliError, TooManyRejects, UsageError
from leadcli.ingest import columns, csvfile, dedupe, limits, runs, values
from leadcli.ingest.bulk import BulkWriter
from leadcli.ingest.columnwise import RecordBuilder
from leadcli.ingest.limits import CELLS_PER_CHUNK
from leadcli.ingest.options import CHUNK, ImportOptions, ImportReport, reject_limit
from leadcli.ingest.shape import RECORD, SLOT
from leadcli.ingest.write import write

if TYPE_CHECKING:
    from leadcli.store import Store

Progress = Callable[[int, int | None], None]


def import_file(path: str | Path, options: ImportOptions | None = None, progress: Progress | None = None, *,
                db: Store | str | Path, phase: Callable[[str], None] | None = None) -> ImportReport:
    """Import one CSV file (or `-` for stdin) into the database `db`, in one transaction.

    `progress(bytes_read, total_bytes)` is called as the file is read; `phase(name)` as each phase
    starts: "reading", "writing" (the transaction), "checkpoint" (after the commit; not under
    --dry-run), then "done".
    """
    from leadcli import store

    phase = phase or (lambda name: None)
    options = options or ImportOptions()
    options.check()
    target = db if isinstance(db, store.Store) else store.Store(db)
    target.migrate()
    digest = None
    if options.on_duplicate == "skip" and not options.reprocess:
        digest = csvfile.file_sha256(path)
    with csvfile.open_csv(path, options.encoding, options.delimiter, options.sheet,
                          limits.parse_size(options.max_field_size)) as src:
        builder, report = _prepare(src, options)
        if digest:
            with target.session(write=not options.dry_run) as s:
                if runs.record_repeat(s, digest, options, report):
                    _Rejects(options.rejects_path, src.header).close()  # this run read no row: none listed
                    return report
        with target.bulk_writer() as writer:
            phase("reading")
            started = time.perf_counter()
            _stage(writer, src, builder, report, options, progress)
            report.seconds["read"] = time.perf_counter() - started
            src.check_unchanged(digest)
            report.sha256 = src.sha256
            _check_rejects(report, options)
            phase("writing")
            started = time.perf_counter()
            write(writer, report, options)
            report.seconds["write"] = time.perf_counter() - started
            if not options.dry_run:
                phase("checkpoint")
                started = time.perf_counter()
                writer.checkpoint()
                report.seconds["checkpoint"] = time.perf_counter() - started
    phase("done")
    return report


def _prepare(src: csvfile.CsvSource, options: ImportOptions) -> tuple[RecordBuilder, ImportReport]:
    """The file's mapping, its record builder and an empty report; a --map naming no column is an error."""
    unmatched = columns.unmatched_columns(src.header, options.columns)
    typed = [c for c in unmatched if c in options.typed_columns]
    if typed:
        raise UsageError(f"--map names no column of {Path(src.name).name}: {', '.join(map(repr, typed))}",
                         hint="the file's columns are: " + ", ".join(h for h in src.header if h)[:400])
    mp = columns.resolve(src.header, options.columns)
    report = ImportReport(file=Path(src.name).name if src.name != "<stdin>" else "-", encoding=src.encoding,
                          delimiter=src.delimiter_name, mapping=mp, dry_run=options.dry_run,
                          rejects_file=options.rejects_path)
    if unmatched:
        report.warnings.append(f"the mapping names columns this file does not have: {', '.join(map(repr, unmatched))}")
    return RecordBuilder(mp, options), report


def _check_rejects(report: ImportReport, options: ImportOptions) -> None:
    if options.max_rejects is None and not options.strict:
        return  # rows that cannot be a lead are listed; the others import
    limit = reject_limit(options.max_rejects if options.max_rejects is not None else 0, report.rows)
    if report.rejected <= limit:
        return
    error = TooManyRejects(
        f"{report.rejected} of {report.rows} rows are invalid (allowed: {limit}); nothing was imported"
        + (f"; first: {report.first_errors[0]}" if report.first_errors else ""),
        hint="; ".join(report.hints[:2] + [
            ("see them in " + options.rejects_path if options.rejects_path else
             "write them to a file with --rejects FILE")
            + ", fix them, or allow some with --max-rejects N (or P%)"]))
    error.report = report  # `--dry-run` still shows the mapping it used
    raise error


def _stage(writer: BulkWriter, src: csvfile.CsvSource, builder: RecordBuilder, report: ImportReport,
           options: ImportOptions, progress: Progress | None) -> None:
    """Read, map and check every row into the store's staging table; mark in-file duplicates."""
    # The rows staged are freed chunk by chunk and make no reference cycles; the cyclic garbage
    # collector would only rescan the growing caches, costing a tenth of the run on big files.
    rejects = _Rejects(options.rejects_path, src.header)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    writer.start_stage(RECORD)
    keys = dedupe.in_file_keys(options, builder.mapping.leadcli_export)
    hashes: list[list] = [[] for _ in keys]
    ok = False
    try:
        rows_read = src.rows()
        size = chunk_rows(len(src.header))
        first = list(islice(rows_read, size))
        builder = _settled(builder, first, options)
        while chunk := first or list(islice(rows_read, size)):
            first = []
            _stage_chunk(writer, chunk, builder, report, rejects, keys, hashes)
            if progress:
                progress(src.bytes_read, src.total_bytes)
        if progress:
            progress(src.bytes_read, src.total_bytes)
        for number, cells, message in src.broken:
            report.rows += 1
            report.rejected += 1
            report.first_errors.append(f"record {number}: {message}")
            rejects.write(cells, number, "rejected", "row", "", message)
        dedupe.find_roots(writer, keys, hashes)
        ok = True
    finally:
        writer.end_stage(ok)
        if gc_was_enabled:
            gc.enable()
        rejects.close()


def chunk_rows(width: int) -> int:
    """Rows per chunk: CHUNK, fewer for a wide file, so a chunk holds at most CELLS_PER_CHUNK cells."""
    return max(1, min(CHUNK, CELLS_PER_CHUNK // max(width, 1)))


def _settled(builder: RecordBuilder, chunk: list[tuple[int, list[str]]], options: ImportOptions) -> RecordBuilder:
    """The builder, rebuilt when a next/last activity column of the file turns out to hold no dates."""
    def is_date(text: str) -> bool:
        try:
            values.parse_date(text, "date", options.day_first)
        except InvalidValue:
            return False
        return True

    if columns.settle_activity_dates(builder.mapping, [cells for _, cells in chunk], is_date):
        return RecordBuilder(builder.mapping, options)
    return builder


# The longest sample value the mapping shows (`--dry-run`, `--json`); longer ones end in an ellipsis.
SAMPLE_CHARS = 200


def _stage_chunk(writer: BulkWriter, chunk: list[tuple[int, list[str]]], builder: RecordBuilder,
                 report: ImportReport, rejects: _Rejects, keys: list[str], hashes: list[list]) -> None:
    if report.sample is None:  # a sample to show, not a copy of a long field kept for the whole run
        report.sample = [c if len(c) <= SAMPLE_CHARS else c[:SAMPLE_CHARS - 1] + "…" for c in chunk[0][1]]
    report.rows += len(chunk)
    slots, cols, rejected = builder.build_many([cells for _, cells in chunk])
    numbers = [number for number, _ in chunk]
    for i, exc in rejected:
        number, cells = chunk[i]
        report.rejected += 1
        if len(report.first_errors) < 5:
            report.first_errors.append(f"record {number}: {exc.message}")
            if exc.hint and exc.hint not in report.hints:
                report.hints.append(exc.hint)
        rejects.write(cells, number, "rejected", exc.field, "", exc.message)
    for column, count in builder.chunk_dated.items():
        report.status_dates[column] = report.status_dates.get(column, 0) + count
    for i, flags in sorted(builder.chunk_flags.items()):
        number, cells = chunk[i]
        report.flagged += 1
        for column, value, reason in flags:
            if len(report.flag_notes) < 5:
                report.flag_notes.append(f"record {number}: {column}: {value!r} kept as written ({reason})")
            rejects.write(cells, number, "flagged", column, value, reason)
    if rejected:
        drop = {i for i, _ in rejected}
        numbers = [number for i, number in enumerate(numbers) if i not in drop]
    if not numbers:
        return
    by_slot = dict(zip(slots, cols, strict=True))
    amounts = by_slot.get(SLOT["value_cents"])
    if amounts is not None:
        currencies = by_slot.get(SLOT["currency"]) or [None] * len(amounts)
        report.no_currency += sum(1 for v, c in zip(amounts, currencies, strict=True) if v is not None and c is None)
    for key, found in zip(keys, hashes, strict=True):
        found.append(dedupe.hash_column(by_slot.get(SLOT[key]), len(numbers)))
    writer.stage([RECORD[s] for s in slots], numbers, cols)


class _Rejects:
    """The `--rejects` file: the file's header, then `status` (rejected or flagged), the record
    number, the column and value at fault and why; one line per rejected row or flagged value."""

    def __init__(self, path: str | None, header: list[str]) -> None:
        self.path, self.header = path, header
        self.fh: Any = None
        self.writer: Any = None
        if path:
            self._open(path)

    def _open(self, path: str) -> None:
        """Written whole at the end of every run, readable by its owner only: the rows hold people's
        details, a file left from an earlier run must not pass for this run's, and a link at the name is
        replaced, never written through (a temporary file beside it, renamed into place on close)."""
        from contextlib import ExitStack

        from leadcli.output_files import private_output

        self.stack = ExitStack()
        try:
            self.fh = self.stack.enter_context(private_output(path, force=True))
        except LeadcliError as exc:
            raise LeadcliError(f"cannot write the rejects file: {exc.message}; nothing was imported",
                               hint="give --rejects a path in a folder that exists and you can write to") from None
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow([*self.header, "status", "row", "column", "value", "error"])

    def write(self, cells: list[str], number: int, status: str, column: str, value: str, reason: str) -> None:
        if self.writer is None:
            return
        width = len(self.header)
        row = cells[:width] + [""] * (width - len(cells))
        self.writer.writerow([*row, status, number, column, value, reason])

    def close(self) -> None:
        if self.fh is not None:
            self.fh = None
            self.stack.close()


# ---------------------------------------------------------------- the reader API


@dataclass
class ReadResult:
    """What `read_rows` found: how the file was read and how its columns map."""

    source: csvfile.CsvSource
    mapping: columns.Mapping
    builder: RecordBuilder

    @property
    def encoding(self) -> str:
        return self.source.encoding

    @property
    def delimiter(self) -> str:
        return self.source.delimiter_name

    def records(self, errors: list | None = None) -> Iterator[dict[str, Any]]:
        """Each valid row as a dict of lead fields (RECORD keys; `fields` and `tags` decoded).

        Invalid rows are skipped; when `errors` is a list, (record number, cells, message) are
        appended to it.
        """
        rows = self.source.rows()
        first = list(islice(rows, CHUNK))
        self.builder = _settled(self.builder, first, self.builder.options)
        for number, cells in chain(first, rows):
            try:
                record = self.builder.build(cells)
            except InvalidValue as exc:
                if errors is not None:
                    errors.append((number, cells, exc.message))
                continue
            yield {"_row": number, **self.builder.as_dict(record)}


def read_rows(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
              options: ImportOptions | None = None) -> ReadResult:
    """Open a CSV exactly as `leadcli import` does (encoding, delimiter, mapping, value parsing).

    Without `options`, a value that does not parse makes its row an error (as `--strict`); pass
    `ImportOptions()` to keep such values as written, as the import does.

    `path` may be `-` for stdin. Use as::

        result = ingest.read_rows("leads.csv")
        for record in result.records():
            record["email"], record["fields"]["Industry"], ...
        result.encoding, result.delimiter
    """
    # Strict unless told otherwise: a caller reading rows (scoring a file) hears of every bad value.
    options = options or ImportOptions(encoding=encoding, delimiter=delimiter, strict=True)
    src = csvfile.open_csv(path, options.encoding or encoding, options.delimiter or delimiter, options.sheet,
                           limits.parse_size(options.max_field_size))
    mp = columns.resolve(src.header, options.columns)
    return ReadResult(source=src, mapping=mp, builder=RecordBuilder(mp, options))
