"""How good a trained scoring model is: hold-out metrics, readiness, and fields that give the outcome away.

Used by `scoring_train`; numpy here, scikit-learn only inside the function that needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_PER_CLASS = 40
LEAK_RATE = 0.03  # a value converting at <= 3 % or >= 97 % ...
LEAK_SHARE = 0.02  # ... on at least 2 % of closed leads (and 30 of them) almost decides the outcome
LEAK_AUC = 0.9  # or one field alone ranking the outcomes this well
TRUST_AUC = 0.65  # under this on the backtest a model scores nothing


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def find_leaks(encs: list[Any], y: np.ndarray, rows: np.ndarray) -> list[dict]:
    """Fields whose values almost decide the outcome: filled in after contact, they would leak it."""
    yy = y[rows]
    n = len(rows)
    base = yy.mean()
    out = []
    for e in encs:
        codes = e.codes[rows]
        cnt = np.bincount(codes, minlength=e.levels)
        conv = np.bincount(codes, weights=yy, minlength=e.levels)
        rate = np.divide(conv, cnt, out=np.full(e.levels, base), where=cnt > 0)
        auc = _auc(yy, rate[codes]) or 0.5
        auc = max(auc, 1 - auc)
        worst = None
        for level in np.argsort(-cnt):
            if cnt[level] >= max(30, LEAK_SHARE * n) and (rate[level] <= LEAK_RATE or rate[level] >= 1 - LEAK_RATE):
                worst = int(level)
                break
        if worst is None and auc < LEAK_AUC:
            continue
        level = worst if worst is not None else int(np.argmax(np.abs(rate - base) * np.sqrt(cnt)))
        out.append({"field": e.col.name, "value": _level_label(e, level), "closed": int(cnt[level]),
                    "rate": round(float(rate[level]) * 100, 1), "auc": round(auc, 3)})
    return out


def _level_label(e: Any, level: int) -> str:
    if e.kind == "category":
        if level < len(e.keys):
            return e.labels.get(e.keys[level], e.keys[level])
        return "(rare values)" if level == len(e.keys) else "(empty)"
    edges = e.num["edges"]
    if level == len(edges) + 1:
        return "(empty)"
    lo = "" if level == 0 else f"{edges[level - 1]:g}"
    hi = "" if level == len(edges) else f"{edges[level]:g}"
    return f"{lo}..{hi}"


def holdout_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    groups = max(1, min(10, len(y) // 10))
    order = np.argsort(p, kind="stable")
    calibration = []
    for i, part in enumerate(np.array_split(order, groups)):
        if len(part):
            calibration.append({"decile": i + 1, "predicted": round(float(p[part].mean()) * 100, 1),
                                "observed": round(float(y[part].mean()) * 100, 1), "n": int(len(part))})
    top = order[-max(1, len(order) // 10):]
    auc = _auc(y, p)
    return {
        "holdout": int(len(y)),
        "auc": None if auc is None else round(auc, 4),
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "accuracy": round(float(np.mean((p >= 0.5) == (y == 1))), 4),
        "base_rate": round(float(y.mean()) * 100, 1),
        "top_decile_rate": round(float(y[top].mean()) * 100, 1),
        "calibration": calibration,
    }


def readiness(kind: str, metrics: dict | None, leaks: list[dict], pos: int, neg: int) -> dict:
    """The verdict on the backtest's figures (the time split when outcome dates allow one).

    `trusted` is False when the model must score nothing: too few outcomes to measure it, or a
    backtest AUC under TRUST_AUC (it would grade nearly every lead alike).
    """
    auc = (metrics or {}).get("auc")
    split = "time-split" if (metrics or {}).get("method") == "time" else "random-split"
    if auc is None:
        return {"verdict": "too few outcomes", "trusted": False,
                "why": f"only {pos} converted and {neg} disqualified leads: too few to test a model on leads "
                       "it has not seen, so it scores nothing; record more outcomes and train again"}
    if auc < TRUST_AUC:
        return {"verdict": "not ready", "trusted": False,
                "why": f"{split} AUC {auc:.3f} is under {TRUST_AUC}: barely better than chance, so it scores "
                       "nothing; add fields that describe the leads or more outcomes"}
    if kind == "naive_bayes":
        return {"verdict": "early", "trusted": True,
                "why": f"only {pos} converted and {neg} disqualified leads (a logistic regression needs "
                       f"{MIN_PER_CLASS} of each); {split} AUC {auc:.3f}; scores are a rough first guide"}
    if auc >= 0.95:
        return {"verdict": "suspicious", "trusted": True,
                "why": f"{split} AUC {auc:.3f} is too good to be true: a field probably records the outcome"
                       + (f" ({leaks[0]['field']})" if leaks else "")}
    if auc >= 0.75:
        return {"verdict": "ready", "trusted": True,
                "why": f"{split} AUC {auc:.3f}: ranks a converting lead above a lost one {auc * 100:.0f} times in 100"}
    return {"verdict": "usable", "trusted": True,
            "why": f"{split} AUC {auc:.3f}: better than chance, not sharp; more fields or outcomes will help"}
