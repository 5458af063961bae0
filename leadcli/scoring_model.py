"""The scoring model itself: how a stored JSON model reads values and adds up a lead's log-odds.

A model is an additive log-odds table (categories, weights, scaling, bin edges) kept as JSON data,
never as a pickle: a database from someone else cannot run code. Plain Python for a handful of
leads and numpy for large batches add the same terms in the same order, and the score is read off
fixed log-odds thresholds, so both give identical scores. No database, no I/O.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadcli.errors import BadModel

FORMAT = 1
KINDS = ("logistic", "naive_bayes")
SMALL_BATCH = 2000  # below this many leads, plain Python beats importing numpy

# Lead columns a model may read, and how their values are read: (SQL column, kind).
LEAD_COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("source", "text"),
    "owner": ("owner", "text"),
    "title": ("title", "text"),
    "currency": ("currency", "text"),
    "company": ("company", "text"),
    "value": ("value_cents", "cents"),
}

# Web-form defaults and spreadsheet markers that mean "nobody answered".
MISSING_TOKENS = frozenset({"select", "-- select --", "--select--", "please select", "n/a", "#n/a", "na",
                            "null", "nan", "none", "-", "--", "?"})

# score = how many of these log-odds thresholds z reaches: the same integer from Python and numpy.
THRESHOLDS = [math.log((k + 0.5) / (99.5 - k)) for k in range(100)]


# ---------------------------------------------------------------- values


def norm_category(value: Any) -> str | None:
    """The key a categorical value is matched on: trimmed, case-folded; None when missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        if value != value:
            return None
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value).strip()
    if not text:
        return None
    key = text.casefold()
    return None if key in MISSING_TOKENS else key


def to_number(value: Any) -> float | None:
    """A float for numeric fields; None when missing or not a number."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "")
        if not text or text.casefold() in MISSING_TOKENS:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def to_numbers(raw: Sequence[Any]):
    """`to_number` of a column as a float array (NaN for none), each distinct value converted once."""
    import numpy as np

    nan = float("nan")
    cache: dict[Any, float] = {}
    out = []
    for value in raw:
        try:
            x = cache[value]
        except KeyError:
            got = to_number(value)
            x = cache[value] = nan if got is None else got
        except TypeError:  # unhashable: a list or object in a custom field
            x = nan
        out.append(x)
    return np.array(out, dtype=np.float64)


def parse_fields(text: str | dict | None) -> dict:
    """A lead's custom fields from their JSON text; {} for none or unreadable text."""
    if isinstance(text, dict):  # a driver that decodes JSON columns itself (psycopg)
        return text
    if not text or text == "{}":
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_many(texts: Sequence[str | dict | None]) -> list[dict]:
    """`parse_fields` of many leads at once: one JSON parse of all the texts (about twice as fast on a
    million leads), row by row when any text is not a plain JSON object on its own."""
    if not all(type(t) is str and t[:1] == "{" and t[-1:] == "}" for t in texts):
        return [parse_fields(t) for t in texts]
    try:
        values = json.loads("[" + ",".join(texts) + "]")  # type: ignore[arg-type]
    except ValueError:
        return [parse_fields(t) for t in texts]
    if len(values) != len(texts) or not all(type(v) is dict for v in values):
        return [parse_fields(t) for t in texts]
    return values


def score_from_logit(z: float) -> int:
    return bisect.bisect_right(THRESHOLDS, z)


