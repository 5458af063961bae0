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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from leadcli.errors import LeadcliError, NoOutcomes, UsageError
from leadcli.scoring import save_model
from leadcli.scoring_backtest import Split, import_stamps, outcome_at, subsample, time_split
from leadcli.scoring_fit import REFIT_LIMIT, SEED, Encoded, contributions, design, encode, fit_tables, neutralise, stats
from leadcli.scoring_metrics import MIN_PER_CLASS, find_leaks, holdout_metrics, readiness
from leadcli.scoring_model import FORMAT, LEAD_COLUMNS, model_from_payload, norm_category
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

HOLDOUT = 0.2
BACKTEST_FIT_LIMIT = 50_000
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


def _load(s: Session) -> tuple[np.ndarray, np.ndarray, list[Column], dict, list[str | None]]:
    from collections import Counter
    from itertools import chain
    from operator import methodcaller

    import numpy as np
    from sqlalchemy import String, select, type_coerce

    from leadcli.models import Lead
    from leadcli.scoring_model import parse_many
    from leadcli.store.sqlite_fast import FastSQL

    t = Lead.metadata.tables["lead"]
    cols = sorted({c for c, _ in LEAD_COLUMNS.values()})
    # `fields` as its stored JSON text: parse_many reads it leniently.
    rows = FastSQL(s).fetchall(
        select(t.c.status, t.c.created_at, type_coerce(t.c.fields, String), t.c.id, outcome_at(t),
               *(t.c[c] for c in cols))
        .where(t.c.status.in_(("converted", "disqualified"))))
    n = len(rows)
    empty: list[tuple] = [()] * (5 + len(cols))
    status, created, fields, lead_ids, outcomes, *values_of = zip(*rows, strict=True) if rows else empty
    del rows
    y = np.fromiter((v == "converted" for v in status), dtype=np.int8, count=n)
    window = {"from": min(created, default=None), "to": max(created, default=None)}
    ids = np.fromiter(lead_ids, dtype=np.int64, count=n)
    stamps = import_stamps(s)
    moments = [None if not v or v in stamps else str(v) for v in outcomes]
    by_column = dict(zip(cols, values_of, strict=True))
    columns = []
    for name, (column, how) in LEAD_COLUMNS.items():
        values = list(by_column[column])
        if how == "cents":
            values = [None if v is None else v / 100 for v in values]
        columns.append(Column(name, "lead", name, values))
    parsed = parse_many(fields)
    seen = Counter(chain.from_iterable(parsed))
    taken = {c.name.casefold() for c in columns}
    for key in sorted(seen, key=lambda k: (-seen[k], k)):
        name = key if key.casefold() not in taken else f"{key} (custom field)"
        taken.add(name.casefold())
        columns.append(Column(name, "field", key, list(map(methodcaller("get", key), parsed))))
    columns += _activity_columns(s, list(zip(lead_ids, outcomes, strict=True)))
    del parsed
    return ids, y, columns, window, moments


def _activity_columns(s: Session, closed: list[tuple[int, str | None]]) -> list[Column]:
    """Engagement features of the closed leads, from activities done before each outcome (none if no
    activity was ever done): counts by type and outcome, reached, days since the last, speed to first."""
    from sqlalchemy import column, select, table

    from leadcli import engagement, when

    a = table("activity", column("id"), column("done_at"))
    if not closed or s.connection().execute(select(a.c.id).where(a.c.done_at.is_not(None)).limit(1)).first() is None:
        return []
    now = when.now_iso()
    rows = engagement.features(s, {lead_id: moment or now for lead_id, moment in closed})
    return [Column(activity_name(key), "activity", key, [rows[lead_id].get(key) for lead_id, _ in closed])
            for key in engagement.FEATURES]


def activity_name(key: str) -> str:
    """How an engagement feature is named in the model: `activities: calls (count)`, `activities: reached (yes/no)`."""
    if key == "n_activities":
        return "activities: all (count)"
    if key.startswith("n_"):
        return f"activities: {key[2:].replace('_', ' ')} (count)"
    if key == "reached":
        return "activities: reached (yes/no)"
    return f"activities: {key.replace('_', ' ')}"


# ---------------------------------------------------------------- choosing features


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9@-]+", name.casefold())) - {""}


