"""Training a scoring model from closed leads: features, leak checks, the fit, hold-out metrics.

Converted leads are positives, disqualified ones negatives; open leads are never labels. With at
least 40 of each (what Dynamics 365 asks) a logistic regression with Platt-calibrated
probabilities; with fewer, an Odoo-style naive-Bayes frequency model. Both become the same
additive log-odds table (see `scoring`), stored as JSON. Imports pandas and scikit-learn, so
only `score train` (and tests) load this module. Never prints.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from leadcli.errors import LeadcliError, NoOutcomes, UsageError
from leadcli.scoring import parse_fields, save_model
from leadcli.scoring_metrics import MIN_PER_CLASS, find_leaks, holdout_metrics, readiness
from leadcli.scoring_model import FORMAT, LEAD_COLUMNS, model_from_payload, norm_category
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

SEED = 42
HOLDOUT = 0.2
REFIT_LIMIT = 100_000  # below this many outcomes the model is refit on all of them after measuring
AUTO_LEAD_COLUMNS = ("source", "owner", "title", "currency", "value")  # company is a name: only on request

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^(?=(?:\D*\d){7})[+(]?[\d\s().\-/]+$")
_URL = re.compile(r"^(https?://|www\.)", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2})?")
_ID_WORDS = {"id", "uuid", "guid"}
_IDENTITY_WORDS = {"name", "email", "e-mail", "mail", "phone", "mobile", "telephone", "address"}


@dataclass
class Column:
    """A candidate input: where it comes from and its raw values, one per closed lead."""

    name: str
    origin: str  # "lead" or "field"
    key: str
    values: list


@dataclass
class Encoded:
    """A feature's encoding fitted on some rows: one-hot block codes plus, for numbers, a linear term."""

    col: Column
    kind: str  # "category" | "number"
    codes: np.ndarray  # 0..levels-1 per row
    levels: int
    keys: list = field(default_factory=list)  # category keys (kept ones) for categories
    labels: dict = field(default_factory=dict)
    z: np.ndarray | None = None
    num: dict = field(default_factory=dict)  # fill, clip, center, scale, edges


@dataclass
class TrainResult:
    model_id: int
    payload: dict
    warnings: list[str]
    # Kept for tests: the fitted estimator (None for naive Bayes), the design matrix and labels of the final fit.
    estimator: Any = None
    X: Any = None
    y: Any = None
    calibration: tuple[float, float] = (1.0, 0.0)
    ids: Any = None  # lead ids of the rows of X


# ---------------------------------------------------------------- reading closed leads


def _load(s: Session) -> tuple[np.ndarray, np.ndarray, list[Column], dict]:
    import numpy as np
    from sqlalchemy import String, select, type_coerce

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    cols = sorted({c for c, _ in LEAD_COLUMNS.values()})
    # `fields` as its stored JSON text: parse_fields reads it leniently.
    rows = s.connection().execute(
        select(t.c.status, t.c.created_at, type_coerce(t.c.fields, String), t.c.id, *(t.c[c] for c in cols))
        .where(t.c.status.in_(("converted", "disqualified")))).fetchall()
    y = np.fromiter((r[0] == "converted" for r in rows), dtype=np.int8, count=len(rows))
    window = {"from": min((r[1] for r in rows), default=None), "to": max((r[1] for r in rows), default=None)}
    ids = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
    at = {c: i + 4 for i, c in enumerate(cols)}
    columns = []
    for name in LEAD_COLUMNS:
        column, how = LEAD_COLUMNS[name]
        values = [r[at[column]] for r in rows]
        if how == "cents":
            values = [None if v is None else v / 100 for v in values]
        columns.append(Column(name, "lead", name, values))
    parsed = [parse_fields(r[2]) for r in rows]
    seen: dict[str, int] = {}
    for d in parsed:
        for key in d:
            seen[key] = seen.get(key, 0) + 1
    taken = {c.name.casefold() for c in columns}
    for key in sorted(seen, key=lambda k: (-seen[k], k)):
        name = key if key.casefold() not in taken else f"{key} (custom field)"
        taken.add(name.casefold())
        columns.append(Column(name, "field", key, [d.get(key) for d in parsed]))
    del rows, parsed
    return ids, y, columns, window


# ---------------------------------------------------------------- choosing features


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9@-]+", name.casefold())) - {""}


