"""leadcli view: save the filters, sort and columns of `list` under a name; list and delete them."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._options import (
    DescOpt,
    GradeOpt,
    OwnerOpt,
    SearchOpt,
    SinceOpt,
    SourceOpt,
    StatusOpt,
    TagOpt,
    UntilOpt,
)

app = typer.Typer(help="Saved views: name the filters of list once, then use them as @NAME.",
                  no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The view's name (letters, digits, - _ .).", show_default=False)]
SortOpt = Annotated[str | None, typer.Option("--sort", help="Sort by a field of `list --sort`.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=0, help="Show at most N leads (0: all).")]
ColumnsOpt = Annotated[str | None, typer.Option(
    "--columns", help="The lead columns to show, comma-separated (e.g. id,name,owner,score).")]
ArchivedOpt = Annotated[bool | None, typer.Option("--archived/--no-archived", help="Include archived leads.",
                                                    show_default=False)]


@app.command("save")
def save(
    name: NameArg,
    status: StatusOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    grade: GradeOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    archived: ArchivedOpt = None,
    sort: SortOpt = None,
    desc: DescOpt = None,
    limit: LimitOpt = None,
    columns: ColumnsOpt = None,
) -> None:
    """Save (or replace) a view: the filters of list, a sort and the columns to show.

    Dates are kept as written, so `--since 30d` always means the last 30 days.

    \b
    Example:
      leadcli view save hot-web --source web --grade A --since 30d --sort score
      leadcli list @hot-web
      leadcli export @hot-web --format jsonl > hot.jsonl
    """
    from leadcli import output, views
    from leadcli.commands._context import current_store

    options = views.ViewOptions(
        status=[s.value for s in status or []], source=source, owner=owner, tag=tag, grade=grade, search=search,
        since=since, until=until, archived=archived, sort=sort, desc=desc, limit=limit,
        columns=[c.strip() for c in (columns or "").split(",") if c.strip()],
    )
    with current_store().session(write=True) as s:
        view, replaced = views.save(s, name, options)
        key = view.name
    output.message(f"{'replaced' if replaced else 'saved'} view @{key}")


@app.command("list")
def list_views() -> None:
    """List the saved views and what each one selects.

    \b
    Example:
      leadcli view list
      leadcli view list --format json
    """
    from leadcli import output, views
    from leadcli.commands._context import current_store
    from leadcli.output import Column

    with current_store().session() as s:
        records = views.list_views(s)
    if output.current_format() == "table":
        records = [{**r, "selects": _describe(r)} for r in records]
    table = [Column("name"), Column("selects", max_width=80), Column("updated_at", header="updated", fixed=True,
                                                                       fmt=lambda v: (v or "")[:10])]
    output.rows(records, ["name", *views.KEYS, "created_at", "updated_at"], table_columns=table,
                empty="no saved views; save one with `leadcli view save NAME --status new ...`")


def _describe(record: dict) -> str:
    from leadcli.views import KEYS

    parts = []
    for key in KEYS:
        value = record.get(key)
        if key == "desc" and value is not None:
            parts.append("--desc" if value else "--asc")
            continue
        if value is None or value == [] or value is False:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"--{key}" if value is True else f"--{key} {value}")
    return " ".join(parts)


@app.command("delete")
def delete(name: NameArg) -> None:
    """Delete a saved view.

    \b
    Example:
      leadcli view delete hot-web
    """
    from leadcli import output, views
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        views.delete(s, name)
    output.message(f"deleted view @{views.view_name(name)}")
