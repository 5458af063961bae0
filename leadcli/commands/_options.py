"""Options shared by several commands, defined once."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from leadcli.query import LeadFilter


class StatusName(str, Enum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    converted = "converted"
    disqualified = "disqualified"


Ids = Annotated[list[int] | None, typer.Argument(help="Lead ids; without ids the filters pick the leads.",
                                                    show_default=False)]
StatusOpt = Annotated[list[StatusName] | None, typer.Option(
    "--status", help="Only leads in this status (repeat for several).", show_default=False)]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Only leads from this source (any case).")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only leads of this owner (any case).")]
TagOpt = Annotated[str | None, typer.Option("--tag", help="Only leads with this tag.")]
GradeOpt = Annotated[str | None, typer.Option("--grade", help="Only leads with this score grade (A-D).")]
SearchOpt = Annotated[str | None, typer.Option(
    "--search", help="Text found in name, e-mail, company, phone, title, notes, custom fields or external id "
                     "(any case, any accents).")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Created on or after DATE (YYYY-MM-DD, ISO time, today, this-week, this-month, last-month, "
                    "this-quarter, ytd, 30d...).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Created on or before DATE (the whole day; a period such as last-month to its end).")]
ArchivedOpt = Annotated[bool, typer.Option("--archived", help="Include archived leads.")]
DescOpt = Annotated[bool | None, typer.Option("--desc/--asc", help="Force the sort direction.",
                                                 show_default=False)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def lead_filter(status: list[StatusName] | None = None, source: str | None = None,
                owner: str | None = None, tag: str | None = None, grade: str | None = None,
                search: str | None = None, since: str | None = None, until: str | None = None,
                archived: bool = False, ids: list[int] | None = None) -> LeadFilter:
    from leadcli.query import GRADES, build_filter

    if grade is not None and grade.upper() not in GRADES:
        raise typer.BadParameter(f"{grade!r} is not a grade; use A, B, C or D", param_hint="--grade")
    return build_filter([s.value for s in status or []], source, owner, tag, grade, search, since, until,
                        archived, list(ids or []))


def confirm_bulk(action: str, count: int, yes: bool) -> None:
    """Ask before changing many leads on a terminal; scripts must pass --yes."""
    confirm(f"{action} {count} lead(s)?", yes, refused=f"{action} would change {count} lead(s) picked by filters")


def confirm(question: str, yes: bool, *, refused: str) -> None:
    """Ask `question` on a terminal (default no); in a script, `refused` is a usage error unless --yes.

    No (or end of input) exits 1 with "nothing changed"; Ctrl-C at the prompt exits 130.
    """
    import sys

    from typer.exceptions import Abort

    from leadcli import output
    from leadcli.errors import EXIT_DOMAIN, EXIT_INTERRUPTED, UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(refused, hint="pass --yes to confirm in a script")
    try:
        answer = typer.confirm(question, default=False, err=True)
    except Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            print(file=sys.stderr)
            output.message("interrupted: nothing changed")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        answer = False
    if not answer:
        output.message("nothing changed")
        raise typer.Exit(EXIT_DOMAIN)
