"""leadcli score grades and score file: registered on the score app by `score`."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def grades(
    a: Annotated[int | None, typer.Option("--a", min=1, max=100, help="Lowest score of grade A.")] = None,
    b: Annotated[int | None, typer.Option("--b", min=1, max=100, help="Lowest score of grade B.")] = None,
    c: Annotated[int | None, typer.Option("--c", min=1, max=100, help="Lowest score of grade C.")] = None,
) -> None:
    """Show or set the grade bands (default: relative to the base rate, see README); re-grades scored leads.

    \b
    Example:
      leadcli score grades
      leadcli score grades --a 80 --b 60 --c 30
    """
    from leadcli import output, scoring
    from leadcli.commands._context import current_store

    with current_store().session(write=a is not None or b is not None or c is not None) as s:
        if a is None and b is None and c is None:
            bands = scoring.grade_bands(s)
        else:
            changed = scoring.set_grade_bands(s, a, b, c)
            bands = changed["bands"]
            output.message(f"grade bands saved; {changed['regraded']:,} scored lead(s) re-graded")
    output.rows(scoring.band_rows(bands), ["grade", "from", "to"])


def file(
    path: Annotated[str, typer.Argument(metavar="FILE", help="A CSV file (or - for stdin), read as `import` reads it.",
                                        show_default=False)],
    output_path: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                                       help="Write the scored CSV here (default: stdout).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="auto, or the file's encoding (e.g. cp1252).")] = "auto",
    delimiter: Annotated[str, typer.Option("--delimiter", help="auto, or , ; tab |")] = "auto",
) -> None:
    """Score the leads of a CSV without importing them: the file comes back with score, grade and reasons.

    \b
    Example:
      leadcli score file prospects.csv --output prospects-scored.csv
      leadcli score file prospects.csv | sort -t, -k5 -rn | head
    """
    from leadcli import output, scoring_file
    from leadcli.commands._context import current_store
    from leadcli.commands._score_render import render_file_scores

    with current_store().session() as s:
        result = scoring_file.score_file(s, path, encoding=encoding, delimiter=delimiter)
    render_file_scores(result, output_path)
    output.message(f"scored {result.scored:,} row(s) of {path}" + (f" into {output_path}" if output_path else "")
                   + (f"; {result.unreadable:,} row(s) could not be read (see the reason column)"
                      if result.unreadable else ""))


def parse_since(text: str | None) -> str | None:
    """--holdout-since DATE as a stored moment (ISO, UTC)."""
    if text is None:
        return None
    from leadcli import when

    return when.to_iso(when.parse(text, "--holdout-since"))


def needs_training(s: Any) -> bool:
    """For `score train --if-stale`: True when there is no usable model or it is stale (said on stderr)."""
    from leadcli import output, scoring, scoring_health
    from leadcli.errors import LeadcliError

    try:
        model = scoring.active_model(s)
    except LeadcliError:
        model = None
    if model is None:
        return True
    health = scoring_health.staleness(s, model)
    if health["stale"]:
        output.message(f"model #{model.id} is stale ({'; '.join(health['stale_reasons'])}): retraining")
        return True
    output.message(f"model #{model.id} is current: not retrained")
    return False


def warn_stale(s: Any) -> None:
    """A warning line on stderr when the active model is stale (for `list` and `score explain`)."""
    from leadcli import output, scoring_health

    health = scoring_health.active_staleness(s)
    if health and health["stale"]:
        output.warn(f"the scoring model is stale: {'; '.join(health['stale_reasons'])} "
                    "(retrain: `leadcli score train --if-stale`)")


def warn_skipped(s: Any, existing: list[int]) -> None:
    """Ids `score run` left alone although they exist: closed leads, or scores pinned by hand."""
    from leadcli import output, scoring_pins

    pinned = [i for i in existing if scoring_pins.get_pin(s, i) is not None]
    closed = [i for i in existing if i not in pinned]
    if closed:
        output.warn(f"not scored (closed: only open leads get scores): {', '.join(map(str, closed))}")
    if pinned:
        output.warn(f"not scored (pinned by hand; `leadcli score unset ID` releases): {', '.join(map(str, pinned))}")



def model(
    model_id: Annotated[int | None, typer.Argument(help="An older model's id (default: the active one).",
                                                      show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", help="List every stored model instead.")] = False,
    calibration: Annotated[bool, typer.Option("--calibration", help="Only the calibration rows: predicted vs "
                                                                    "converted % per decile.")] = False,
) -> None:
    """Show the active model: backtest by time and random split, calibration, readiness, fields and leaks.

    \b
    Example:
      leadcli score model
      leadcli score model --list
      leadcli --format json score model 3
      leadcli --format csv score model --calibration
    """
    from leadcli import output, scoring, scoring_health
    from leadcli.commands._context import current_store
    from leadcli.commands._score_render import calibration_chart, render_model

    with current_store().session() as s:
        if list_:
            output.rows(scoring.list_models(s), empty="no models yet: `leadcli score train`")
            return
        active = scoring.active_model(s)
        chosen = scoring.get_model(s, model_id) if model_id is not None else scoring.require_model(s)
        summary = scoring.model_summary(chosen, active=active is not None and active.id == chosen.id)
        summary |= scoring_health.staleness(s, chosen)
    if calibration:
        calibration_chart(summary.get("backtest") or {})
    else:
        render_model(summary)
