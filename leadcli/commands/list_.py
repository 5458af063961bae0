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
    lead_filter,
)
from leadcli.query import SORT_FIELDS

SortOpt = Annotated[str | None, typer.Option(
    "--sort", help=f"Sort by {', '.join(SORT_FIELDS)} (numbers and dates largest first).")]
LimitOpt = Annotated[int | None, typer.Option(
    "--limit", "-n", min=0, help="Show at most N leads (0: all). On a terminal the default is 50; "
                                 "in a pipe or a file, every lead.")]
TERMINAL_LIMIT = 50


def list_leads(
    status: StatusOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    grade: GradeOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    archived: ArchivedOpt = False,
    sort: SortOpt = None,
    desc: DescOpt = None,
    limit: LimitOpt = None,
) -> None:
    """List leads, newest first, with filters.

    \b
    Example:
      leadcli list --status new --source referral --limit 20
      leadcli list --sort score --grade A
      leadcli list --format json > leads.json
    """
    from leadcli import leads, output
    from leadcli.commands._context import current_store
    from leadcli.commands._score_more import warn_stale

    flt = lead_filter(status, source, owner, tag, grade, search, since, until, archived)
    # A table on a terminal is for reading: the first screenfuls, and how many there are in all.
    paged = limit is None and output.current_format() == "table"
    wanted = TERMINAL_LIMIT + 1 if paged else (limit or None)
    total = None
    with current_store().session() as s:
        records = leads.list_leads(s, flt, sort=sort, desc=desc, limit=wanted)
        if paged and len(records) > TERMINAL_LIMIT:
            records = records[:TERMINAL_LIMIT]
            total = leads.count_leads(s, flt)
        warn_stale(s)
    render(records, total)


def render(records: list[dict], total: int | None = None) -> None:
    from leadcli import output
    from leadcli.leads import LEAD_KEYS
    from leadcli.output import Column

    if output.current_format() == "table":
        records = [{**r, "display_name": r["name"] or f"Lead #{r['id']}"} for r in records]
    table = [
        Column("id", justify="right"), Column("display_name", header="name", max_width=28),
        Column("company", max_width=24, drop=1), Column("email", max_width=30, drop=3),
        Column("source", max_width=16, drop=2),
        Column("owner", max_width=14, drop=4), Column("status", fixed=True),
        Column("value", justify="right"), Column("currency", header="", fixed=True),
        Column("score", justify="right"), Column("grade", header="gr", fixed=True),
        Column("created_at", header="created", fixed=True, drop=5, fmt=lambda v: (v or "")[:10]),
    ]
    caption = f"{len(records)} lead(s)" if len(records) > 10 else None
    if total is not None:
        caption = (f"the first {len(records)} of {total:,} leads; --limit N shows more (0: all), "
                   "and a pipe or --format csv gets every one")
    output.rows(records, list(LEAD_KEYS), table_columns=table, empty="no leads match", caption=caption)
