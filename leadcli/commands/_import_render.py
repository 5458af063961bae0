"""What `leadcli import` shows: the summary, the mapping, the progress bar; the saved mapping file."""

from __future__ import annotations

from typing import Any


def render(report: Any, as_json: bool) -> None:
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


def save_mapping(path: str, data: dict) -> None:
    import json as json_module
    from pathlib import Path

    from leadcli import output

    Path(path).expanduser().write_text(json_module.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    output.message(f"mapping saved to {path}")


class Progress:
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
