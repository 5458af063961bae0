"""leadcli log, next, done: record what was done with a lead and plan what comes next."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

WHEN_HELP = ("today, tomorrow, a weekday (fri), +3d, +2w, +4h, next week, YYYY-MM-DD [HH:MM], now; local time "
             "(TZ); a day without a time means 09:00")


class LogType(str, Enum):
    call = "call"
    email = "email"
    meeting = "meeting"
    note = "note"
    task = "task"


class PlanType(str, Enum):
    call = "call"
    email = "email"
    meeting = "meeting"
    task = "task"


LeadArg = Annotated[int, typer.Argument(help="The lead's id.", show_default=False)]
OutcomeOpt = Annotated[str | None, typer.Option(
    "--outcome", "-o", help="What came of it: reached, no answer, voicemail, wrong number, busy, sent, replied, "
                            "bounced, held, no show, or your own words.")]
OwnerOpt = Annotated[str | None, typer.Option(
    "--owner", help="Whose activity it is (default: the lead's owner, else you; `me`: you).")]


def log(
    lead_id: LeadArg,
    kind: Annotated[LogType, typer.Argument(metavar="TYPE", help="call, email, meeting, note or task.",
                                            case_sensitive=False, show_default=False)],
    text: Annotated[str | None, typer.Argument(metavar="TEXT", help="What was done or said.",
                                               show_default=False)] = None,
    outcome: OutcomeOpt = None,
    at: Annotated[str | None, typer.Option("--at", metavar="WHEN",
                                           help=f"When it happened (default: now): {WHEN_HELP}.")] = None,
    duration: Annotated[str | None, typer.Option("--duration", "-d", metavar="D",
                                                 help="How long: 15 (minutes), 15m, 1h30m, 90s, 0:45.")] = None,
    owner: OwnerOpt = None,
) -> None:
    """Record a call, e-mail, meeting, note or task done with a lead; prints the activity's id.

    \b
    Example:
      leadcli log 42 call "asked for a quote" --outcome reached --duration 12m
      leadcli log 42 call --outcome "no answer" --at "yesterday 16:30"
    """
    from leadcli import activities, when
    from leadcli.commands._context import current_store

    moment = when.parse(at, "at") if at else None
    seconds = activities.duration(duration)
    with current_store().session(write=True) as s:
        activity = activities.log(s, lead_id, kind.value, text, outcome_text=outcome, at=moment,
                                  duration_s=seconds, owner=owner)
        record = activities.record(activity)
    _print(record, f"logged {record['type']} #{record['id']} on lead #{lead_id}")


def next_action(
    lead_id: LeadArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What to do, e.g. \"call back about pricing\".",
                                        show_default=False)],
    due: Annotated[str, typer.Option("--due", metavar="WHEN", help=f"When it is due: {WHEN_HELP}.",
                                     show_default=False)],
    kind: Annotated[PlanType, typer.Option("--type", "-t", case_sensitive=False,
                                           help="call, email, meeting or task.")] = PlanType.task,
    owner: OwnerOpt = None,
) -> None:
    """Plan a lead's next action, due at WHEN; prints the new activity's id.

    \b
    Example:
      leadcli next 42 "call back about pricing" --due tomorrow --type call
      leadcli next 42 "send the contract" --due "2026-12-03 14:00"
    """
    from leadcli import activities, when
    from leadcli.commands._context import current_store

    moment = when.parse(due, "due")
    with current_store().session(write=True) as s:
        activity = activities.plan(s, lead_id, text, moment, kind=kind.value, owner=owner)
        record = activities.record(activity)
    late = " (overdue)" if record["due_at"] < when.now_iso() else ""
    _print(record, f"planned {record['type']} #{record['id']} on lead #{lead_id}, due "
                   f"{when.local_text(record['due_at'])}{late}")


def done(
    activity_id: Annotated[int, typer.Argument(help="The activity's id (see `leadcli today`).", show_default=False)],
    outcome: OutcomeOpt = None,
    next_text: Annotated[str | None, typer.Option("--next", metavar="TEXT",
                                                  help="Plan the following action in the same step.")] = None,
    due: Annotated[str | None, typer.Option("--due", metavar="WHEN",
                                            help=f"When the following action is due: {WHEN_HELP}.")] = None,
    kind: Annotated[PlanType | None, typer.Option("--type", "-t", case_sensitive=False, show_default=False,
                                                  help="The following action's type (default: this one's).")] = None,
) -> None:
    """Mark a planned activity done and optionally plan the next one; prints the new one's id.

    \b
    Example:
      leadcli done 17 --outcome reached
      leadcli done 17 --outcome "no answer" --next "try again" --due "+2d"
    """
    from leadcli import activities, when
    from leadcli.commands._context import current_store
    from leadcli.errors import UsageError

    if (next_text is None) != (due is None):
        raise UsageError("--next and --due go together", hint='e.g. --next "send the quote" --due fri')
    moment = when.parse(due, "due") if due else None
    with current_store().session(write=True) as s:
        result = activities.complete(s, activity_id, outcome_text=outcome, next_text=next_text, next_due=moment,
                                     next_kind=kind.value if kind else None)
        finished = activities.record(result.done)
        following = activities.record(result.next) if result.next else None
    note = f"done: {finished['type']} #{finished['id']}" + (f" ({finished['outcome']})" if finished["outcome"] else "")
    if following is None:
        from leadcli import output

        if output.current_format() in ("json", "jsonl"):
            output.card(finished, title="", fields=[])
        output.message(note)
        return
    _print(following, f"{note}; planned {following['type']} #{following['id']}, due "
                      f"{when.local_text(following['due_at'])}")


def _print(record: dict, note: str) -> None:
    from leadcli import output

    if output.current_format() in ("json", "jsonl"):
        output.card(record, title="", fields=[])
    else:
        output.line(str(record["id"]))
    output.message(note)
