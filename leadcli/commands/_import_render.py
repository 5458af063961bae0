"""What `leadcli import` shows: the summary, the mapping, the progress bar; the saved mapping file."""

from __future__ import annotations

from typing import Any


def render(report: Any, as_json: bool) -> None:
    from leadcli import output

    for warning in report.warnings:
        output.warn(warning)
    if as_json:
        render_json(report)
    elif report.dry_run:
        output.rows(report.mapping.rows(report.sample), ["column", "field", "how", "sample"],
                    title=f"{report.file}: {report.encoding}, delimiter {report.delimiter}")
    for message in report.first_errors[:3] + report.flag_notes[:3]:
        output.warn(message)
    verb = "would import" if report.dry_run else "imported"
    run = f"run {report.run_id}: " if report.run_id else ""
    output.message(f"{run}{verb} {report.rows} row(s) from {report.file} ({report.encoding}, "
                   f"delimiter {report.delimiter}): {report.created} created, {report.updated} updated, "
                   f"{report.skipped} skipped, {report.rejected} rejected, {report.flagged} flagged")
    if report.flagged and not report.rejects_file:
        output.message("(flagged rows keep the values that did not parse as `<Column> (as written)`; "
                       "--rejects FILE lists them)")
    if report.no_currency:
        output.message(f"({report.no_currency} amount(s) have no currency: give it with --currency CUR)")
    for column, count in report.status_dates.items():
        output.message(f"({count} converted or disqualified lead(s) dated by the column {column!r})")
    if report.repeat_of:
        output.message(f"(this exact file was imported in run {report.repeat_of} with the same options, so its rows "
                       "were not read again; --reprocess reads them anyway)")
    elif report.same_file_runs and not report.dry_run:
        output.message(f"(the same file was imported before in run(s) {', '.join(map(str, report.same_file_runs))})")


def render_json(report: Any) -> None:  # the same keys on every path: run, dry run, repeat, too many rejects
    from leadcli import output

    output.line(output.dumps(report.summary()))


def save_mapping(path: str, data: dict) -> None:
    import json as json_module

    from leadcli import output

    with output.open_private(path) as fh:  # whole or not at all, 0600, a link replaced rather than followed
        fh.write(json_module.dumps(data, indent=2, ensure_ascii=False) + "\n")
    output.message(f"mapping saved to {path}")


PHASES = ("reading", "writing", "checkpoint")


class Progress:
    """The import's phase, and a progress bar of it on stderr (on a terminal, without --quiet): by bytes
    while reading; pulsing, never full, while writing and checkpointing. `interrupted()`: after Ctrl-C."""

    def __init__(self, console=None) -> None:
        self.current, self.console = "", console
        self.bar: Any = None

    def __enter__(self) -> Progress:
        import sys

        from leadcli import output

        if self.console is None and (output.settings.quiet or not sys.stderr.isatty()):
            return self
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=True), BarColumn(),
                            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                            console=self.console or output.console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task(self._describe(), total=None, detail="")
        return self

    def _describe(self) -> str:
        # Marked in words as well as in style, so the phase shows with colours off too.
        at = PHASES.index(self.current) if self.current in PHASES else len(PHASES) if self.current else 0
        return " → ".join(f"{name} ✓" if i < at else f"[bold]{name}…[/bold]" if i == at else f"[dim]{name}[/dim]"
                          for i, name in enumerate(PHASES))

    def phase(self, name: str) -> None:
        self.current = name
        if self.bar is not None:
            # Reset, or the read's full bar counts as finished (its clock stops); total=None pulses.
            self.bar.reset(self.task, total=None, description=self._describe(), detail="")

    def tick(self, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        from rich.filesize import decimal

        shown = f"{decimal(done)}/{decimal(total)}" if total else decimal(done)
        self.bar.update(self.task, completed=done, total=total, detail=shown)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def interrupted(self) -> None:
        """After Ctrl-C: say whether the import was written, and exit 130."""
        import typer

        from leadcli import output
        from leadcli.errors import EXIT_INTERRUPTED

        if self.current in ("checkpoint", "done"):
            output.message("interrupted after the import was written (see `leadcli import runs`)")
        else:
            output.message("interrupted: nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED)


def with_progress(run: Any) -> Any:
    """`run(progress)` under a progress bar; Ctrl-C says whether anything was written and exits 130."""
    tracker = Progress()
    try:
        with tracker:
            return run(tracker)
    except KeyboardInterrupt:
        tracker.interrupted()


def render_runs(records: list[dict]) -> None:
    """`import runs`: one row a run, newest first."""
    from leadcli import output
    from leadcli.output import Column

    table = [Column("id", justify="right"), Column("file", max_width=30), Column("started_at", header="when"),
             Column("rows", justify="right"), Column("created", justify="right"), Column("updated", justify="right"),
             Column("skipped", justify="right"), Column("rejected", justify="right"),
             Column("undone_at", header="undone", drop=1)]
    output.rows(records, ["id", "file", "started_at", "rows", "created", "updated", "skipped", "rejected",
                          "encoding", "delimiter", "sha256", "undone_at"], table_columns=table,
                empty="no imports yet")


def render_mapping(report) -> None:
    """The columns a failed dry run read and what it made of them, so the mapping can be fixed."""
    from leadcli import output

    output.rows(report.mapping.rows(report.sample), ["column", "field", "how", "sample"],
                title=f"{report.file}: {report.encoding}, delimiter {report.delimiter}")
