"""leadcli list."""

from __future__ import annotations

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
)
from leadcli.query import SORT_FIELDS

SortOpt = Annotated[str | None, typer.Option(
    "--sort", help=f"Sort by {', '.join(SORT_FIELDS)} (numbers and dates largest first).")]
LimitOpt = Annotated[int | None, typer.Option(
    "--limit", "-n", min=0, help="Show at most N leads (0: all). On a terminal the default is 50; "
                                 "in a pipe or a file, every lead.")]
ViewArg = Annotated[str | None, typer.Argument(
    metavar="@VIEW", show_default=False, help="A saved view (`leadcli view list`); options given win over it.")]
DueOpt = Annotated[str | None, typer.Option(
    "--due", metavar="today|overdue|week", help="Only leads with a next action due then (local days).")]
NoNextOpt = Annotated[bool, typer.Option("--no-next-action", help="Only open leads with no planned activity.")]
StaleOpt = Annotated[bool, typer.Option(
    "--stale", help="Only open leads in their stage past its threshold (see `leadcli report aging`).")]
FieldOpt = Annotated[list[str] | None, typer.Option(
    "--field", metavar="KEY=VALUE", show_default=False, help="Only leads whose custom field KEY is VALUE (any case).")]
MineOpt = Annotated[bool, typer.Option("--mine", help="Only your leads (as --owner me).")]
TERMINAL_LIMIT = 50


def list_leads(
    view: ViewArg = None, status: StatusOpt = None, source: SourceOpt = None, owner: OwnerOpt = None,
    tag: TagOpt = None, grade: GradeOpt = None, search: SearchOpt = None, since: SinceOpt = None,
    until: UntilOpt = None, archived: ArchivedOpt = False, due: DueOpt = None, no_next_action: NoNextOpt = False,
    stale: StaleOpt = False, field: FieldOpt = None, mine: MineOpt = False, sort: SortOpt = None,
    desc: DescOpt = None, limit: LimitOpt = None,
) -> None:
    """List leads, newest first, with filters.

    A terminal shows who to call: name, company, phone, status, score (once scored) and next action.

    \b
    Example:
      leadcli list --status new --source referral --limit 20
      leadcli list --sort score --grade A
      leadcli list --due today          (also: overdue, week; --no-next-action, --stale)
      leadcli list @my-hot-leads        (a saved view: leadcli view save NAME [filters])
      leadcli list --format json > leads.json
    """
    from leadcli import leads, output
    from leadcli.commands._context import current_store
    from leadcli.commands._list_view import list_filter
    from leadcli.commands._score_more import warn_stale

    with current_store().session() as s:
        warn_stale(s)
        flt, shown = list_filter(s, view, {
            "status": status, "source": source, "owner": "me" if mine else owner, "tag": tag, "grade": grade,
            "search": search, "since": since, "until": until, "archived": archived, "sort": sort, "desc": desc,
            "limit": limit},
            due=due, no_next_action=no_next_action, stale=stale, custom=field or [])
        fmt = output.current_format()
        if fmt in ("csv", "json", "jsonl"):
            # A pipe gets each lead as it is read: the first line at once, memory flat at any size.
            from leadcli.export import iter_records

            stream = iter_records(s, flt, sort=shown["sort"], desc=shown["desc"], limit=shown["limit"] or None,
                                  next_action=True)
            if output.stream(stream, [*leads.LEAD_KEYS, "next_action_at"], fmt) == 0 and fmt == "csv":
                _say_empty(s, flt)
            return
        # A table on a terminal is for reading: the first screenfuls, and how many there are in all.
        paged = shown["limit"] is None and fmt == "table"
        wanted = TERMINAL_LIMIT + 1 if paged else (shown["limit"] or None)
        total = None
        records = leads.list_leads(s, flt, sort=shown["sort"], desc=shown["desc"], limit=wanted)
        if paged and len(records) > TERMINAL_LIMIT:
            records = records[:TERMINAL_LIMIT]
            total = leads.count_leads(s, flt)
        if not records:
            _say_empty(s, flt)
            return
    render(records, total)


def _say_empty(s, flt) -> None:
    from leadcli import leads, output
    from leadcli.query import LeadFilter

    if output.current_format() != "table" and output.current_format() != "markdown":
        return
    if flt.is_empty() and leads.count_leads(s, LeadFilter(include_archived=True)) == 0:
        output.message('no leads yet: add one with `leadcli add "Ana Silva" --phone +1 555 0100`, '
                       "or bring a CSV in with `leadcli import leads.csv`")
    else:
        output.message("no leads match")


def render(records: list[dict], total: int | None = None) -> None:
    from leadcli import output
    from leadcli.commands._list_view import table_columns
    from leadcli.leads import LEAD_KEYS

    table = table_columns(records) if output.current_format() == "table" else None
    caption = f"{len(records)} lead(s)" if len(records) > 10 else None
    if total is not None:
        caption = (f"the first {len(records)} of {total:,} leads; --limit N shows more (0: all), "
                   "and a pipe or --format csv gets every one")
    output.rows(records, [*LEAD_KEYS, "next_action_at"], table_columns=table, empty="no leads match",
                caption=caption)
