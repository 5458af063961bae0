"""Options and the report scope shared by the `leadcli report` commands."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class DateField(str, Enum):
    created = "created"
    converted = "converted"


class Measure(str, Enum):
    count = "count"  # type: ignore[assignment]  # the option's value, not str.count
    value = "value"


ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Group by a lead field (source, owner, status, grade, company...), tag, a custom field "
                 "(field.NAME) or a date with a period (created:month, converted:quarter; "
                 "day|week|month|quarter|year).", show_default=False)]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="From DATE on --date-field (YYYY-MM-DD, today, this-week, this-month, last-month, "
                    "this-quarter, ytd, 30d...) [default: 1 January of this year].",
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

    # A bad date is an InvalidValue naming the option: the CLI makes it a usage error (exit 2).
    return None if value is None else validate.user_date(value, option.lstrip("-"), end_of_day=end_of_day)


def view_scope(view: str, status, source, owner, tag, grade, search, since, until, all_time,
               date_field=DateField.created, as_of=None):
    """The scope of a saved view `@NAME`, the options given beside it winning over the view's."""
    from leadcli import reports, views
    from leadcli.commands._context import current_store
    from leadcli.query import build_filter

    if views.reference(view) is None:
        raise typer.BadParameter(f"{view!r} is not a saved view; write @NAME (see `leadcli view list`)",
                                 param_hint="@VIEW")
    given = views.ViewOptions(status=[st.value for st in status or []], source=source, owner=owner, tag=tag,
                              grade=grade, search=search, since=since, until=until)
    with current_store().session() as s:
        opts = views.resolve(s, view, given)
    flt = build_filter(opts.status, opts.source, opts.owner, opts.tag, opts.grade, opts.search, archived=True)
    return reports.default_scope(
        flt, since=_date(opts.since, "--since"), until=_date(opts.until, "--until", end_of_day=True),
        all_time=all_time, date_field=date_field.value, as_of=_date(as_of, "--as-of", end_of_day=True))
