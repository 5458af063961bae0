"""Options shared by several commands, defined once."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from leadcli.query import LeadFilter


class StatusName(str, Enum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    converted = "converted"
    disqualified = "disqualified"


Ids = Annotated[Optional[list[int]], typer.Argument(help="Lead ids; without ids the filters pick the leads.",
                                                    show_default=False)]
StatusOpt = Annotated[Optional[list[StatusName]], typer.Option(
    "--status", help="Only leads in this status (repeat for several).", show_default=False)]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Only leads from this source (any case).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Only leads of this owner (any case).")]
TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Only leads with this tag.")]
GradeOpt = Annotated[Optional[str], typer.Option("--grade", help="Only leads with this score grade (A-D).")]
SearchOpt = Annotated[Optional[str], typer.Option(
    "--search", help="Text found in name, e-mail, company, phone or external id.")]
SinceOpt = Annotated[Optional[str], typer.Option(
    "--since", help="Created on or after DATE (YYYY-MM-DD, ISO time, today, 30d...).")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Created on or before DATE (the whole day).")]
ArchivedOpt = Annotated[bool, typer.Option("--archived", help="Include archived leads.")]
DescOpt = Annotated[Optional[bool], typer.Option("--desc/--asc", help="Force the sort direction.",
                                                 show_default=False)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def lead_filter(status: Optional[list[StatusName]] = None, source: Optional[str] = None,
                owner: Optional[str] = None, tag: Optional[str] = None, grade: Optional[str] = None,
                search: Optional[str] = None, since: Optional[str] = None, until: Optional[str] = None,
                archived: bool = False, ids: Optional[list[int]] = None) -> LeadFilter:
    from leadcli import validate

    if grade is not None and grade.upper() not in ("A", "B", "C", "D"):
        raise typer.BadParameter(f"{grade!r} is not a grade; use A, B, C or D", param_hint="--grade")
    since_at = validate.user_date(since, "since") if since else None
    until_at = validate.user_date(until, "until", end_of_day=True) if until else None
    validate.date_window(since_at, until_at)
    return LeadFilter(
        statuses=[s.value for s in status or []],
        source=validate.clean_text(source), owner=validate.clean_text(owner),
        tag=" ".join(tag.split()) or None if tag is not None else None, grade=grade, search=search,
        since=since_at,
        until=until_at,
        include_archived=archived,
        ids=list(ids or []),
    )


def confirm_bulk(action: str, count: int, yes: bool) -> None:
    """Ask before changing many leads on a terminal; scripts must pass --yes."""
    import sys

    from leadcli.errors import UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{action} would change {count} lead(s) picked by filters",
                         hint="pass --yes to confirm in a script")
    if not typer.confirm(f"{action} {count} lead(s)?", default=False, err=True):
        raise typer.Exit(1)
