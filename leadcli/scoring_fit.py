"""Fitting a scoring model: per-feature encodings, the design matrix, logistic regression or naive
Bayes, and the additive tables the stored model is made of. Used by `scoring_train`; numpy here,
scipy and scikit-learn only inside the functions that need them. Never prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SEED = 42
REFIT_LIMIT = 100_000  # below this many outcomes the model is refit on all of them after measuring
# From this many rows up, Platt scaling learns from the model's own log-odds: a few hundred weights fitted
# on tens of thousands of leads hardly overfit, and out-of-fold log-odds would cost three more fits.
OUT_OF_FOLD_LIMIT = 50_000

@dataclass
class Encoded:
    """A feature's encoding fitted on some rows: one-hot block codes plus, for numbers, a linear term."""

    col: Any  # scoring_train.Column
    kind: str  # "category" | "number"
    codes: np.ndarray  # 0..levels-1 per row
    levels: int
    keys: list = field(default_factory=list)  # category keys (kept ones) for categories
    labels: dict = field(default_factory=dict)
    z: np.ndarray | None = None
    num: dict = field(default_factory=dict)  # fill, clip, center, scale, edges


# ---------------------------------------------------------------- encoding


def min_count(n: int, naive: bool) -> int:
    """How many leads a category needs to keep its own weight; rarer ones are grouped as "other".

    Naive Bayes smooths its counts, so with a handful of outcomes every value may count.
    """
    if naive:
        return max(1, min(3, n // 20))
    return int(min(20, max(3, n * 0.005)))


def encode(col: Any, kind: str, data: Any, rows: np.ndarray, naive: bool) -> Encoded | None:
    """Fit the encoding of one column on `rows`; None when fewer than two levels are left."""
    n = len(rows)
    if kind == "category":
        key_codes, keys, labels = data
        fit = key_codes[rows]
        counts = np.bincount(fit[fit >= 0], minlength=len(keys))
        kept = [i for i, c in enumerate(counts) if c >= min_count(n, naive)]
        if len(kept) + (1 if (counts > 0).sum() > len(kept) else 0) + (1 if (fit < 0).any() else 0) < 2:
            return None
        remap = np.full(len(keys) + 1, len(kept), dtype=np.int64)  # rare -> "other"
        for new, old in enumerate(kept):
            remap[old] = new
        remap[-1] = len(kept) + 1  # missing
        codes = remap[np.where(key_codes < 0, len(keys), key_codes)]
        kept_keys = [keys[i] for i in kept]
        return Encoded(col, "category", codes, len(kept) + 2, kept_keys, {k: labels[k] for k in kept_keys})
    x = data
    fit = x[rows]
    fit = fit[~np.isnan(fit)]
    if len(fit) < 2 or np.unique(fit).size < 2:
        return None
    n_bins = min(10, max(2, n // 30)) if naive else min(20, max(4, n // 300))
    edges = np.quantile(fit, np.linspace(0, 1, n_bins + 1)[1:-1])
    if np.all(np.mod(fit, 1) == 0):  # whole numbers get whole bin edges: "5 to under 8", not "4.6 to 7.2"
        edges = np.ceil(edges)
    edges = np.unique(edges)
    missing = np.isnan(x)
    median = float(np.median(fit))
    lo, hi = (float(v) for v in np.quantile(fit, [0.01, 0.99]))
    if lo == hi:
        lo, hi = float(fit.min()), float(fit.max())
    filled = np.where(missing, median, x)
    clipped = np.clip(filled, lo, hi)
    center = float(clipped[rows].mean())
    scale = float(clipped[rows].std()) or 1.0
    codes = np.where(missing, len(edges) + 1, np.searchsorted(edges, filled, side="right"))
    z = None if naive else (clipped - center) / scale
    return Encoded(col, "number", codes, len(edges) + 2, z=z,
                   num={"fill": median, "clip": [lo, hi], "center": center, "scale": scale,
                        "edges": [float(e) for e in edges]})


def design(encs: list[Encoded], rows: np.ndarray):
    """A sparse one-hot (+ linear terms) matrix of `rows`: one block per feature."""
    from scipy import sparse

    n = len(rows)
    parts_idx, parts_val = [], []
    offset = 0
    for e in encs:
        if e.kind == "number":
            parts_idx.append(np.full(n, offset, dtype=np.int64))
            parts_val.append(e.z[rows])  # type: ignore[index]  # a number column always has z
            offset += 1
        parts_idx.append(offset + e.codes[rows])
        parts_val.append(np.ones(n))
        offset += e.levels
    width = len(parts_idx)
    indices = np.column_stack(parts_idx).ravel() if width else np.empty(0, dtype=np.int64)
    data = np.column_stack(parts_val).ravel() if width else np.empty(0)
    indptr = np.arange(0, n * width + 1, width, dtype=np.int64) if width else np.zeros(n + 1, dtype=np.int64)
    return sparse.csr_matrix((data, indices, indptr), shape=(n, offset))


# ---------------------------------------------------------------- fitting


def fit_logistic(X, y: np.ndarray, folds: int) -> tuple[Any, float, float]:
    """Logistic regression plus Platt scaling of its log-odds: from out-of-fold values when folds > 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    def lr() -> LogisticRegression:
        return LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200, tol=1e-4)

    est = lr().fit(X, y)
    if folds > 1:
        cv = StratifiedKFold(folds, shuffle=True, random_state=SEED)
        raw = cross_val_predict(lr(), X, y, cv=cv, method="decision_function")
    else:
        raw = est.decision_function(X)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    if not (0.05 < a < 20):  # a degenerate fit (tiny or separable data): keep the model's own scale
        a, b = 1.0, 0.0
    return est, a, b


def tables_logistic(encs: list[Encoded], est: Any, a: float, b: float) -> tuple[float, list[dict]]:
    coef = est.coef_[0] * a
    intercept = float(est.intercept_[0]) * a + b
    out, offset = [], 0
    for e in encs:
        if e.kind == "number":
            linear = float(coef[offset])
            offset += 1
        block = coef[offset:offset + e.levels]
        offset += e.levels
        out.append(table(e, block, linear if e.kind == "number" else 0.0))
    return intercept, out


def tables_naive_bayes(encs: list[Encoded], y: np.ndarray, rows: np.ndarray) -> tuple[float, list[dict]]:
    yy = y[rows]
    pos, neg = int(yy.sum()), int(len(yy) - yy.sum())
    out = []
    for e in encs:
        codes = e.codes[rows]
        p = np.bincount(codes[yy == 1], minlength=e.levels).astype(float)
        q = np.bincount(codes[yy == 0], minlength=e.levels).astype(float)
        seen = (p + q) > 0
        levels = int(seen.sum())
        w = np.log((p + 1) / (pos + levels)) - np.log((q + 1) / (neg + levels))
        out.append(table(e, np.where(seen, w, 0.0), 0.0))
    return math.log(pos / neg), out


def table(e: Encoded, block: np.ndarray, linear: float) -> dict:
    spec: dict[str, Any] = {"name": e.col.name, "from": e.col.origin, "key": e.col.key, "type": e.kind}
    if e.kind == "category":
        k = len(e.keys)
        spec["weights"] = {key: float(block[i]) for i, key in enumerate(e.keys)}
        spec["other"] = float(block[k])
        spec["missing"] = float(block[k + 1])
        spec["labels"] = e.labels
    else:
        spec.update(e.num)
        spec["coef"] = linear
        spec["bins"] = [float(v) for v in block[:-1]]
        spec["missing"] = float(block[-1])
    return spec


def contributions(e: Encoded, spec: dict, rows: np.ndarray) -> np.ndarray:
    codes = e.codes[rows]
    if e.kind == "category":
        table = np.array([spec["weights"][k] for k in e.keys] + [spec["other"], spec["missing"]])
        return table[codes]
    table = np.array(spec["bins"] + [spec["missing"]])
    linear = spec["coef"] * e.z[rows] if e.z is not None else 0.0
    return linear + table[codes]


def neutralise(encs: list[Encoded], tables: list[dict], rows: np.ndarray) -> None:
    """Values never seen in training (no empty cells, no rare ones) count as an average lead, not as 0."""
    for e, t in zip(encs, tables, strict=False):
        seen = np.bincount(e.codes[rows], minlength=e.levels) > 0
        mean = float(np.mean(contributions(e, t, rows)))
        if e.kind == "category":
            k = len(e.keys)
            if not seen[k]:
                t["other"] = mean
            if not seen[k + 1]:
                t["missing"] = mean
        elif not seen[-1]:
            fill_z = (min(max(t["fill"], t["clip"][0]), t["clip"][1]) - t["center"]) / t["scale"]
            t["missing"] = mean - t["coef"] * fill_z


def stats(e: Encoded, spec: dict, y: np.ndarray, rows: np.ndarray) -> None:
    """Per value: how many closed leads had it and how many converted (the evidence behind reasons)."""
    codes = e.codes[rows]
    n = np.bincount(codes, minlength=e.levels)
    k = np.bincount(codes, weights=y[rows], minlength=e.levels)
    pairs = [[int(a), int(b)] for a, b in zip(n, k, strict=False)]
    if e.kind == "category":
        stats = {key: pairs[i] for i, key in enumerate(e.keys)}
        stats["(other)"] = pairs[len(e.keys)]
        stats["(missing)"] = pairs[len(e.keys) + 1]
        spec["stats"] = stats
    else:
        spec["bin_stats"] = pairs


def fit_tables(kind: str, encs: list[Encoded], y: np.ndarray, rows: np.ndarray):
    if kind == "naive_bayes" or not encs:
        intercept, tables = tables_naive_bayes(encs, y, rows)
        return intercept, tables, None, 1.0, 0.0
    X = design(encs, rows)
    est, a, b = fit_logistic(X, y[rows], folds=3 if len(rows) < OUT_OF_FOLD_LIMIT else 1)
    intercept, tables = tables_logistic(encs, est, a, b)
    return intercept, tables, est, a, b
