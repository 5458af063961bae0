"""Why a lead scores as it does: each field's effect on the score, with the evidence of past leads.

Reads only the stored model (`scoring_model`); no database, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leadcli.scoring_model import Feature, Model, norm_category, probability, score_from_logit, to_number


def _pct(rate: float) -> str:
    return f"{rate * 100:.0f} %"


def _num_text(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def evidence(f: Feature, raw: Any, overall: float) -> tuple[str, str]:
    """(the value in words, the evidence sentence) for one feature of one lead."""
    sp = f.spec
    name = f.name

    def said(stats: Sequence[int] | None, group: str) -> str:
        n, converted = stats or (0, 0)
        if not n:
            return ""
        return f"{converted:,} of {n:,} {group} converted: {_pct(converted / n)} vs {_pct(overall)} overall"

    if not f.is_number:
        key = norm_category(raw)
        if key is None:
            return "empty", said(sp["stats"].get("(missing)"), f"leads without a {name}")
        if key in sp["weights"]:
            label = sp["labels"].get(key, str(raw))
            group = f"{label} leads" if f.source == ("lead", "source") else "leads with that value"
            return label, said(sp["stats"].get(key), group)
        return f"{raw} (a rare value)", said(sp["stats"].get("(other)"), f"leads with a rare {name}")
    x = to_number(raw)
    if x is None:
        return "empty", said(sp["bin_stats"][-1], f"leads without a {name}")
    edges = sp["edges"]
    b = bisect.bisect_right(edges, x)
    if not edges:
        span = "any value"
    elif b == 0:
        span = f"below {_num_text(edges[0])}"
    elif b == len(edges):
        span = f"of {_num_text(edges[-1])} or more"
    else:
        span = f"of {_num_text(edges[b - 1])} to under {_num_text(edges[b])}"
    return _num_text(x), said(sp["bin_stats"][b], f"leads with a value {span}")


def _evidence_up(f: Feature, raw: Any, overall: float) -> bool | None:
    """Whether leads with this value converted more often than average (None when unknown)."""
    sp = f.spec
    if not f.is_number:
        key = norm_category(raw)
        label = "(missing)" if key is None else key if key in sp["weights"] else "(other)"
        stats = sp["stats"].get(label)
    else:
        x = to_number(raw)
        stats = sp["bin_stats"][-1 if x is None else bisect.bisect_right(sp["edges"], x)]
    if not stats or not stats[0] or stats[1] / stats[0] == overall:
        return None
    return stats[1] / stats[0] > overall


@dataclass
class Explanation:
    model_id: int | None
    score: int
    probability: float
    reasons_for: list[dict]
    reasons_against: list[dict]


def explain(model: Model, values: dict[str, Any], top: int = 5) -> Explanation:
    """The score of one lead and its strongest reasons for and against, in plain words with evidence.

    A feature's effect is its log-odds contribution against the average lead's; `points` is how
    far the score would move if that field were average instead.
    """
    z = model.logit_one(values)
    p = probability(z)
    overall = model.payload["counts"]["converted"] / max(1, model.payload["counts"]["closed"])
    reasons = []
    for f in model.features:
        raw = values.get(f.name)
        delta = f.contribution(raw) - f.spec.get("mean", 0.0)
        if abs(delta) < 0.02:
            continue
        shown, text = evidence(f, raw, overall)
        if not text:  # a value training never saw: nothing to say about it
            continue
        rate_up = _evidence_up(f, raw, overall)
        if rate_up is not None and rate_up != (delta > 0):
            # The value's own record points the other way: other fields already carry its effect,
            # and a reason contradicting its evidence would only confuse.
            continue
        points = round(100 * (p - probability(z - delta)))
        reasons.append({"field": f.name, "value": shown, "points": points, "effect": round(delta, 3),
                        "text": f"{f.name} is {shown}: {text}"})
    pro = sorted((r for r in reasons if r["effect"] > 0), key=lambda r: -r["effect"])[:top]
    con = sorted((r for r in reasons if r["effect"] < 0), key=lambda r: r["effect"])[:top]
    return Explanation(model.id, score_from_logit(z), p, pro, con)
