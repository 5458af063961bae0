"""leadcli score: train a model on closed leads, score open ones, explain a score, set grade bands."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands import _score_more as more
from leadcli.commands import _score_pin as pins

app = typer.Typer(help="Predictive lead scoring: train on converted and disqualified leads, score the open ones "
                       "0-100 with grades A-D, and explain each score.", no_args_is_help=True)

FieldsOpt = Annotated[str | None, typer.Option(
    "--fields", metavar="FIELD,...", help="Use exactly these fields (lead columns or custom fields; * wildcards).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="FIELD", help="Leave a field out, e.g. one filled in after contact (repeatable; "
                                       "* wildcards; commas allowed).", show_default=False)]


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


@app.command("train")
def train(
    fields: FieldsOpt = None, exclude: ExcludeOpt = None,
    holdout_since: Annotated[str | None, typer.Option(
        "--holdout-since", metavar="DATE", help="Backtest on the leads closed since DATE (default: the newest "
                                                "20 % by outcome date).")] = None,
    if_stale: Annotated[bool, typer.Option("--if-stale", help="Retrain only when the active model is stale "
                                                              "(for cron).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also print the model card on a terminal (as `leadcli score model`; "
                                "CSV and JSON always have it).")] = False,
) -> None:
    """Train a scoring model on converted (positive) and disqualified (negative) leads.

    Fields are chosen automatically (never ids, e-mails, phones, names or free text); the model is
    backtested on the most recently closed leads (and on a random split), and stored as JSON.

    \b
    Example:
      leadcli score train
      leadcli score train -v           (and the model card)
      leadcli score train --exclude Tags --exclude "Lead Quality"
      leadcli score train --holdout-since 2025-01-01
      leadcli score train --if-stale && leadcli score run --all
    """
    from leadcli import scoring, scoring_train
    from leadcli.commands._context import current_store

    since = more.parse_since(holdout_since)
    with current_store().session(write=True) as s:
        if if_stale and not more.needs_training(s):
            return
        result = scoring_train.train(s, fields=_split([fields] if fields else None), exclude=_split(exclude),
                                     holdout_since=since)
        model = scoring.get_model(s, result.model_id)
        open_leads = scoring.count_open(s)
    _render_trained(scoring.model_summary(model), result.warnings, open_leads, verbose)


@app.command("run")
def run(
    ids: Annotated[list[int] | None, typer.Argument(help="Lead ids to score.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Score every open lead.")] = False,
) -> None:
    """Score open leads with the active model: score 0-100, grade, trend, and a score history.

    \b
    Example:
      leadcli score run --all
      leadcli score run 12 15
    """
    from leadcli import scoring, scoring_health
    from leadcli.commands._context import current_store
    from leadcli.commands._score_render import render_run
    from leadcli.errors import UsageError

    if bool(ids) == all_:
        raise UsageError("give lead ids or --all (not both)", hint="e.g. leadcli score run --all")
    missing: list[int] = []
    with current_store().session(write=True) as s:
        model = scoring.require_model(s)
        scoring.require_trusted(model)
        result = scoring.score_leads(s, model, ids=ids if ids else None, keep_rows=bool(ids))
        if all_:
            scoring_health.record_drift(s, model, result.shares, result.scored)
        if result.skipped:
            closed, missing = scoring.closed_and_missing(s, result.skipped)
            more.warn_skipped(s, closed)
    render_run(result, by_id=bool(ids))
    if missing:
        from leadcli.errors import NotFound

        raise NotFound(f"no lead with id {', '.join(map(str, missing))}",
                       hint=("the other open leads were scored; " if result.scored else "")
                       + "find ids with `leadcli list --search TEXT`")


@app.command("explain")
def explain(lead_id: Annotated[int, typer.Argument(help="The lead's id.", show_default=False)]) -> None:
    """Show a lead's score, grade and trend and the top reasons for and against it, with evidence.

    \b
    Example:
      leadcli score explain 42
      leadcli --format json score explain 42
    """
    from leadcli import leads, scoring
    from leadcli.commands._context import current_store
    from leadcli.commands._score_render import render_explanation

    with current_store().session() as s:
        record = scoring.explain_lead(s, leads.get_lead(s, lead_id))
        more.warn_stale(s)
    render_explanation(record)


app.command("model")(more.model)
app.command("grades")(more.grades)
app.command("file")(more.file)
app.command("set")(pins.set_score)
app.command("unset")(pins.unset_score)


def _render_trained(summary: dict, warnings: list[str], open_leads: int, verbose: bool) -> None:
    """The model, its readiness and what next; the whole card with -v, and always in CSV or JSON (a script's
    record of what was trained)."""
    from leadcli import output
    from leadcli.commands._score_render import render_model

    output.message(f"trained model #{summary['id']}: a {summary['kind_name']}, because {summary['why']}")
    for warning in warnings:
        output.warn(warning)
    readiness = summary.get("readiness") or {}
    if verbose or output.current_format() != "table":
        render_model(summary)
    else:
        output.message(f"readiness: {readiness.get('verdict')}: {readiness.get('why')} "
                       "(the model card: `leadcli score model`, or `score train -v`)")
    if not summary.get("trusted", True):
        output.warn(f"this model cannot be trusted and scores nothing: {readiness.get('why')}")
    elif open_leads:
        output.message(f"next: `leadcli score run --all` scores the {open_leads:,} open lead(s)")
