"""leadcli list."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from leadcli.commands._options import (ArchivedOpt, DescOpt, GradeOpt, OwnerOpt, SearchOpt, SinceOpt, SourceOpt,
                                       StatusOpt, TagOpt, UntilOpt, lead_filter)
from leadcli.query import SORT_FIELDS

SortOpt = Annotated[Optional[str], typer.Option(
    "--sort", help=f"Sort by {', '.join(SORT_FIELDS)} (numbers and dates largest first).")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="Show at most N leads.")]


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
    from leadcli import db, leads

    flt = lead_filter(status, source, owner, tag, grade, search, since, until, archived)
    with db.session() as s:
        records = leads.list_leads(s, flt, sort=sort, desc=desc, limit=limit)
    render(records)


def render(records: list[dict]) -> None:
    from leadcli import output
    from leadcli.leads import LEAD_KEYS
    from leadcli.output import Column

    if output.current_format() == "table":
        records = [{**r, "display_name": r["name"] or f"Lead #{r['id']}"} for r in records]
    table = [
        Column("id", justify="right"), Column("display_name", header="name", max_width=28),
        Column("company", max_width=24, drop=1), Column("email", max_width=30, drop=3), Column("source", max_width=16, drop=2),
        Column("owner", max_width=14, drop=4), Column("status", fixed=True),
        Column("value", justify="right"), Column("currency", header="", fixed=True),
        Column("score", justify="right"), Column("grade", header="gr", fixed=True),
        Column("created_at", header="created", fixed=True, drop=5, fmt=lambda v: (v or "")[:10]),
    ]
    output.rows(records, list(LEAD_KEYS), table_columns=table, empty="no leads match",
                caption=f"{len(records)} lead(s)" if len(records) > 10 else None)
