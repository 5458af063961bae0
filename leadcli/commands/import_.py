"""leadcli import FILE | import runs | import undo RUN_ID."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._import_options import (
    Assign,
    CurrencyOpt,
    DayFirst,
    Delimiter,
    DryRun,
    Encoding,
    FileCommand,
    ImportGroup,
    JsonOpt,
    MapOpt,
    MappingFileOpt,
    Match,
    MaxFieldSize,
    MaxRejects,
    Missing,
    OnDuplicate,
    OwnerOpt,
    Rejects,
    Reprocess,
    SaveMapping,
    Sheet,
    SourceOpt,
    StatusMap,
    Strict,
)

app = typer.Typer(
    cls=ImportGroup,
    no_args_is_help=True,
    help="Import a CRM's CSV export (Salesforce, HubSpot, Pipedrive, Zoho, Bitrix24, a spreadsheet).\n\n"
         "Run `leadcli import FILE --help` for every option of an import.\n\n"
         "\b\nExample:\n  leadcli import export.csv\n  leadcli import runs\n  leadcli import undo 3",
)


@app.command("file", cls=FileCommand)
def import_file(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="The CSV, .csv.gz or .xlsx file; - reads stdin.")],
    encoding: Encoding = "auto",
    delimiter: Delimiter = "auto",
    map: MapOpt = None,
    mapping: MappingFileOpt = None,
    save_mapping_to: SaveMapping = None,
    match: Match = "email,phone,external_id",
    on_duplicate: OnDuplicate = "skip",
    status_map: StatusMap = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    dry_run: DryRun = False,
    rejects: Rejects = None,
    max_rejects: MaxRejects = None,
    day_first: DayFirst = False,
    missing: Missing = None,
    json: JsonOpt = False,
    assign: Assign = None,
    reprocess: Reprocess = False,
    strict: Strict = False,
    currency: CurrencyOpt = None,
    sheet: Sheet = None,
    max_field_size: MaxFieldSize = "64M",
) -> None:
    """Import leads from a CSV or .xlsx file (or stdin), in one transaction.

    Columns are mapped by name, the others kept as custom fields. A value that does not parse is kept
    as written (`<Column> (as written)`) and its row flagged; only rows that cannot be a lead are
    rejected (--strict rejects bad values too). Re-importing the same file changes nothing.

    \b
    Example:
      leadcli import examples/leads.csv
      leadcli import hubspot.csv --on-duplicate merge --rejects bad.csv --max-rejects 1%
      leadcli import export.csv --map "Deal Size=value" --status-map "Hot=qualified" --dry-run
      curl -s https://crm.example.com/leads.csv | leadcli -q import - --mapping crm.json --json
    """
    from leadcli import ingest
    from leadcli.commands import _events
    from leadcli.commands._context import current_store
    from leadcli.commands._import_render import render, render_json, render_mapping, save_mapping, with_progress

    options = ingest.ImportOptions(
        encoding=encoding, delimiter=delimiter, on_duplicate=on_duplicate.lower(), source=source, owner=owner,
        dry_run=dry_run, rejects_path=rejects, max_rejects=max_rejects, day_first=day_first, sheet=sheet, strict=strict,
        missing=list(missing or []), reprocess=reprocess, currency=currency, max_field_size=max_field_size)
    options.add_mappings(mapping, list(map or []), list(status_map or []), match)
    _events.check_assign(assign)
    try:
        report = with_progress(lambda bar: ingest.import_file(file, options, progress=bar.tick, phase=bar.phase,
                                                              db=current_store()))
    except ingest.TooManyRejects as exc:
        if exc.report is not None and (json or dry_run):
            render_json(exc.report) if json else render_mapping(exc.report)
        raise
    if save_mapping_to:
        save_mapping(save_mapping_to, report.mapping.as_file())
    render(report, json)
    _events.after_import(report, assign, dry_run)


@app.command("runs")
def runs() -> None:
    """List import runs, newest first: file, time, counts, and whether it was undone.

    \b
    Example:
      leadcli import runs
      leadcli import runs --format json
    """
    from leadcli import ingest
    from leadcli.commands._context import current_store
    from leadcli.commands._import_render import render_runs

    with current_store().session() as s:
        records = ingest.list_runs(s)
    render_runs(records)


@app.command("undo")
def undo(
    run_id: Annotated[int, typer.Argument(help="The run's id (see `leadcli import runs`).", min=1, max=2**63 - 1)],
    force: Annotated[bool, typer.Option("--force", help="Also delete created leads changed since.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Undo an import run: delete the leads it created and restore the fields it updated.

    \b
    Example:
      leadcli import undo 3
      leadcli import undo 3 --yes      (in a script)
    """
    from leadcli import ingest, output
    from leadcli.commands._context import current_store
    from leadcli.commands._options import confirm

    confirm(f"Undo import run {run_id} (delete the leads it created, restore those it updated)?", yes,
            refused=f"undo would delete the leads import run {run_id} created")
    with current_store().session(write=True) as s:
        result = ingest.undo_run(s, run_id, force=force)
    output.message(f"undid import run {run_id}: deleted {result['deleted']} lead(s), "
                   f"restored {result['restored']} lead(s)")
