"""leadcli export."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from leadcli.commands._options import (
    ArchivedOpt,
    DescOpt,
    GradeOpt,
    OwnerOpt,
    SearchOpt,
    SinceOpt,
    SourceOpt,
    StatusOpt,
    TagOpt,
    UntilOpt,
    lead_filter,
)


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


FormatOpt = Annotated[ExportFormat | None, typer.Option(
    "--format", "-f", case_sensitive=False, help="csv (default), json or jsonl.", show_default=False)]
OutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o", metavar="FILE", help="Write to FILE (created readable by you only, written whole or not at "
                                           "all) instead of stdout; an existing FILE needs --force.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the --output file if it exists.")]
RawOpt = Annotated[bool, typer.Option(
    "--raw", help="CSV cells exactly as stored: no ' before a leading =, +, -, @ (phones stay +1831...). "
                  "Unsafe to open in a spreadsheet.")]
SortOpt = Annotated[str | None, typer.Option("--sort", help="Sort by a field of `list --sort` (default: id).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Export at most N leads.")]


def export(
    view: Annotated[str | None, typer.Argument(metavar="@VIEW", help="A saved view's filters and sort.",
                                               show_default=False)] = None,
    status: StatusOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    grade: GradeOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    archived: ArchivedOpt = False,
    format: FormatOpt = None,
    output_file: OutputOpt = None,
    sort: SortOpt = None,
    desc: DescOpt = None,
    limit: LimitOpt = None,
    force: ForceOpt = False,
    raw: RawOpt = False,
) -> None:
    """Export leads (the filters of list) as CSV, JSON or JSON Lines; `leadcli import` reads it back.

    CSV cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading ' (so a
    phone reads '+1831...); `leadcli import` removes it again. --raw writes the values as stored.

    \b
    Example:
      leadcli export > leads.csv
      leadcli export --status converted --since 2025-01-01 --format jsonl --output won.jsonl
      leadcli export @hot-web --format jsonl > hot.jsonl
      leadcli export --raw --output leads.csv --force
    """
    from leadcli import export as exporting
    from leadcli import output
    from leadcli.commands._context import current_store
    from leadcli.leads import LEAD_KEYS
    from leadcli.output_files import private_output

    fmt = format.value if format else (output.settings.format if output.settings.format in ("csv", "json", "jsonl")
                                       else "csv")
    flt = lead_filter(status, source, owner, tag, grade, search, since, until, archived)
    with current_store().session() as s:
        if view is not None:
            flt, sort, desc, limit = _from_view(s, view, (status, source, owner, tag, grade, search, since, until),
                                                archived, sort, desc, limit)
        records = exporting.iter_records(s, flt, sort=sort or "id", desc=desc, limit=limit, next_action=True,
                                         last_activity=True)
        keys = [*LEAD_KEYS, *exporting.ACTIVITY_KEYS]
        if output_file:
            with private_output(output_file, force=force) as fh:
                count = output.stream(records, keys, fmt, fh, raw=raw)
        else:
            count = output.stream(records, keys, fmt, raw=raw)
    output.message(f"exported {count} lead(s)" + (f" to {output_file}" if output_file else ""))


def _from_view(s, view: str, given: tuple, archived: bool, sort, desc, limit) -> tuple:
    """The filter, sort, order and limit of the view `@NAME`, the options given winning."""
    from leadcli import views

    if views.reference(view) is None:
        raise typer.BadParameter(f"{view!r} is not a saved view; write @NAME (see `leadcli view list`)",
                                 param_hint="@VIEW")
    status, source, owner, tag, grade, search, since, until = given
    opts = views.resolve(s, view, views.ViewOptions(
        status=[st.value for st in status or []], source=source, owner=owner, tag=tag, grade=grade, search=search,
        since=since, until=until, archived=archived or None, sort=sort, desc=desc, limit=limit))
    return opts.lead_filter(), opts.sort, opts.desc, opts.limit or None
