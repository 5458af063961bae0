"""How `leadcli score` shows things: the model card, an explained score, grade bars, a scored file."""

from __future__ import annotations

from typing import Any

from leadcli import output
from leadcli.output import Column, Section


def render_trained(summary: dict, warnings: list[str], open_leads: int) -> None:
    output.message(f"trained model #{summary['id']}: a {summary['kind_name']}, because {summary['why']}")
    for warning in warnings:
        output.warn(warning)
    render_model(summary)
    if open_leads:
        output.message(f"next: `leadcli score run --all` scores the {open_leads:,} open lead(s)")


def render_run(result: Any, by_id: bool) -> None:
    """`score run`: the leads asked for one per row, or how a whole run graded."""
    output.message(f"scored {result.scored:,} open lead(s) with model #{result.model_id}")
    if by_id:
        output.rows(result.rows, ["id", "score", "grade", "trend", "previous"], empty="no open leads to score")
    else:
        grade_bars(result.grades, result.scored)


def grade_bars(grades: dict[str, int], scored: int) -> None:
    total = max(1, scored)
    output.bars([{"grade": g, "leads": grades.get(g, 0), "share": round(100 * grades.get(g, 0) / total, 1)}
                 for g in "ABCD"], ["grade", output.Column("leads", justify="right"),
                                    output.Column("share", header="%", justify="right",
                                                  fmt=lambda v: f"{v:.1f}")], value_key="leads")


def render_explanation(record: dict[str, Any]) -> None:
    """`score explain`: the score card with the reasons for and against and the score history."""
    kind, chance = record.pop("model_kind"), record.pop("chance")
    score, lead_id = record["score"], record["id"]
    reasons_for, reasons_against = record["for"], record["against"]
    stored = "" if record["stored_score"] in (None, score) else \
        f" (stored score {record['stored_score']}; `leadcli score run {lead_id}` updates it)"
    fields = [("score", f"{score} / 100{stored}"), ("grade", record["grade"]),
              ("trend", record["trend"] or "not enough info"), ("status", record["status"]),
              ("chance to convert", f"{chance * 100:.1f} %"), ("model", f"#{record['model']} ({kind})")]
    cols = [Column("points", justify="right"), Column("text", header="reason", wrap=True)]
    output.card(record, title=f"Lead #{lead_id}: {record['name']}", fields=fields,
                sections=[Section("Reasons for", [{"points": f"+{r['points']}", "text": r["text"]}
                                                  for r in reasons_for], cols),
                          Section("Reasons against", [{"points": str(r["points"]), "text": r["text"]}
                                                      for r in reasons_against], cols),
                          Section("Score history", record["history"])],
                flat={k: v for k, v in record.items() if k not in ("for", "against", "history")}
                | {"reasons_for": " | ".join(r["text"] for r in reasons_for),
                   "reasons_against": " | ".join(r["text"] for r in reasons_against)})


def render_model(m: dict) -> None:
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


def render_file_scores(result: Any, output_path: str | None) -> None:
    """A scored file: written as CSV to `output_path`, else shown as rows."""
    import csv

    if output_path:
        with output.open_private(output_path) as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(result.header)
            writer.writerows([output.csv_cell(v) for v in row] for row in result.rows)
    else:
        keys = _unique(result.header)
        output.rows([dict(zip(keys, row, strict=False)) for row in result.rows],
                    [output.Column(k, header=h) for k, h in zip(keys, result.header, strict=False)])


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return out
