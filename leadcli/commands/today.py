"""leadcli today (alias agenda): what is overdue, due today, coming up, and who has no next action."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class TodayFormat(str, Enum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    ics = "ics"


SHOWN = 50
DAYS = 7
COUNT_CAP = 1000  # leads without a next action are counted up to this on a terminal
TITLES = {"overdue": "Overdue", "today": "Due today", "upcoming": "Coming up",
          "no-next-action": "No next action, hottest first"}


def today(
    view: Annotated[str | None, typer.Argument(
        metavar="@VIEW", show_default=False, help="Only the leads of a saved view (`leadcli view list`).")] = None,
    owner: Annotated[str | None, typer.Option(
        "--owner", help="Only this owner's activities and leads (`me`: you).")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", min=0, max=366, show_default=False,
        help="Also show what is due in the next N days (default 7; an ics feed holds every planned "
             "activity unless N is given).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0,
                                       help="At most N leads without a next action (0: all).")] = 10,
    format: Annotated[TodayFormat | None, typer.Option(
        "--format", "-f", case_sensitive=False, show_default=False,
        help="auto, table, csv, json, jsonl, markdown (a mail digest) or ics (every open planned activity "
             "as an iCalendar feed).")] = None,
) -> None:
    """The day's agenda: overdue, due today, coming up, then open leads with no next action.

    Days are local days (TZ); a due date typed without a time is due at 09:00.

    \b
    Example:
      leadcli today
      leadcli agenda --owner me --days 3
      leadcli today --format markdown | mail -s "Today" me@example.com
      leadcli today --format ics > ~/calendars/leads.ics
    """
    from leadcli import agenda, output
    from leadcli.commands._context import current_store

    if format is not None and format is not TodayFormat.ics:
        output.settings.format = format.value
    with current_store().session() as s:
        picked = _view_filter(s, view)
        if format is TodayFormat.ics:
            output.ics(agenda.calendar_events(s, owner=owner, days=days, leads=picked))
        else:
            # A terminal or a mail shows the first rows of each section; csv and json get every one.
            shown = SHOWN if output.current_format() in ("table", "markdown") else None
            window = DAYS if days is None else days
            rows = agenda.agenda(s, owner=owner, days=window, no_action_limit=limit or None, shown=shown,
                                 leads=picked)
            counts = agenda.section_counts(s, owner=owner, days=window, cap=COUNT_CAP if shown else None,
                                           leads=picked)
    from leadcli.commands._events import activities_due

    activities_due()
    if format is TodayFormat.ics:
        return
    render(rows, counts)


def _view_filter(s, view: str | None):
    """The leads of `@VIEW` (its filters; `--owner me` read as you), or None for every lead."""
    if view is None:
        return None
    from dataclasses import replace

    from leadcli import views
    from leadcli.errors import UsageError
    from leadcli.query import owner_value

    if views.reference(view) is None:
        raise UsageError(f"unexpected argument {view!r}", hint="name a saved view as @NAME (see `leadcli view list`)",
                         exit_code=2)
    chosen = views.resolve(s, view)
    return replace(chosen.lead_filter(), owner=owner_value(chosen.owner))


def _count(counts: dict[str, int], section: str) -> str:
    """A section's count as a title shows it: past the cap, `1,000+`."""
    n = counts[section]
    return f"{COUNT_CAP:,}+" if section == "no-next-action" and n > COUNT_CAP else f"{n:,}"


def render(rows: list[dict], counts: dict[str, int]) -> None:
    from leadcli import output
    from leadcli.agenda import AGENDA_KEYS, SECTIONS
    from leadcli.output import Column

    fmt = output.current_format()
    if fmt == "markdown":
        from leadcli.commands._today_markdown import markdown

        markdown(rows, counts, TITLES, _count)
        return
    if fmt != "table":
        output.rows(rows, list(AGENDA_KEYS))
        return
    if not rows:
        output.message("nothing due and every open lead has a next action")
        return
    columns = [Column("activity_id", header="act", justify="right"), Column("lead_id", header="lead", justify="right"),
               Column("name", max_width=24), Column("company", max_width=20, drop=2),
               Column("phone", fixed=True, drop=3),
               Column("type", fixed=True), Column("text", max_width=40), Column("due_local", header="due", fixed=True),
               Column("late", header="", fixed=True)]
    lead_columns = [Column("lead_id", header="lead", justify="right"), Column("name", max_width=24),
                    Column("company", max_width=20, drop=2), Column("phone", fixed=True, drop=3),
                    Column("status", fixed=True), Column("score", justify="right")]
    for section in SECTIONS:
        part = [r for r in rows if r["section"] == section]
        if not part:
            continue
        total, caption = counts[section], None
        if total > len(part):
            caption = ("more: leadcli list --no-next-action" if section == "no-next-action"
                       else f"the first {len(part)} of {total:,}; --format csv or json lists them all")
        output.rows(part, table_columns=lead_columns if section == "no-next-action" else columns,
                    title=f"{TITLES[section]} ({_count(counts, section)})", caption=caption)
