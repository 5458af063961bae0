"""`report aging` and `report activity`: stages by days spent in them, and activities by owner and week.

Command functions for the `report` group (registered there as `aging` and `activity`).
"""

from __future__ import annotations

from typing import Annotated

import typer

SetOpt = Annotated[list[str] | None, typer.Option(
    "--stale-after", metavar="STAGE=DAYS", show_default=False,
    help="Set a stage's stale threshold, stored in the database (defaults: new=2, contacted=7, qualified=14).")]


def aging(stale_after: SetOpt = None) -> None:
    """Open leads per stage by days in the stage (from the status history), stale counts, and the days
    converted leads spent in each stage (median, p90).

    \b
    Example:
      leadcli report aging
      leadcli report aging --stale-after contacted=10
    """
    from leadcli import agenda
    from leadcli.activities import set_stale_days
    from leadcli.commands._context import current_store

    changes = dict(_stage_days(item) for item in stale_after or [])
    with current_store().session(write=bool(changes)) as s:
        if changes:
            set_stale_days(s, changes)
        rows = agenda.aging(s)
    from leadcli import output
    from leadcli.agenda import AGING_BUCKETS
    from leadcli.output import Column

    columns = [Column("stage"), Column("open", justify="right"),
               *(Column(label, justify="right") for label, _ in AGING_BUCKETS),
               Column("stale", justify="right"), Column("stale_after_days", header="stale after", justify="right"),
               Column("converted_through", header="converted via", justify="right"),
               Column("median_days", header="median d", justify="right"),
               Column("p90_days", header="p90 d", justify="right")]
    output.rows(rows, columns, title="Aging: days in the current stage; converted leads' days per stage")


def _stage_days(item: str) -> tuple[str, float]:
    stage, sep, days = item.partition("=")
    try:
        value = float(days)
    except ValueError:
        value = -1
    if not sep or value <= 0:
        raise typer.BadParameter(f"{item!r} is not STAGE=DAYS (e.g. contacted=10)", param_hint="--stale-after")
    return stage.strip().lower(), value


def activity(
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's activities (`me`: you).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Activities on or after DATE.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Activities on or before DATE (the whole day).")] = None,
    speed: Annotated[bool, typer.Option("--speed-to-lead", help="Only the conversion by how soon leads were "
                                                                "first reached.")] = False,
) -> None:
    """Activities per owner per week by type and outcome, and conversion by speed to lead
    (first reached within 1 hour / 1 day / later of coming in).

    \b
    Example:
      leadcli report activity --since 30d
      leadcli report activity --speed-to-lead --format json
    """
    from leadcli import agenda, output, validate
    from leadcli.commands._context import current_store

    since_at = validate.user_date(since, "since") if since else None
    until_at = validate.user_date(until, "until", end_of_day=True) if until else None
    with current_store().session() as s:
        counts = [] if speed else agenda.activity_counts(s, since=since_at, until=until_at, owner=owner)
        fast = agenda.speed_to_lead(s)
    if speed or output.current_format() == "table":
        output.rows(fast, ["reached", "total", "converted", "rate"], title="Speed to lead: conversion by first reach")
    if not speed:
        output.rows(counts, ["week", "owner", "type", "outcome", "activities"], title="Activities per week",
                    empty="no activities logged")