def probability(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def psi(expected: Sequence[float], actual: Sequence[float], eps: float = 1e-4) -> float:
    """Population stability index between two distributions over the same bins (shares summing to 1)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=False):
        e, a = max(e, eps), max(a, eps)
        total += (a - e) * math.log(a / e)
    return total


def score_shares(scores: Sequence[int]) -> list[float]:
    """The share of scores in each tenth of 0-100 (90-100 together): what `psi` compares."""
    counts = [0] * 10
    for x in scores:
        counts[min(9, max(0, int(x) // 10))] += 1
    return [c / max(1, len(scores)) for c in counts]


# ---------------------------------------------------------------- grades and trends

ODDS_STEP = 2.5
TREND_STEP = 5  # points a score must move, past which it is improving / declining


def base_rate_bands(rate: float) -> dict[str, int]:
    """Bands by how a lead's chance compares with the average lead's (the base rate), in odds.

    A: at least ODDS_STEP times the odds of an average lead; B: at least its odds; C: at least
    1/ODDS_STEP of them; D below. With a 38 % base rate that is A 61+, B 38+, C 20+; with 5 %,
    A 12+, B 5+, C 2+: the grades mean "better or worse than usual here" whatever the base rate.
    """
    rate = min(max(rate, 0.001), 0.999)
    odds = rate / (1 - rate)

    def score(o: float) -> int:
        return round(100 * o / (1 + o))

    c = max(1, score(odds / ODDS_STEP))
    b = max(c + 1, score(odds))
    a = max(b + 1, score(odds * ODDS_STEP))
    if a > 100:
        a, b, c = 100, min(b, 99), min(c, 98)
    return {"A": a, "B": b, "C": c}


def grade_for(score: int, bands: dict[str, int]) -> str:
    if score >= bands["A"]:
        return "A"
    if score >= bands["B"]:
        return "B"
    if score >= bands["C"]:
        return "C"
    return "D"


def band_rows(bands: dict[str, int]) -> list[dict]:
    return [{"grade": "A", "from": bands["A"], "to": 100}, {"grade": "B", "from": bands["B"], "to": bands["A"] - 1},
            {"grade": "C", "from": bands["C"], "to": bands["B"] - 1}, {"grade": "D", "from": 0, "to": bands["C"] - 1}]


def trend_for(previous: int | None, score: int) -> str:
    if previous is None:
        return "not enough info"
    if score - previous > TREND_STEP:
        return "improving"
    if previous - score > TREND_STEP:
        return "declining"
    return "steady"


# ---------------------------------------------------------------- the model


@dataclass
class Feature:
    """One input of the model, as stored: where it is read from and the weight of each value."""

    spec: dict

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def source(self) -> tuple[str, str]:
        return self.spec["from"], self.spec["key"]

    @property
    def is_number(self) -> bool:
        return self.spec["type"] == "number"

    # One value, plain Python.
    def contribution(self, raw: Any) -> float:
        sp = self.spec
        if not self.is_number:
            key = norm_category(raw)
            if key is None:
                return sp["missing"]
            return sp["weights"].get(key, sp["other"])
        x = to_number(raw)
        fill = sp["fill"] if x is None else x
        linear = sp["coef"] * ((min(max(fill, sp["clip"][0]), sp["clip"][1]) - sp["center"]) / sp["scale"])
        if x is None:
            return linear + sp["missing"]
        return linear + sp["bins"][bisect.bisect_right(sp["edges"], x)]

    # A column of values, numpy.
    def contributions(self, raw: Sequence[Any]):
        import numpy as np

        sp = self.spec
        if not self.is_number:
            weights, other, missing = sp["weights"], sp["other"], sp["missing"]
            cache: dict[Any, float] = {}
            out = np.empty(len(raw), dtype=np.float64)
            for i, value in enumerate(raw):
                try:
                    out[i] = cache[value]
                except KeyError:
                    key = norm_category(value)
                    w = missing if key is None else weights.get(key, other)
                    cache[value] = out[i] = w
                except TypeError:  # unhashable: a list or object in a custom field
                    out[i] = other
            return out
        x = to_numbers(raw)
        missing = np.isnan(x)
        filled = np.where(missing, sp["fill"], x)
        linear = sp["coef"] * ((np.clip(filled, sp["clip"][0], sp["clip"][1]) - sp["center"]) / sp["scale"])
        bins = np.asarray(sp["bins"], dtype=np.float64)
        idx = np.searchsorted(np.asarray(sp["edges"], dtype=np.float64), filled, side="right")
        return linear + np.where(missing, sp["missing"], bins[idx])


@dataclass
class Model:
    id: int | None
    kind: str
    created_at: str
    payload: dict
    features: list[Feature] = field(default_factory=list)

    @property
    def intercept(self) -> float:
        return self.payload["intercept"]

    @property
    def trusted(self) -> bool:
        """False when the backtest said the model must score nothing (models stored before it are trusted)."""
        return bool((self.payload.get("readiness") or {}).get("trusted", True))

    @property
    def trained_at(self) -> str:
        return self.payload.get("trained_at") or self.payload.get("created_at") or self.created_at

    def columns_needed(self) -> tuple[list[str], bool]:
        """(lead columns, whether custom fields are read)."""
        cols = sorted({LEAD_COLUMNS[f.source[1]][0] for f in self.features if f.source[0] == "lead"})
        return cols, any(f.source[0] == "field" for f in self.features)

    def activity_keys(self) -> list[str]:
        """The engagement features (`engagement.FEATURES`) the model reads from activities."""
        return [f.source[1] for f in self.features if f.source[0] == "activity"]

    def logit_one(self, values: dict[str, Any]) -> float:
        z = self.intercept
        for f in self.features:
            z = z + f.contribution(values.get(f.name))
        return z

    def logits(self, columns: dict[str, Sequence[Any]], n: int):
        import numpy as np

        z = np.full(n, self.intercept, dtype=np.float64)
        for f in self.features:
            z += f.contributions(columns.get(f.name, [None] * n))
        return z

    def scores(self, columns: dict[str, Sequence[Any]], n: int) -> list[int]:
        """Scores 0-100 for n leads given as columns (feature name -> values); plain Python when small."""
        if n < SMALL_BATCH:
            rows = [{name: col[i] for name, col in columns.items()} for i in range(n)]
            return [score_from_logit(self.logit_one(r)) for r in rows]
        import numpy as np

        return np.searchsorted(np.asarray(THRESHOLDS), self.logits(columns, n), side="right").tolist()


# The bounds of a stored payload: a model from a crafted database is refused, never half-used.
MAX_PAYLOAD_CHARS = 16 << 20
MAX_DEPTH = 16
MAX_FEATURES = 2000
MAX_WEIGHTS = 200_000  # categories of one feature
MAX_EDGES = 1000  # bin edges of one numeric feature
MAX_TEXT = 1000  # characters of a name, key or category
MAX_ITEMS = 500_000  # lists and dict entries in the whole payload
# Parts of the payload that `score model` shows: each is a dict or a list when present.
_SHAPES: dict[str, type | tuple[type, ...]] = {
    "counts": dict, "window": (dict, str), "options": dict, "metrics": dict, "backtest": dict, "readiness": dict,
    "calibration": (dict, list), "influence": list, "leaks": list, "skipped": dict, "why": (str, list, dict),
    "trained_at": str, "created_at": str}


def bad_model(model_id: int | None, why: str) -> BadModel:
    """The one message for a stored model that cannot be used, whatever is wrong with it."""
    return BadModel(f"scoring model #{model_id} cannot be read: {why}",
                    hint="train a new one with `leadcli score train` (scoring stays off until then)")


def model_from_payload(payload: Any, model_id: int | None = None, created_at: str = "") -> Model:
    """Validate a stored payload: plain JSON numbers, strings, lists and dicts of the expected shape only.

    Besides each feature's fields, the payload as a whole is bounded (nesting depth, lists and
    entries, text lengths) and the parts `score model` shows must be of their type.
    """
    def bad(why: str) -> BadModel:
        return bad_model(model_id, why)

    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise bad(f"unknown format {payload.get('format') if isinstance(payload, dict) else type(payload)!r}"[:200])
    _check_bounds(payload, bad)
    if payload.get("kind") not in KINDS:
        raise bad(f"unknown kind {payload.get('kind')!r}"[:200])
    if not _is_number(payload.get("intercept")):
        raise bad("no intercept")
    for key, kind in _SHAPES.items():
        if payload.get(key) is not None and not isinstance(payload[key], kind):
            raise bad(f"its {key!r} is not of the expected type")
    specs = payload.get("features", [])
    if not isinstance(specs, list) or len(specs) > MAX_FEATURES:
        raise bad(f"its features are not a list of at most {MAX_FEATURES}")
    features = [Feature(_checked_feature(spec, bad)) for spec in specs]
    return Model(model_id, payload["kind"], created_at, payload, features)


def _checked_feature(spec: Any, bad: Any) -> dict:
    if not isinstance(spec, dict) or spec.get("type") not in ("category", "number") \
            or spec.get("from") not in ("lead", "field", "activity") or not _is_text(spec.get("name")) \
            or not _is_text(spec.get("key")):
        raise bad("a feature has an unknown shape")
    if spec["from"] == "lead" and spec.get("key") not in LEAD_COLUMNS:
        raise bad(f"unknown lead column {spec.get('key')!r}")
    if spec["type"] == "category":
        weights = spec.get("weights")
        ok = isinstance(weights, dict) and len(weights) <= MAX_WEIGHTS \
            and all(_is_number(v) and len(k) <= MAX_TEXT for k, v in weights.items()) \
            and _is_number(spec.get("other")) and _is_number(spec.get("missing"))
    else:
        edges: Any = spec.get("edges")
        ok = all(_is_number(spec.get(k)) for k in ("fill", "center", "scale", "coef", "missing")) \
            and spec.get("scale") != 0 and _numbers(spec.get("clip"), 2) and spec["clip"][0] <= spec["clip"][1] \
            and _numbers(edges) and len(edges) <= MAX_EDGES and edges == sorted(edges) \
            and _numbers(spec.get("bins"), len(edges) + 1)
    if not ok:
        raise bad(f"feature {spec['name']!r} is malformed")
    return spec


def _check_bounds(payload: dict, bad: Any) -> None:
    """Depth, item count and text length of the whole payload, walked without recursion."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    items = 0
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise bad(f"it is nested deeper than {MAX_DEPTH} levels")
            items += len(value)
            if items > MAX_ITEMS:
                raise bad(f"it holds more than {MAX_ITEMS:,} values")
            children = value.values() if isinstance(value, dict) else value
            if isinstance(value, dict) and any(len(k) > MAX_TEXT for k in value):
                raise bad(f"a key is longer than {MAX_TEXT} characters")
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, str)))
        elif isinstance(value, str) and len(value) > 20 * MAX_TEXT:
            raise bad(f"a text is longer than {20 * MAX_TEXT:,} characters")


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, length: int | None = None) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value) and (length is None or len(value) == length)


