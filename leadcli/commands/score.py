"""leadcli score: train a model on closed leads, score open ones, explain a score, set grade bands."""

from __future__ import annotations

from typing import Annotated

import typer

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
def train(fields: FieldsOpt = None, exclude: ExcludeOpt = None) -> None:
    """Train a scoring model on converted (positive) and disqualified (negative) leads.

    Fields are chosen automatically (never ids, e-mails, phones, names or free text); the model,
    its hold-out metrics and a readiness verdict are stored in the database as JSON.

    \b
    Example:
      leadcli score train
      leadcli score train --exclude Tags --exclude "Lead Quality"
      leadcli score train --fields source,Industry,Employees
    """
    from leadcli import output, scoring, scoring_train, store
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        result = scoring_train.train(s, fields=_split([fields] if fields else None), exclude=_split(exclude))
        model = scoring.get_model(s, result.model_id)
        open_leads = store.raw_connection(s).execute(
            "SELECT count(*) FROM lead WHERE status IN ('new', 'contacted', 'qualified')").fetchone()[0]
    summary = scoring.model_summary(model)
    output.message(f"trained model #{model.id}: a {summary['kind_name']}, because {summary['why']}")
    for warning in result.warnings:
        output.warn(warning)
    render_model(summary)
    if open_leads:
        output.message(f"next: `leadcli score run --all` scores the {open_leads:,} open lead(s)")


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
    from leadcli import output, scoring, store
    from leadcli.commands._context import current_store
    from leadcli.errors import UsageError

    if bool(ids) == all_:
        raise UsageError("give lead ids or --all (not both)", hint="e.g. leadcli score run --all")
    missing: list[int] = []
    with current_store().session(write=True) as s:
        model = scoring.require_model(s)
        result = scoring.score_leads(s, model, ids=ids if ids else None, keep_rows=bool(ids))
        if result.skipped:
            import json

            known = {i for (i,) in store.raw_connection(s).execute(
                "SELECT value FROM json_each(?) WHERE value IN (SELECT id FROM lead)", (json.dumps(result.skipped),))}
            missing = [i for i in result.skipped if i not in known]
            closed = [i for i in result.skipped if i in known]
            if closed:
                output.warn(f"not scored (closed: only open leads get scores): {', '.join(map(str, closed))}")
    output.message(f"scored {result.scored:,} open lead(s) with model #{result.model_id}")
    if ids:
        output.rows(result.rows, ["id", "score", "grade", "trend", "previous"], empty="no open leads to score")
        if missing:
            from leadcli.errors import NotFound

            raise NotFound(f"no lead with id {', '.join(map(str, missing))}",
                           hint=("the other open leads were scored; " if result.scored else "")
                           + "find ids with `leadcli list --search TEXT`")
        return
    total = max(1, result.scored)
    output.bars([{"grade": g, "leads": result.grades.get(g, 0), "share": round(100 * result.grades.get(g, 0) / total, 1)}
                 for g in "ABCD"], ["grade", output.Column("leads", justify="right"),
                                    output.Column("share", header="%", justify="right",
                                                  fmt=lambda v: f"{v:.1f}")], value_key="leads")


@app.command("explain")
def explain(lead_id: Annotated[int, typer.Argument(help="The lead's id.", show_default=False)]) -> None:
    """Show a lead's score, grade and trend and the top reasons for and against it, with evidence.

    \b
    Example:
      leadcli score explain 42
      leadcli --format json score explain 42
    """
    from leadcli import leads, output, scoring
    from leadcli.commands._context import current_store
    from leadcli.output import Section

    with current_store().session() as s:
        lead = leads.get_lead(s, lead_id)
        model = scoring.require_model(s)
        ex = scoring.explain(model, scoring.lead_values(model, lead))
        record = {"id": lead.id, "name": lead.display_name, "status": lead.status, "score": ex.score,
                  "grade": scoring.grade_for(ex.score, scoring.grade_bands(s)), "trend": lead.trend,
                  "stored_score": lead.score, "probability": round(ex.probability, 4), "model": model.id,
                  "for": ex.reasons_for, "against": ex.reasons_against, "history": scoring.history(s, lead.id)}
    stored = "" if record["stored_score"] in (None, ex.score) else \
        f" (stored score {record['stored_score']}; `leadcli score run {lead_id}` updates it)"
    fields = [("score", f"{ex.score} / 100{stored}"), ("grade", record["grade"]),
              ("trend", record["trend"] or "not enough info"), ("status", record["status"]),
              ("chance to convert", f"{ex.probability * 100:.1f} %"), ("model", f"#{model.id} ({model.kind})")]
    cols = [output.Column("points", justify="right"), output.Column("text", header="reason", wrap=True)]
    output.card(record, title=f"Lead #{lead.id}: {record['name']}", fields=fields,
                sections=[Section("Reasons for", [{"points": f"+{r['points']}", "text": r["text"]}
                                                  for r in ex.reasons_for], cols),
                          Section("Reasons against", [{"points": str(r["points"]), "text": r["text"]}
                                                      for r in ex.reasons_against], cols),
                          Section("Score history", record["history"])],
                flat={k: v for k, v in record.items() if k not in ("for", "against", "history")}
                | {"reasons_for": " | ".join(r["text"] for r in ex.reasons_for),
                   "reasons_against": " | ".join(r["text"] for r in ex.reasons_against)})