def _pick(columns: list[Column], fields: Sequence[str] | None, exclude: Sequence[str] | None
          ) -> tuple[list[Column], set[str], dict[str, str]]:
    """The candidate columns after --fields / --exclude; names given explicitly are forced in."""
    known = [c for c in columns if c.origin == "field" or c.name in LEAD_COLUMNS]

    def matches(pattern: str) -> list[Column]:
        p = pattern.strip().casefold()
        return [c for c in known if fnmatch.fnmatchcase(c.name.casefold(), p) or c.key.casefold() == p]

    def check(patterns: Sequence[str], option: str) -> None:
        unknown = [p for p in patterns if not matches(p)]
        if unknown:
            names = ", ".join(c.name for c in known if c.origin == "field" or c.name in AUTO_LEAD_COLUMNS)
            raise UsageError(f"{option}: no field called {', '.join(map(repr, unknown))} on closed leads",
                             hint=f"fields to choose from: {names[:600]}")

    skipped: dict[str, str] = {}
    forced: set[str] = set()
    if fields:
        check(fields, "--fields")
        chosen = {c.name for p in fields for c in matches(p)}
        forced = set(chosen)
        picked = [c for c in known if c.name in chosen]
    else:
        picked = [c for c in known if c.origin == "field" or c.name in AUTO_LEAD_COLUMNS]
    if exclude:
        check(exclude, "--exclude")
        dropped = {c.name for p in exclude for c in matches(p)}
        for c in picked:
            if c.name in dropped:
                skipped[c.name] = "excluded (--exclude)"
        picked = [c for c in picked if c.name not in dropped]
    return picked, forced, skipped


def _why_not(col: Column, parsed: np.ndarray, n_present: int, n_distinct: int, sample: list[str]) -> str | None:
    """Why a column is not a usable input (identifier, contact detail, free text...), or None."""
    words = _words(col.name)
    if col.origin == "field" and words & _ID_WORDS and n_distinct > 0.5 * n_present:
        return "an identifier"
    if col.origin == "field" and words & _IDENTITY_WORDS and n_distinct > 0.2 * n_present:
        return "names or contact details"

    def share(pattern: re.Pattern) -> float:
        return sum(1 for v in sample if pattern.search(v)) / max(1, len(sample))

    if share(_EMAIL) > 0.5:
        return "e-mail addresses"
    if share(_URL) > 0.5:
        return "web addresses"
    if share(_DATE) > 0.5:
        return "dates"
    if share(_PHONE) > 0.5 and any(ch in v for v in sample for ch in "+ -()"):
        return "phone numbers"
    numeric = (~np.isnan(parsed)).sum() >= 0.98 * n_present if n_present else False
    if numeric and n_present >= 10 and n_distinct >= 0.9 * n_present:
        whole = np.all(np.mod(parsed[~np.isnan(parsed)], 1) == 0)
        if whole:
            return "an identifier (a different number on every lead)"
    if not numeric and n_present >= 10 and n_distinct >= 0.9 * n_present:
        return "unique per lead"
    if not numeric and n_distinct > 50 and n_distinct >= 0.5 * n_present:
        return "nearly unique per lead"
    if not numeric and sample and n_distinct >= 0.3 * n_present \
            and sum(len(v) for v in sample) / len(sample) >= 25:
        return "free text"
    return None


