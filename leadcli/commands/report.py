"""leadcli report: conversion, funnel, time-to-convert, lost-reasons, cost and currency rates."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from leadcli.commands._options import GradeOpt, OwnerOpt, SearchOpt, SourceOpt, StatusOpt, TagOpt

app = typer.Typer(help="Conversion reports: rates by source, owner or period, the funnel, time to convert, "
                       "lost reasons, cost per lead.", no_args_is_help=True)
rates_app = typer.Typer(help="Currency rates used to add up values in several currencies.", no_args_is_help=True)
app.add_typer(rates_app, name="rates")


class DateField(str, Enum):
    created = "created"
    converted = "converted"


class Measure(str, Enum):
    count = "count"
    value = "value"


ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Group by a lead field (source, owner, status, grade, company...), tag, a custom field "
                 "(field.NAME) or a date with a period (created:month, converted:quarter; "
                 "day|week|month|quarter|year).", show_default=False)]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="From DATE (YYYY-MM-DD, today, 30d...) on --date-field [default: 1 January of this year].",
    show_default=False)]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Up to DATE, the whole day, on --date-field.")]
AllTimeOpt = Annotated[bool, typer.Option("--all-time", help="Every lead, not only this year's.")]
DateFieldOpt = Annotated[DateField, typer.Option(
    "--date-field", help="created: leads created in the window and how many of them converted; converted: "
                         "leads created in the window and conversions made in it (a rate can pass 100).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="The report as it stood at the end of DATE, rebuilt from the status history.")]


def scope(status, source, owner, tag, grade, search, since, until, all_time, date_field=DateField.created,
          as_of=None):
    from leadcli import reports
    from leadcli.commands._options import lead_filter

    flt = lead_filter(status, source, owner, tag, grade, search, archived=True)
    return reports.default_scope(
        flt, since=_date(since, "--since"), until=_date(until, "--until", end_of_day=True), all_time=all_time,
        date_field=date_field.value, as_of=_date(as_of, "--as-of", end_of_day=True))


def _date(value: str | None, option: str, end_of_day: bool = False) -> str | None:
    from leadcli import validate
    from leadcli.errors import InvalidValue

    if value is None:
        return None
    try:
        return validate.user_date(value, option.lstrip("-"), end_of_day=end_of_day)
    except InvalidValue as exc:
        raise typer.BadParameter(f"{exc.reason}; {exc.hint}", param_hint=option) from None


@app.command("conversion")
def conversion(
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
      leadcli report conversion > report.csv
    """
    from leadcli import output, reports
    from leadcli.commands import _report_render as render
    from leadcli.commands._context import current_store

    sc = scope(status, source, owner, tag, grade, search, since, until, all_time, date_field, as_of)
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


@app.command("lost-reasons")
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


@app.command("cost")
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


@app.command("deals")
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


@rates_app.command("set")
def rates_set(
    pairs: Annotated[list[str], typer.Argument(metavar="CUR=RATE...", help="One unit of CUR is worth RATE of the base.")],
    base: Annotated[str, typer.Option("--base", help="The currency the rates are in.")] = "USD",
) -> None:
    """Set exchange rates (one unit of CUR = RATE units of --base).

    \b
    Example:
      leadcli report rates set EUR=1.08 GBP=1.27 --base USD
    """
    from leadcli import output, reports
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        saved = reports.set_rates(s, pairs, base)
    output.message(f"saved {len(saved)} rate(s)")


@rates_app.command("list")
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
