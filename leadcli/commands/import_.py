"""leadcli import FILE | import runs | import undo RUN_ID."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup


class ImportGroup(TyperGroup):
    """`import FILE [options]` runs the hidden `file` command; `import runs` and `import undo` are subcommands.

    A group's own FILE argument would swallow the word `runs`, so the routing is explicit: anything
    that is not a subcommand name (or --help) is a file to import. A file named `runs` is `./runs`.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["file", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, "FILE|- [OPTIONS]  |  runs  |  undo RUN_ID")

    def list_commands(self, ctx: Any) -> list[str]:
        return ["file", "runs", "undo"]


class FileCommand(TyperCommand):
    """The import itself, shown as `leadcli import FILE|- [OPTIONS]` (its name `file` is only routing)."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.parent.command_path if ctx.parent else "leadcli import", "FILE|- [OPTIONS]")


app = typer.Typer(
    cls=ImportGroup,
    no_args_is_help=True,
    help="Import a CRM's CSV export (Salesforce, HubSpot, Pipedrive, Zoho, Bitrix24, a spreadsheet).\n\n"
         "Run `leadcli import FILE --help` for every option of an import.\n\n"
         "\b\nExample:\n  leadcli import export.csv\n  leadcli import runs\n  leadcli import undo 3",
)

Encoding = Annotated[str, typer.Option("--encoding", help="auto (detect), or utf-8, utf-16, cp1252, cp1251, "
                                                          "latin-1, ...")]
Delimiter = Annotated[str, typer.Option("--delimiter", help="auto (sniff), ',', ';', tab or '|'.")]
MapOpt = Annotated[list[str] | None, typer.Option(
    "--map", help='"CSV COLUMN=field" (repeatable); field: a lead field, fields.NAME (custom) or skip.',
    show_default=False)]
MappingFileOpt = Annotated[str | None, typer.Option(
    "--mapping", metavar="FILE", help="A saved mapping (JSON or COLUMN=field lines); --map wins over it.")]
SaveMapping = Annotated[str | None, typer.Option(
    "--save-mapping", metavar="FILE", help="Write the mapping used to FILE (JSON), for --mapping next time.")]
Match = Annotated[str, typer.Option("--match", help="Duplicate keys, comma-separated: email, phone, external_id.")]
OnDuplicate = Annotated[str, typer.Option(
    "--on-duplicate", help="skip (keep the existing lead), merge (fill its empty fields), update (overwrite "
                           "with the file's values), create (import anyway).")]
StatusMap = Annotated[list[str] | None, typer.Option(
    "--status-map", help='"SOURCE STATUS=status" (repeatable), e.g. "Hot=qualified".', show_default=False)]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Source for rows that have none.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner for rows that have none.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the mapping and the counts; write nothing.")]
Rejects = Annotated[str | None, typer.Option(
    "--rejects", metavar="FILE", help="Write invalid rows there (the original row + an error column).")]
MaxRejects = Annotated[str, typer.Option(
    "--max-rejects", metavar="N|P%", help="Invalid rows allowed before the run fails (default 0: none).")]
DayFirst = Annotated[bool, typer.Option("--day-first", help="Read ambiguous dates like 03/04/2025 as d/M/yyyy.")]
Missing = Annotated[list[str] | None, typer.Option(
    "--missing", help="Another text meaning 'no value' (repeatable; built in: empty, Select, unknown, #N/A, "
                      "N/A, null, nan).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")]
Reprocess = Annotated[bool, typer.Option(
    "--reprocess", help="Read every row even if this exact file was imported before with the same options "
                        "(otherwise recognised by its SHA-256 and recorded as all skipped).")]


@app.command("file", cls=FileCommand)
def import_file(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The CSV (or .csv.gz) file; - reads stdin.")],
    encoding: Encoding = "auto",
    delimiter: Delimiter = "auto",
    map: MapOpt = None,
    mapping: MappingFileOpt = None,
    save_mapping: SaveMapping = None,
    match: Match = "email,phone,external_id",
    on_duplicate: OnDuplicate = "skip",
    status_map: StatusMap = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    dry_run: DryRun = False,
    rejects: Rejects = None,
    max_rejects: MaxRejects = "0",
    day_first: DayFirst = False,
    missing: Missing = None,
    json: JsonOpt = False,
    reprocess: Reprocess = False,
) -> None:
    """Import leads from a CSV file (or stdin), in one transaction.

    Columns are mapped by name; every other column is kept as a custom field. Re-importing the
    same file changes nothing.

    \b
    Example:
      leadcli import examples/leads.csv
      leadcli import hubspot.csv --on-duplicate merge --rejects bad.csv --max-rejects 1%
      leadcli import export.csv --map "Deal Size=value" --status-map "Hot=qualified" --dry-run
      curl -s https://crm.example.com/leads.csv | leadcli -q import - --mapping crm.json --json
    """
    from leadcli import ingest, store
    from leadcli.ingest import columns as mapping_module

    options = ingest.ImportOptions(encoding=encoding, delimiter=delimiter, on_duplicate=on_duplicate.lower(),
                                   source=source, owner=owner, dry_run=dry_run, rejects_path=rejects,
                                   max_rejects=max_rejects, day_first=day_first, missing=list(missing or []),
                                   reprocess=reprocess)
    if mapping:
        saved = mapping_module.load_mapping_file(mapping)
        options.columns.update(saved.columns)
        options.statuses.update(saved.statuses)
        options.missing.extend(saved.missing)
    typed = mapping_module.parse_map_options(list(map or []))
    options.columns.update(typed)
    options.typed_columns = set(typed)
    options.statuses.update(mapping_module.parse_map_options(list(status_map or []), "--status-map"))
    options.match = tuple(k.strip().lower().replace("-", "_") for k in match.split(",") if k.strip())
    options.check()

    try:
        with _progress() as tick:
            report = ingest.import_file(file, options, progress=tick, db=store.Store())
    except ingest.TooManyRejects as exc:
        if dry_run and exc.report is not None and not json:
            from leadcli import output

            output.rows(exc.report.mapping.rows(exc.report.sample), ["column", "field", "how", "sample"],
                        title=f"{exc.report.file}: {exc.report.encoding}, delimiter {exc.report.delimiter}")
        raise
    if save_mapping:
        _save(save_mapping, report.mapping.as_file())
    _render(report, json)


def _render(report: Any, as_json: bool) -> None:
    from leadcli import output

    summary = report.summary()
    for warning in report.warnings:
        output.warn(warning)
    if as_json:
        if report.dry_run:
            summary["mapping"] = report.mapping.rows()
        output.line(output.dumps(summary))
    elif report.dry_run:
        output.rows(report.mapping.rows(report.sample), ["column", "field", "how", "sample"],
                    title=f"{report.file}: {report.encoding}, delimiter {report.delimiter}")
    for message in report.first_errors[:3]:
        output.warn(message)
    verb = "would import" if report.dry_run else "imported"
    run = f"run {report.run_id}: " if report.run_id else ""
    output.message(f"{run}{verb} {report.rows} row(s) from {report.file} ({report.encoding}, "
                   f"delimiter {report.delimiter}): {report.created} created, {report.updated} updated, "
                   f"{report.skipped} skipped, {report.rejected} rejected")
    if report.repeat_of:
        output.message(f"(this exact file was imported in run {report.repeat_of} with the same options, so its rows "
                       "were not read again; --reprocess reads them anyway)")
    elif report.same_file_runs and not report.dry_run:
        output.message(f"(the same file was imported before in run(s) {', '.join(map(str, report.same_file_runs))})")


def _save(path: str, data: dict) -> None:
    import json as json_module
    from pathlib import Path

    from leadcli import output

    Path(path).expanduser().write_text(json_module.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    output.message(f"mapping saved to {path}")


class _progress:
    """A Rich progress bar on stderr, only on a terminal and without --quiet."""

    def __enter__(self):
        import sys

        from leadcli import output

        self.bar = None
        if output.settings.quiet or not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                            console=output.console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("import", total=None)
        return self.tick

    def tick(self, done: int, total: int | None) -> None:
        if done < 0:
            self.bar.update(self.task, description="writing")
            return
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command("runs")
def runs() -> None:
    """List import runs, newest first: file, time, counts, and whether it was undone.

    \b
    Example:
      leadcli import runs
      leadcli import runs --format json
    """
    from leadcli import ingest, output, store
    from leadcli.output import Column

    with store.session() as s:
        records = ingest.list_runs(s)
    table = [Column("id", justify="right"), Column("file", max_width=30), Column("started_at", header="when"),
             Column("rows", justify="right"), Column("created", justify="right"), Column("updated", justify="right"),
             Column("skipped", justify="right"), Column("rejected", justify="right"),
             Column("undone_at", header="undone", drop=1)]
    output.rows(records, ["id", "file", "started_at", "rows", "created", "updated", "skipped", "rejected",
                          "encoding", "delimiter", "sha256", "undone_at"], table_columns=table,
                empty="no imports yet")


@app.command("undo")
def undo(
    run_id: Annotated[int, typer.Argument(help="The run's id (see `leadcli import runs`).")],
    force: Annotated[bool, typer.Option("--force", help="Also delete created leads changed since.")] = False,
) -> None:
    """Undo an import run: delete the leads it created and restore the fields it updated.

    \b
    Example:
      leadcli import undo 3
    """
    from leadcli import ingest, output, store

    with store.session(write=True) as s:
        result = ingest.undo_run(s, run_id, force=force)
    output.message(f"undid import run {run_id}: deleted {result['deleted']} lead(s), "
                   f"restored {result['restored']} lead(s)")