def _profile(col: Column, forced: bool) -> tuple[str | None, str | None, Any]:
    """(type 'category'|'number' or None, why not used, parsed data) for one column."""
    import pandas as pd

    raw = pd.Series(col.values, dtype=object)
    try:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # lists or objects inside a custom field: compare them as text
        raw = raw.map(lambda v: v if v is None or isinstance(v, (str, int, float)) else json.dumps(v))
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    norm = [norm_category(u) for u in uniques]
    present = np.array([k is not None for k in norm] + [False], dtype=bool)[codes]
    n_present = int(present.sum())
    if n_present == 0:
        return None, "no values", None
    keys = sorted({k for k in norm if k is not None})
    n_distinct = len(keys)
    if n_distinct < 2:
        return None, "the same value on every lead", None
    numbers = np.array([_number(u) for u in uniques] + [np.nan], dtype=np.float64)
    parsed = numbers[codes]
    parsed[~present] = np.nan
    sample = [str(u).strip() for u, k in zip(uniques, norm, strict=False) if k is not None][:2000]
    if not forced:
        why = _why_not(col, parsed, n_present, n_distinct, sample)
        if why:
            return None, why, None
    is_number = col.origin == "lead" and col.name == "value" or (
        (~np.isnan(parsed)).sum() >= 0.98 * n_present and n_distinct > 12)
    if is_number:
        return "number", None, parsed
    labels: dict[str, dict[str, int]] = {}
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    for u, k, c in zip(uniques, norm, counts, strict=False):
        if k is not None:
            labels.setdefault(k, {})
            labels[k][str(u).strip()] = labels[k].get(str(u).strip(), 0) + int(c)
    key_index = {k: i for i, k in enumerate(keys)}
    to_key = np.array([key_index[k] if k is not None else -1 for k in norm] + [-1], dtype=np.int64)
    shown = {k: max(v, key=lambda lab: (v[lab], lab)) for k, v in labels.items()}
    return "category", None, (to_key[codes], keys, shown)


def _number(value: Any) -> float:
    from leadcli.scoring_model import to_number

    x = to_number(value)
    return np.nan if x is None else x


# ---------------------------------------------------------------- encoding


