"""How `leadcli score` shows things: the model card, an explained score, grade bars, a scored file."""

from __future__ import annotations

from typing import Any

from leadcli import output
from leadcli.output import Column, Section


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
    score, lead_id, pin = record["score"], record["id"], record["pinned"]
    reasons_for, reasons_against = record["for"], record["against"]
    stored = "" if record["stored_score"] in (None, score) or pin else \
        f" (stored score {record['stored_score']}; `leadcli score run {lead_id}` updates it)"
    if pin:
        shown = (f"{score} / 100, pinned by {pin['who']} on {pin['at'][:10]}: {pin['reason']} "
                 f"(the model says {record['model_score']}; `leadcli score unset {lead_id}` releases it)")
    elif score is None:
        shown = f"not scored: {record['untrusted_why']}"
    else:
        shown = f"{score} / 100{stored}"
    fields = [("score", shown), ("grade", record["grade"]),
              ("trend", record["trend"] or "not enough info"), ("status", record["status"]),
              ("chance to convert", f"{chance * 100:.1f} %"), ("model", f"#{record['model']} ({kind})")]
    cols = [Column("points", justify="right"), Column("text", header="reason", wrap=True)]
    output.card(record, title=f"Lead #{lead_id}: {record['name']}", fields=fields,
                sections=[Section("Reasons for", [{"points": f"+{r['points']}", "text": r["text"]}
                                                  for r in reasons_for], cols),
                          Section("Reasons against", [{"points": str(r["points"]), "text": r["text"]}
                                                      for r in reasons_against], cols),
                          Section("Score history", record["history"])],
                flat={k: v for k, v in record.items() if k not in ("for", "against", "history", "pinned")}
                | {"pinned_reason": pin["reason"] if pin else None, "pinned_by": pin["who"] if pin else None}
                | {"reasons_for": " | ".join(r["text"] for r in reasons_for),
                   "reasons_against": " | ".join(r["text"] for r in reasons_against)})


def _split_text(figures: dict | None) -> str:
    if not figures or figures.get("auc") is None:
        return "not measured (too few outcomes)"
    text = f"{figures['holdout']:,} leads: AUC {figures['auc']}, Brier {figures['brier']}"
    if figures.get("top_decile_rate") is not None:
        text += f", top 10 % convert at {figures['top_decile_rate']} % (base {figures['base_rate']} %)"
    return text


def render_model(m: dict) -> None:
    counts, window, readiness = m["counts"] or {}, m["window"] or {}, m["readiness"] or {}
    backtest, random_split = m.get("backtest") or {}, m.get("random_split") or {}
    by_time = backtest.get("method") == "time"
    fields = [
        ("model", f"#{m['id']} {m['kind_name']}" + ("" if m["active"] else " (not active)")),
        ("trained", m.get("trained_at") or m["created_at"]),
        ("outcomes", f"{counts.get('closed', 0):,} closed leads: {counts.get('converted', 0):,} converted, "
                     f"{counts.get('disqualified', 0):,} disqualified; model fit on {counts.get('trained_on', 0):,}"),
        ("leads created", f"{(window.get('from') or '')[:10]} to {(window.get('to') or '')[:10]}"),
        ("backtest by time", _split_text(backtest) + f" ({backtest.get('note')})" if by_time
         else f"none: {backtest.get('note') or 'no outcome dates'}"),
        ("random split (20 %)", _split_text(random_split)),
        ("readiness", f"{readiness.get('verdict')}: {readiness.get('why')}"),
        ("current", "stale: " + "; ".join(m["stale_reasons"]) + " (retrain: `leadcli score train --if-stale`)"
         if m.get("stale") else "yes" if "stale" in m else None),
        ("fields used", ", ".join(f["field"] for f in m["features"])),
        ("excluded", ", ".join(m.get("excluded") or [])),
        ("probable leaks", "; ".join(f"{x['field']} ({x['value']}: {x['rate']:g} % of {x['closed']:,} converted)"
                                     for x in m["leaks"]) + (" — retrain with --exclude FIELD" if m["leaks"] else "")),
    ]
    pct = [Column("share", header="influence %", justify="right", fmt=lambda v: f"{v:.1f}")]
    output.card(m, title=f"Scoring model #{m['id']}", fields=fields, sections=[
        Section("Most influential fields", m["influence"][:10], [Column("field"), *pct]),
        Section("Fields not used", m["skipped"]),
    ], flat={"id": m["id"], "kind": m["kind"], "active": m["active"], "created_at": m["created_at"],
             "trained_at": m.get("trained_at"), "outcomes": m.get("outcomes"),
             "closed": counts.get("closed"), "converted": counts.get("converted"),
             "disqualified": counts.get("disqualified"), "auc": (m.get("metrics") or {}).get("auc"),
             "brier": (m.get("metrics") or {}).get("brier"), "backtest": backtest.get("method"),
             "holdout_since": backtest.get("holdout_since"), "random_auc": random_split.get("auc"),
             "random_brier": random_split.get("brier"), "verdict": readiness.get("verdict"),
             "stale": m.get("stale"), "stale_reasons": "; ".join(m.get("stale_reasons") or []),
             "fields": ";".join(f["field"] for f in m["features"]), "leaks": ";".join(x["field"] for x in m["leaks"])})
    if output.current_format() == "table":
        calibration_chart(backtest)


def calibration_chart(backtest: dict) -> None:
    """Predicted against observed conversion per decile of the backtest's hold-out: bars of observed %."""
    rows = [{"decile": r.get("decile", i + 1), "predicted": r["predicted"], "observed": r["observed"], "n": r["n"]}
            for i, r in enumerate(backtest.get("calibration") or [])]
    split = "time" if backtest.get("method") == "time" else "random"
    output.bars(rows, [Column("decile", justify="right"),
                       Column("predicted", header="predicted %", justify="right", fmt=lambda v: f"{v:.1f}"),
                       Column("observed", header="converted %", justify="right", fmt=lambda v: f"{v:.1f}"),
                       Column("n", header="leads", justify="right")],
                value_key="observed", scale_max=100, empty="no hold-out to calibrate on",
                title=f"Calibration on the {split}-split hold-out: predicted vs converted, per decile of score")


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