# ---------------------------------------------------------------- describing a model


KIND_NAMES = {"logistic": "logistic regression (calibrated)", "naive_bayes": "naive-Bayes frequency model"}


def model_summary(model: Model, active: bool = True) -> dict:
    """What `score model` shows: data used, metrics (the verdict's), the backtest beside the random split,
    readiness, fields used and not used, leaks."""
    p = model.payload
    counts = p.get("counts") or {}
    backtest = p.get("backtest")
    random_split = p.get("metrics")
    verdict_metrics = None
    if backtest:
        verdict_metrics = {k: backtest.get(k) for k in ("auc", "brier", "holdout", "base_rate")} | {
            "split": backtest.get("method"), "random_auc": (random_split or {}).get("auc"),
            "random_brier": (random_split or {}).get("brier")}
    elif random_split:  # a model trained before backtests: its random split is all there is
        verdict_metrics = {k: random_split.get(k) for k in ("auc", "brier", "holdout", "base_rate")} | {
            "split": "random", "random_auc": random_split.get("auc"), "random_brier": random_split.get("brier")}
    return {
        "id": model.id, "kind": model.kind, "kind_name": KIND_NAMES[model.kind], "active": active,
        "created_at": p.get("created_at") or model.created_at, "trained_at": model.trained_at,
        "outcomes": counts.get("closed"), "why": p.get("why"),
        "counts": counts, "window": p.get("window"), "options": p.get("options"),
        "metrics": verdict_metrics, "backtest": backtest, "random_split": random_split,
        "readiness": p.get("readiness"), "trusted": model.trusted, "calibration": p.get("calibration"),
        "features": [{"field": f.name, "type": f.spec["type"],
                      "values": len(f.spec["weights"]) if not f.is_number else None} for f in model.features],
        "influence": p.get("influence") or [], "leaks": p.get("leaks") or [],
        "skipped": [{"field": k, "why": v} for k, v in (p.get("skipped") or {}).items()],
        "excluded": list((p.get("options") or {}).get("exclude") or []),
    }
