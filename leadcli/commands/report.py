"""leadcli report: conversion, funnel, time-to-convert, lost-reasons, cost and currency rates."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands import _report_more as more
from leadcli.commands import day_reports
from leadcli.commands._options import GradeOpt, OwnerOpt, SearchOpt, SourceOpt, StatusOpt, TagOpt
from leadcli.commands._report_options import (
    AllTimeOpt,
    AsOfOpt,
    ByOpt,
    DateField,
    DateFieldOpt,
    Measure,
    SinceOpt,
    UntilOpt,
    scope,
    view_scope,
)

app = typer.Typer(help="Conversion reports: rates by source, owner or period, the funnel, time to convert, "
                       "lost reasons, cost per lead.", no_args_is_help=True)
rates_app = typer.Typer(help="Currency rates used to add up values in several currencies.", no_args_is_help=True)
app.add_typer(rates_app, name="rates")


@app.command("conversion")
def conversion(
    view: Annotated[str | None, typer.Argument(metavar="@VIEW", help="A saved view's filters (`leadcli view "
                                                                      "save`).", show_default=False)] = None,
    by: ByOpt = "source",
    measure: Annotated[Measure, typer.Option("--measure", help="count, or value: sums of lead value too.")]
    = Measure.count,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="With --measure value: convert values into this currency with the rates set by "
                           "`leadcli report rates set`.")] = None,
    since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False,
    date_field: DateFieldOpt = DateField.created,
    status: StatusOpt = None, source: SourceOpt = None, owner: OwnerOpt = None, tag: TagOpt = None,
    grade: GradeOpt = None, search: SearchOpt = None,
    scorecard: Annotated[bool, typer.Option("--scorecard", help="Only the overall rate, as a big number.")] = False,
    drill: Annotated[str | None, typer.Option(
        "--drill", metavar="GROUP", help="The leads behind one group, converted ones marked.")] = None,
    as_of: AsOfOpt = None,
    traffic: Annotated[str | None, typer.Option(
        "--traffic", metavar="FILE", help="A CSV of period,source,visitors,sessions[,spend]: leads per visitor "
                                          "and conversions per session.")] = None,
) -> None:
    """Conversion rate (converted × 100 / leads) by source, owner, period..., with a bar chart.

    Counts leads created this calendar year unless --since/--until/--all-time say otherwise.
    Archived leads count. A lead with several tags counts once per tag under --by tag.

    \b
    Example:
      leadcli report conversion
      leadcli report conversion --by created:month --since 2026-01-01
      leadcli report conversion --by owner --measure value --currency USD
      leadcli report conversion --as-of 2026-06-30 --scorecard
      leadcli report conversion --drill Web
      leadcli report conversion @hot-web --by owner
      leadcli report conversion > report.csv
    """
    from leadcli import output, reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    args = (status, source, owner, tag, grade, search, since, until, all_time, date_field, as_of)
    sc = view_scope(view, *args) if view is not None else scope(*args)
    with current_store().session() as s:
        if traffic:
            render.traffic(reports.traffic(s, sc, traffic))
        elif drill is not None:
            render.drill(reports.drill(s, sc, by, drill), drill)
        elif scorecard:
            render.scorecard(reports.conversion_overall(s, sc, measure=measure.value, currency=currency), sc)
        else:
            result = reports.conversion(s, sc, by, measure=measure.value, currency=currency)
            for note in result.notes:
                output.warn(note)
            render.conversion(result, sc)


@app.command("funnel")
def funnel(
    strict: Annotated[bool, typer.Option("--strict", help="Count a lead at a stage only if its history passed "
                                                          "every earlier stage, in order.")] = False,
    since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False,
    status: StatusOpt = None, source: SourceOpt = None, owner: OwnerOpt = None, tag: TagOpt = None,
    grade: GradeOpt = None, search: SearchOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Leads reaching each stage (new, contacted, qualified, converted), from the status history.

    A disqualified lead counts only at the stages it reached before.

    \b
    Example:
      leadcli report funnel
      leadcli report funnel --strict --source Web --all-time
    """
    from leadcli import reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(status, source, owner, tag, grade, search, since, until, all_time, as_of=as_of)
    with current_store().session() as s:
        render.funnel(reports.funnel(s, sc, strict=strict), strict)


@app.command("time-to-convert")
def time_to_convert(
    by: ByOpt = None, since: SinceOpt = None, until: UntilOpt = None, all_time: AllTimeOpt = False,
    date_field: DateFieldOpt = DateField.created,
    status: StatusOpt = None, source: SourceOpt = None, owner: OwnerOpt = None, tag: TagOpt = None,
    grade: GradeOpt = None, search: SearchOpt = None,
) -> None:
    """Days from creation to conversion of converted leads: median, mean and 90th percentile.

    \b
    Example:
      leadcli report time-to-convert
      leadcli report time-to-convert --by source --all-time
    """
    from leadcli import reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(status, source, owner, tag, grade, search, since, until, all_time, date_field)
    with current_store().session() as s:
        render.time_to_convert(reports.time_to_convert(s, sc, by), by)
        unknown = reports.converted_without_date(s, sc)
    if unknown:
        from leadcli import output

        output.warn(f"{unknown} converted lead(s) left out: their conversion date is unknown")


app.command("lost-reasons")(more.lost_reasons)
app.command("cost")(more.cost)
app.command("deals")(more.deals)
app.command("aging")(day_reports.aging)
app.command("activity")(day_reports.activity)
rates_app.command("set")(more.rates_set)
rates_app.command("list")(more.rates_list)
