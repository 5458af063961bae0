"""leadcli report lost-reasons, cost, deals and rates: registered on the report app by `report`."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._options import GradeOpt, OwnerOpt, SearchOpt, SourceOpt, TagOpt
from leadcli.commands._report_options import AllTimeOpt, SinceOpt, UntilOpt, scope


def lost_reasons(
    since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False,
    source: SourceOpt = None, owner: OwnerOpt = None, tag: TagOpt = None,
    grade: GradeOpt = None, search: SearchOpt = None,
) -> None:
    """Why leads were disqualified: each reason's count and share (reasons compared ignoring case).

    \b
    Example:
      leadcli report lost-reasons
      leadcli report lost-reasons --source "Cold Call" --all-time
    """
    from leadcli import reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(None, source, owner, tag, grade, search, since, until, all_time)
    with current_store().session() as s:
        render.lost_reasons(reports.lost_reasons(s, sc))


def cost(
    spend: Annotated[str, typer.Option("--spend", metavar="FILE", help="A CSV of source,spend (and optionally "
                                       "period, currency): what each source cost.")],
    by: Annotated[str, typer.Option("--by", help="The lead field the spend file is keyed by.")] = "source",
    currency: Annotated[str | None, typer.Option(
        "--currency", help="The spend's currency when the file has no currency column.")] = None,
    since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False,
    owner: OwnerOpt = None, tag: TagOpt = None, grade: GradeOpt = None,
) -> None:
    """Cost per lead, cost per conversion and ROI % ((converted value − spend) × 100 / spend).

    With a period column in the file, leads are counted by the period they were created in.

    \b
    Example:
      leadcli report cost --spend spend.csv
      leadcli report cost --spend spend-by-month.csv --currency USD
    """
    from leadcli import reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(None, None, owner, tag, grade, None, since, until, all_time)
    with current_store().session() as s:
        render.cost(reports.cost(s, sc, spend, by=by, currency=currency))


def deals(
    by: Annotated[str | None, typer.Option(
        "--by", help="owner, source (the lead's), status, created:PERIOD or closed:PERIOD.")] = "owner",
    since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False, owner: OwnerOpt = None,
) -> None:
    """Deal conversion: won × 100 / (won + lost) of the deals created in the window.

    \b
    Example:
      leadcli report deals
      leadcli report deals --by closed:month --all-time
    """
    from leadcli import reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(None, None, owner, None, None, None, since, until, all_time)
    with current_store().session() as s:
        render.deals(reports.deals(s, sc, by), by)


def rates_set(
    pairs: Annotated[list[str], typer.Argument(metavar="CUR=RATE...",
                                               help="One unit of CUR is worth RATE of the base.")],
    base: Annotated[str, typer.Option("--base", help="The currency the rates are in.")] = "USD",
) -> None:
    """Set exchange rates (one unit of CUR = RATE units of --base).

    \b
    Example:
      leadcli report rates set EUR=1.08 GBP=1.27 --base USD
    """
    from leadcli import output, reports
    from leadcli.commands._context import current_store
    from leadcli.errors import EXIT_USAGE, InvalidValue

    try:
        with current_store().session(write=True) as s:
            saved = reports.set_rates(s, pairs, base)
    except InvalidValue as exc:  # every rate comes from the command line: a usage error
        exc.exit_code = EXIT_USAGE
        raise
    output.message(f"saved {len(saved)} rate(s)")


def rates_list() -> None:
    """The exchange rates set.

    \b
    Example:
      leadcli report rates list
    """
    from leadcli import output, reports
    from leadcli.commands._context import current_store

    with current_store().session() as s:
        rows = reports.list_rates(s)
    output.rows(rows, ["currency", "base", "rate", "updated_at"], empty="no rates set")
