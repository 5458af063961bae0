"""leadcli duplicates: groups of leads that are probably the same person; `ignore` marks a pair as two people."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.cli import OutputFormat

app = typer.Typer(help="Find leads that are probably the same person (merge them with `leadcli merge`).",
                  invoke_without_command=True)

FormatOpt = Annotated[OutputFormat | None, typer.Option(
    "--format", "-f", case_sensitive=False, show_default=False, help="Output format, as the global --format.")]


@app.callback()
def duplicates(ctx: typer.Context, format: FormatOpt = None) -> None:
    """Find leads that are probably the same person (merge them with `leadcli merge`).

    Evidence: the same e-mail, phone (any format) or external id, or the same name (accents and
    case ignored) at the same company or company e-mail domain. Placeholder e-mails and phones,
    free-mail domains and keys shared by more than 20 leads (a switchboard) are no evidence.

    \b
    Example:
      leadcli duplicates
      leadcli duplicates --format json
      leadcli merge 12 40          # keep #12, merge #40 into it
      leadcli duplicates ignore 12 40
    """
    if ctx.invoked_subcommand is not None:
        return
    from leadcli import duplicate_scan, output
    from leadcli.commands._context import current_store
    from leadcli.output import Column

    if format is not None:
        output.settings.format = format.value
    with current_store().session() as s:
        groups = duplicate_scan.scan(s)
    fmt = output.current_format()
    if fmt not in ("json", "jsonl"):
        groups = [{**g, "lead_ids": " ".join(map(str, g["lead_ids"])),
                   "names": " | ".join(n or "" for n in g["names"])} for g in groups]
    table = [Column("group", fixed=True), Column("lead_ids", header="leads"), Column("names", max_width=50),
             Column("why", max_width=60)]
    output.rows(groups, ["group", "lead_ids", "why", "names"], table_columns=table,
                empty="no probable duplicates")
    if groups:
        output.message(f"{len(groups)} group(s); merge with `leadcli merge KEEP DUP...`, "
                       "or `leadcli duplicates ignore ID ID` for different people")


@app.command("ignore")
def ignore(
    first: Annotated[int, typer.Argument(help="A lead id.", show_default=False)],
    second: Annotated[int, typer.Argument(help="Another lead id: a different person.", show_default=False)],
) -> None:
    """Mark two leads as different people: `duplicates` stops proposing the pair.

    \b
    Example:
      leadcli duplicates ignore 12 40
    """
    from leadcli import duplicate_scan, output
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        added = duplicate_scan.ignore(s, first, second)
    output.message(f"#{first} and #{second} are different people" + ("" if added else " (already marked)"))