def _pick(columns: list[Column], fields: Sequence[str] | None, exclude: Sequence[str] | None
          ) -> tuple[list[Column], set[str], dict[str, str]]:
    """The candidate columns after --fields / --exclude; names given explicitly are forced in."""
    known = [c for c in columns if c.origin in ("field", "activity") or c.name in LEAD_COLUMNS]

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
        picked = [c for c in known if c.origin in ("field", "activity") or c.name in AUTO_LEAD_COLUMNS]
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
    if len(uniques) > _MANY_NUMBERS:
        plain = _profile_plain_numbers(col, codes, uniques, forced)
        if plain is not None:
            return plain
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


# Above this many distinct values a column of plain finite numbers (an amount) is profiled with numpy.
_MANY_NUMBERS = 2000


def _profile_plain_numbers(col: Column, codes: np.ndarray, uniques: Any, forced: bool
                           ) -> tuple[str | None, str | None, Any] | None:
    """`_profile` of a column whose values are all finite ints and floats, many distinct ones (so never a
    category): the same answer without converting each value in Python. None when it does not apply."""
    if not all(type(u) in (int, float) for u in uniques):
        return None
    numbers = np.asarray(uniques, dtype=np.float64)
    if not np.isfinite(numbers).all():
        return None
    parsed = np.append(numbers, np.nan)[codes]
    n_present = int((codes >= 0).sum())
    if not forced:
        sample = [str(u).strip() for u in uniques[:2000]]
        why = _why_not(col, parsed, n_present, len(uniques), sample)
        if why:
            return None, why, None
    return "number", None, parsed


def _number(value: Any) -> float:
    from leadcli.scoring_model import to_number

    x = to_number(value)
    return np.nan if x is None else x


# ---------------------------------------------------------------- the whole run


def train(s: Session, *, fields: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
          holdout_since: str | None = None) -> TrainResult:
    """Train on every converted and disqualified lead, store the model and make it active.

    The verdict comes from a backtest by time (the newest 20 % of outcomes held out, or those
    closed since `holdout_since`), the random split's figures stand beside it.
    """
    ids, y, columns, window, moments = _load(s)
    pos, neg = _check_outcomes(y)
    picked, forced, skipped = _pick(columns, fields, exclude)
    naive = pos < MIN_PER_CLASS or neg < MIN_PER_CLASS
    kind = "naive_bayes" if naive else "logistic"
    profiles = _profiles(picked, forced, skipped)
    order = _canonical_order(profiles, y)
    y, ids = y[order], ids[order]
    moments = [moments[i] for i in order]
    profiles = [(c, t, (d[0][order], d[1], d[2]) if t == "category" else d[order]) for c, t, d in profiles]
    fit = _fit_measured(kind, profiles, y, naive, skipped, min(pos, neg), moments, holdout_since)
    leaks = find_leaks(fit.encs, y, fit.rows)
    payload = _payload(kind, fit, y, leaks, window, skipped, pos, neg, fields, exclude)
    model_from_payload(json.loads(json.dumps(payload)))
    model_id = save_model(s, payload)
    warnings = [f"{leak['field']} looks like a leak: {leak['value']!s} converted {leak['rate']:g} % of "
                f"{leak['closed']:,} closed leads; a field filled in after contact gives the outcome away "
                f"(retrain with --exclude \"{leak['field']}\")" for leak in leaks]
    X = design(fit.encs, fit.rows) if fit.est is not None else None
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
        ftype, why, data = _profile(col, col.name in forced or col.origin == "activity")
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
    metrics: dict | None  # the random split's
    backtest: dict | None = None  # the time split's, or the random split's when there is no time order


def _fit_on(kind: str, profiles: list, y: np.ndarray, rows: np.ndarray, naive: bool, skipped: dict[str, str]
            ) -> tuple[list[Encoded], list[dict], float, Any, float, float]:
    encs = _encodings(profiles, rows, naive, skipped)
    _require_features(encs, skipped)
    intercept, tables, est, a, b = fit_tables(kind, encs, y, rows)
    neutralise(encs, tables, rows)
    return encs, tables, intercept, est, a, b


def _measure(encs: list[Encoded], tables: list[dict], intercept: float, y: np.ndarray, test: np.ndarray,
             trained_on: int) -> dict:
    z = intercept + sum(contributions(e, t, test) for e, t in zip(encs, tables, strict=False))
    metrics = holdout_metrics(y[test].astype(float), 1 / (1 + np.exp(-z)))
    metrics["trained_on"] = trained_on
    return metrics