def _min_count(n: int, naive: bool) -> int:
    """How many leads a category needs to keep its own weight; rarer ones are grouped as "other".

    Naive Bayes smooths its counts, so with a handful of outcomes every value may count.
    """
    if naive:
        return max(1, min(3, n // 20))
    return int(min(20, max(3, n * 0.005)))


def _encode(col: Column, kind: str, data: Any, rows: np.ndarray, naive: bool) -> Encoded | None:
    """Fit the encoding of one column on `rows`; None when fewer than two levels are left."""
    n = len(rows)
    if kind == "category":
        key_codes, keys, labels = data
        fit = key_codes[rows]
        counts = np.bincount(fit[fit >= 0], minlength=len(keys))
        kept = [i for i, c in enumerate(counts) if c >= _min_count(n, naive)]
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


def _design(encs: list[Encoded], rows: np.ndarray):
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


def _fit_logistic(X, y: np.ndarray, folds: int) -> tuple[Any, float, float]:
    """Logistic regression plus Platt scaling of its log-odds: from out-of-fold values when folds > 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    def lr() -> LogisticRegression:
        return LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200, tol=1e-6)

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


def _tables_logistic(encs: list[Encoded], est: Any, a: float, b: float) -> tuple[float, list[dict]]:
    coef = est.coef_[0] * a
    intercept = float(est.intercept_[0]) * a + b
    out, offset = [], 0
    for e in encs:
        if e.kind == "number":
            linear = float(coef[offset])
            offset += 1
        block = coef[offset:offset + e.levels]
        offset += e.levels
        out.append(_table(e, block, linear if e.kind == "number" else 0.0))
    return intercept, out


def _tables_naive_bayes(encs: list[Encoded], y: np.ndarray, rows: np.ndarray) -> tuple[float, list[dict]]:
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
        out.append(_table(e, np.where(seen, w, 0.0), 0.0))
    return math.log(pos / neg), out


def _table(e: Encoded, block: np.ndarray, linear: float) -> dict:
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


def _contributions(e: Encoded, spec: dict, rows: np.ndarray) -> np.ndarray:
    codes = e.codes[rows]
    if e.kind == "category":
        table = np.array([spec["weights"][k] for k in e.keys] + [spec["other"], spec["missing"]])
        return table[codes]
    table = np.array(spec["bins"] + [spec["missing"]])
    linear = spec["coef"] * e.z[rows] if e.z is not None else 0.0
    return linear + table[codes]


def _neutralise(encs: list[Encoded], tables: list[dict], rows: np.ndarray) -> None:
    """Values never seen in training (no empty cells, no rare ones) count as an average lead, not as 0."""
    for e, t in zip(encs, tables, strict=False):
        seen = np.bincount(e.codes[rows], minlength=e.levels) > 0
        mean = float(np.mean(_contributions(e, t, rows)))
        if e.kind == "category":
            k = len(e.keys)
            if not seen[k]:
                t["other"] = mean
            if not seen[k + 1]:
                t["missing"] = mean
        elif not seen[-1]:
            fill_z = (min(max(t["fill"], t["clip"][0]), t["clip"][1]) - t["center"]) / t["scale"]
            t["missing"] = mean - t["coef"] * fill_z


def _stats(e: Encoded, spec: dict, y: np.ndarray, rows: np.ndarray) -> None:
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


# ---------------------------------------------------------------- the whole run


def train(s: Session, *, fields: Sequence[str] | None = None, exclude: Sequence[str] | None = None
          ) -> TrainResult:
    """Train on every converted and disqualified lead, store the model and make it active."""
    ids, y, columns, window = _load(s)
    pos, neg = _check_outcomes(y)
    picked, forced, skipped = _pick(columns, fields, exclude)
    naive = pos < MIN_PER_CLASS or neg < MIN_PER_CLASS
    kind = "naive_bayes" if naive else "logistic"
    profiles = _profiles(picked, forced, skipped)
    order = _canonical_order(profiles, y)
    y, ids = y[order], ids[order]
    profiles = [(c, t, (d[0][order], d[1], d[2]) if t == "category" else d[order]) for c, t, d in profiles]
    fit = _fit_measured(kind, profiles, y, naive, skipped, min(pos, neg))
    leaks = find_leaks(fit.encs, y, fit.rows)
    payload = _payload(kind, fit, y, leaks, window, skipped, pos, neg, fields, exclude)
    model_from_payload(json.loads(json.dumps(payload)))
    model_id = save_model(s, payload)
    warnings = [f"{leak['field']} looks like a leak: {leak['value']!s} converted {leak['rate']:g} % of "
                f"{leak['closed']:,} closed leads; a field filled in after contact gives the outcome away "
                f"(retrain with --exclude \"{leak['field']}\")" for leak in leaks]
    X = _design(fit.encs, fit.rows) if fit.est is not None else None
    return TrainResult(model_id, payload, warnings, fit.est, X, y[fit.rows], (fit.a, fit.b), ids[fit.rows])


def _check_outcomes(y: np.ndarray) -> tuple[int, int]:
    """(converted, disqualified) counts; NoOutcomes unless there are some of each."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 and neg == 0:
        raise NoOutcomes(
            "no converted or disqualified leads to learn from",
            hint="import past leads with their outcome (`leadcli import FILE --status-map \"Won=converted\"`), "
                 "or close some: `leadcli convert ID`, `leadcli disqualify ID --reason TEXT`")
    if pos == 0 or neg == 0:
        have, missing = ("converted", "disqualified") if neg == 0 else ("disqualified", "converted")
        raise NoOutcomes(f"all {len(y):,} closed leads are {have}; a model needs {missing} leads too",
                         hint=f"import or record some {missing} leads, then train again")
    return pos, neg


def _profiles(picked: list[Column], forced: set[str], skipped: dict[str, str]) -> list:
    profiles = []
    for col in picked:
        ftype, why, data = _profile(col, col.name in forced)
        if ftype is None:
            skipped[col.name] = why or "not usable"
        else:
            profiles.append((col, ftype, data))
        col.values = []  # the raw values are no longer needed; free them early
    return profiles


def _canonical_order(profiles: list, y: np.ndarray) -> np.ndarray:
    """The same leads in any insertion order give the same split and model."""
    import pandas as pd

    frame = {}
    for i, (_col, ftype, data) in enumerate(profiles):
        frame[str(i)] = data[0] if ftype == "category" else data
    frame["y"] = y
    return np.argsort(pd.util.hash_pandas_object(pd.DataFrame(frame), index=False).to_numpy(), kind="stable")


@dataclass
class _Fitted:
    encs: list[Encoded]
    tables: list[dict]
    intercept: float
    est: Any
    a: float
    b: float
    rows: np.ndarray  # the rows the stored model was fitted on
    metrics: dict | None


def _fit_measured(kind: str, profiles: list, y: np.ndarray, naive: bool, skipped: dict[str, str],
                  min_class: int) -> _Fitted:
    """Measure on a hold-out (when there are enough of each outcome), then fit the model to store."""
    n = len(y)
    everyone = np.arange(n)
    metrics = None
    if min_class >= 5:
        from sklearn.model_selection import train_test_split

        fit_rows, test_rows = train_test_split(everyone, test_size=HOLDOUT, stratify=y, random_state=SEED)
        fit_rows, test_rows = np.sort(fit_rows), np.sort(test_rows)
        encs = _encodings(profiles, fit_rows, naive, skipped)
        _require_features(encs, skipped)
        intercept, tables, est, a, b = _fit(kind, encs, y, fit_rows)
        _neutralise(encs, tables, fit_rows)
        z = intercept + sum(_contributions(e, t, test_rows) for e, t in zip(encs, tables, strict=False))
        metrics = holdout_metrics(y[test_rows].astype(float), 1 / (1 + np.exp(-z)))
        metrics["trained_on"] = int(len(fit_rows))
    final_rows = everyone if metrics is None or n < REFIT_LIMIT else fit_rows
    if metrics is None or n < REFIT_LIMIT:
        encs = _encodings(profiles, final_rows, naive, skipped)
        _require_features(encs, skipped)
        intercept, tables, est, a, b = _fit(kind, encs, y, final_rows)
        _neutralise(encs, tables, final_rows)
    for e, t in zip(encs, tables, strict=False):
        _stats(e, t, y, final_rows)
    return _Fitted(encs, tables, intercept, est, a, b, final_rows, metrics)


def _payload(kind: str, fit: _Fitted, y: np.ndarray, leaks: list[dict], window: dict, skipped: dict[str, str],
             pos: int, neg: int, fields: Sequence[str] | None, exclude: Sequence[str] | None) -> dict:
    """The model as stored: JSON numbers, strings, lists and dicts only."""
    contrib = [_contributions(e, t, fit.rows) for e, t in zip(fit.encs, fit.tables, strict=False)]
    for t, c in zip(fit.tables, contrib, strict=False):
        t["mean"] = float(np.mean(c))
    spread = [float(np.std(c)) for c in contrib]
    total = sum(spread) or 1.0
    influence = sorted(({"field": t["name"], "share": round(100 * sp / total, 1)}
                        for t, sp in zip(fit.tables, spread, strict=False)), key=lambda r: -r["share"])
    naive = kind == "naive_bayes"
    payload = {
        "format": FORMAT, "kind": kind, "created_at": now_iso(),
        "why": (f"{pos:,} converted and {neg:,} disqualified leads: enough for a calibrated logistic regression"
                if not naive else
                f"only {pos:,} converted and {neg:,} disqualified leads; a logistic regression needs "
                f"{MIN_PER_CLASS} of each, so a naive-Bayes frequency model (as Odoo uses)"),
        "intercept": float(fit.intercept),
        "calibration": {"method": "platt", "a": fit.a, "b": fit.b} if kind == "logistic" else None,
        "features": fit.tables,
        "counts": {"closed": len(y), "converted": pos, "disqualified": neg, "trained_on": int(len(fit.rows))},
        "window": window,
        "options": {"fields": list(fields or []), "exclude": list(exclude or [])},
        "skipped": skipped, "leaks": leaks, "influence": influence, "metrics": fit.metrics,
    }
    payload["readiness"] = readiness(kind, fit.metrics, leaks, pos, neg)
    return payload


def _encodings(profiles: list, rows: np.ndarray, naive: bool, skipped: dict[str, str]) -> list[Encoded]:
    out = []
    for col, ftype, data in profiles:
        e = _encode(col, ftype, data, rows, naive)
        if e is None:
            skipped[col.name] = "one value after grouping rare ones"
        else:
            skipped.pop(col.name, None)
            out.append(e)
    return out


def _require_features(encs: list[Encoded], skipped: dict[str, str]) -> None:
    if encs:
        return
    why = "; ".join(f"{name}: {reason}" for name, reason in list(skipped.items())[:8])
    raise LeadcliError("none of the lead fields can be used to score" + (f" ({why})" if why else ""),
                       hint="give leads fields that describe them (source, owner, custom fields with --field), "
                            "or name the fields to use with --fields")


def _fit(kind: str, encs: list[Encoded], y: np.ndarray, rows: np.ndarray):
    if kind == "naive_bayes" or not encs:
        intercept, tables = _tables_naive_bayes(encs, y, rows)
        return intercept, tables, None, 1.0, 0.0
    X = _design(encs, rows)
    est, a, b = _fit_logistic(X, y[rows], folds=3 if len(rows) < REFIT_LIMIT else 1)
    intercept, tables = _tables_logistic(encs, est, a, b)
    return intercept, tables, est, a, b