@app.command("model")
def model(
    model_id: Annotated[int | None, typer.Argument(help="An older model's id (default: the active one).",
                                                      show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", help="List every stored model instead.")] = False,
) -> None:
    """Show the active model: data used, hold-out metrics, influential fields, readiness and leaks.

    \b
    Example:
      leadcli score model
      leadcli score model --list
      leadcli --format json score model 3
    """
    from leadcli import output, scoring
    from leadcli.commands._context import current_store

    with current_store().session() as s:
        if list_:
            output.rows(scoring.list_models(s), empty="no models yet: `leadcli score train`")
            return
        active = scoring.active_model(s)
        chosen = scoring.get_model(s, model_id) if model_id is not None else scoring.require_model(s)
        summary = scoring.model_summary(chosen, active=active is not None and active.id == chosen.id)
    render_model(summary)


def render_model(m: dict) -> None:
    from leadcli import output
    from leadcli.output import Column, Section

    metrics = m["metrics"] or {}
    counts = m["counts"] or {}
    window = m["window"] or {}
    held = (f"{metrics['holdout']:,} leads: AUC {metrics['auc']}, Brier {metrics['brier']}, "
            f"accuracy {metrics['accuracy'] * 100:.1f} %, top 10 % convert at {metrics['top_decile_rate']} % "
            f"(base {metrics['base_rate']} %)") if metrics else "not measured (too few outcomes)"
    readiness = m["readiness"] or {}
    fields = [
        ("model", f"#{m['id']} {m['kind_name']}" + ("" if m["active"] else " (not active)")),
        ("trained", m["created_at"]),
        ("outcomes", f"{counts.get('closed', 0):,} closed leads: {counts.get('converted', 0):,} converted, "
                     f"{counts.get('disqualified', 0):,} disqualified; model fit on {counts.get('trained_on', 0):,}"),
        ("leads created", f"{(window.get('from') or '')[:10]} to {(window.get('to') or '')[:10]}"),
        ("hold-out (20 %)", held),
        ("readiness", f"{readiness.get('verdict')}: {readiness.get('why')}"),
        ("fields used", ", ".join(f["field"] for f in m["features"])),
        ("probable leaks", "; ".join(f"{x['field']} ({x['value']}: {x['rate']:g} % of {x['closed']:,} converted)"
                                     for x in m["leaks"]) + (" — retrain with --exclude FIELD" if m["leaks"] else "")),
    ]
    pct = [Column("share", header="influence %", justify="right", fmt=lambda v: f"{v:.1f}")]
    output.card(m, title=f"Scoring model #{m['id']}", fields=fields, sections=[
        Section("Most influential fields", m["influence"][:10], [Column("field"), *pct]),
        Section("Calibration on the hold-out (predicted vs converted %)", metrics.get("calibration") or []),
        Section("Fields not used", m["skipped"]),
    ], flat={"id": m["id"], "kind": m["kind"], "active": m["active"], "created_at": m["created_at"],
             "closed": counts.get("closed"), "converted": counts.get("converted"),
             "disqualified": counts.get("disqualified"), "auc": metrics.get("auc"), "brier": metrics.get("brier"),
             "verdict": readiness.get("verdict"), "fields": ";".join(f["field"] for f in m["features"]),
             "leaks": ";".join(x["field"] for x in m["leaks"])})


@app.command("grades")
def grades(
    a: Annotated[int | None, typer.Option("--a", min=1, max=100, help="Lowest score of grade A.")] = None,
    b: Annotated[int | None, typer.Option("--b", min=1, max=100, help="Lowest score of grade B.")] = None,
    c: Annotated[int | None, typer.Option("--c", min=1, max=100, help="Lowest score of grade C.")] = None,
) -> None:
    """Show or set the grade bands (default A 75+, B 50+, C 25+, D below); re-grades scored leads.

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


@app.command("file")
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
    import csv

    from leadcli import output, scoring
    from leadcli.commands._context import current_store

    with current_store().session() as s:
        result = scoring.score_file(s, path, encoding=encoding, delimiter=delimiter)
    if output_path:
        with output.open_private(output_path) as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(result.header)
            writer.writerows([output.csv_cell(v) for v in row] for row in result.rows)
    else:
        keys = _unique(result.header)
        output.rows([dict(zip(keys, row)) for row in result.rows],
                    [output.Column(k, header=h) for k, h in zip(keys, result.header)])
    output.message(f"scored {result.scored:,} row(s) of {path}" + (f" into {output_path}" if output_path else "")
                   + (f"; {result.unreadable:,} row(s) could not be read (see the reason column)"
                      if result.unreadable else ""))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return out