def _fit_measured(kind: str, profiles: list, y: np.ndarray, naive: bool, skipped: dict[str, str],
                  min_class: int, moments: list[str | None], since: str | None) -> _Fitted:
    """Measure on a random and a time hold-out (when there are enough of each outcome), then fit the model."""
    n = len(y)
    everyone = np.arange(n)
    metrics = backtest = None
    if min_class >= 5:
        from sklearn.model_selection import train_test_split

        fit_rows, test_rows = train_test_split(everyone, test_size=HOLDOUT, stratify=y, random_state=SEED)
        fit_rows, test_rows = np.sort(fit_rows), np.sort(test_rows)
        encs, tables, intercept, est, a, b = _fit_on(kind, profiles, y, fit_rows, naive, skipped)
        metrics = _measure(encs, tables, intercept, y, test_rows, len(fit_rows))
        backtest = _backtest(kind, profiles, y, naive, skipped, moments, since, metrics)
    final_rows = everyone if metrics is None or n < REFIT_LIMIT else fit_rows
    if metrics is None or n < REFIT_LIMIT:
        encs, tables, intercept, est, a, b = _fit_on(kind, profiles, y, final_rows, naive, skipped)
    for e, t in zip(encs, tables, strict=False):
        stats(e, t, y, final_rows)
    return _Fitted(encs, tables, intercept, est, a, b, final_rows, metrics, backtest)


def _backtest(kind: str, profiles: list, y: np.ndarray, naive: bool, skipped: dict[str, str],
              moments: list[str | None], since: str | None, random_metrics: dict) -> dict:
    """The time split's figures: learnt from the leads closed before, tested on those closed since.

    Above BACKTEST_FIT_LIMIT earlier outcomes the measuring model learns from a sample of that many:
    with a few hundred weights the figures hardly move, the time does.
    """
    split: Split = time_split(moments, y, since)
    if split.method == "random" or split.fit is None or split.test is None:
        out = {k: random_metrics[k] for k in ("auc", "brier", "holdout", "base_rate", "calibration")}
        return out | {"method": "random", "holdout_since": None, "undated": split.undated, "note": split.note}
    rows = subsample(split.fit, BACKTEST_FIT_LIMIT)
    encs, tables, intercept, *_ = _fit_on(kind, profiles, y, rows, naive, dict(skipped))
    m = _measure(encs, tables, intercept, y, split.test, len(rows))
    return {k: m[k] for k in ("auc", "brier", "holdout", "base_rate", "calibration", "trained_on")} | {
        "method": "time", "holdout_since": split.since, "undated": split.undated, "note": split.note}


def _payload(kind: str, fit: _Fitted, y: np.ndarray, leaks: list[dict], window: dict, skipped: dict[str, str],
             pos: int, neg: int, fields: Sequence[str] | None, exclude: Sequence[str] | None) -> dict:
    """The model as stored: JSON numbers, strings, lists and dicts only."""
    contrib = [contributions(e, t, fit.rows) for e, t in zip(fit.encs, fit.tables, strict=False)]
    for t, c in zip(fit.tables, contrib, strict=False):
        t["mean"] = float(np.mean(c))
    spread = [float(np.std(c)) for c in contrib]
    total = sum(spread) or 1.0
    influence = sorted(({"field": t["name"], "share": round(100 * sp / total, 1)}
                        for t, sp in zip(fit.tables, spread, strict=False)), key=lambda r: -r["share"])
    naive = kind == "naive_bayes"
    created = now_iso()
    payload = {
        "format": FORMAT, "kind": kind, "created_at": created, "trained_at": created,
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
        "backtest": fit.backtest, "reference": score_histogram(fit, y),
    }
    payload["readiness"] = readiness(kind, fit.backtest, leaks, pos, neg)
    return payload


def score_histogram(fit: _Fitted, y: np.ndarray) -> list[float]:
    """The share of training leads in each tenth of the score range: what live scores are compared with."""
    z = fit.intercept + sum(contributions(e, t, fit.rows) for e, t in zip(fit.encs, fit.tables, strict=False))
    p = 1 / (1 + np.exp(-np.asarray(z, dtype=np.float64)))
    counts = np.bincount(np.minimum((p * 10).astype(np.int64), 9), minlength=10)
    return [round(float(c) / max(1, len(p)), 5) for c in counts]


def _encodings(profiles: list, rows: np.ndarray, naive: bool, skipped: dict[str, str]) -> list[Encoded]:
    out = []
    for col, ftype, data in profiles:
        e = encode(col, ftype, data, rows, naive)
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
