"""The options of `leadcli import FILE`, defined once, and the routing of `import FILE` beside its subcommands."""

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
    "--rejects", metavar="FILE", help="Write rejected rows and flagged values there (the original row + status, "
                                      "row, column, value, error).")]
MaxRejects = Annotated[str | None, typer.Option(
    "--max-rejects", metavar="N|P%", help="Rejected rows allowed before the run fails (default: any, each "
                                          "listed; with --strict: none).")]
DayFirst = Annotated[bool, typer.Option("--day-first", help="Read ambiguous dates like 03/04/2025 as d/M/yyyy.")]
Missing = Annotated[list[str] | None, typer.Option(
    "--missing", help="Another text meaning 'no value', e.g. Select or unknown (repeatable; built in: empty, "
                      "NULL, N/A, #N/A, NaN, -).", show_default=False)]
Strict = Annotated[bool, typer.Option(
    "--strict", help="A value that does not parse rejects its row (default: kept as written, row flagged).")]
CurrencyOpt = Annotated[str | None, typer.Option(
    "--currency", metavar="CUR", help="The currency of amounts written with `$` or no currency at all.")]
Sheet = Annotated[str | None, typer.Option("--sheet", metavar="NAME", help="The sheet of an .xlsx file "
                                                                            "(default: the first).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")]
Reprocess = Annotated[bool, typer.Option(
    "--reprocess", help="Read every row even if this exact file was imported before with the same options "
                        "(otherwise recognised by its SHA-256 and recorded as all skipped).")]
Assign = Annotated[str | None, typer.Option("--assign", help="Owners for new leads no rule routes: "
                                                             "round-robin:A,B or least-open:A,B.")]
MaxFieldSize = Annotated[str, typer.Option(
    "--max-field-size", metavar="BYTES", help="The longest field (or line) read, e.g. 64M or 1G; a longer one "
                                              "stops the import naming its record and column.")]
