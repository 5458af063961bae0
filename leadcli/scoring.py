"""Predictive lead scoring: the stored model, scores, grades, trends and the reasons behind a score.

A model is an additive log-odds table kept in the database as JSON data (categories, weights,
scaling, bin edges, metrics), never as a pickle: a database from someone else cannot run code.
Training lives in `scoring_train` (pandas and scikit-learn, imported only there). Scoring here
needs nothing but the JSON: plain Python for a handful of leads (so `add` stays quick) and numpy
for large batches. Both paths add the same terms in the same order, and the score is read off
fixed log-odds thresholds, so they give identical scores. Never prints.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli.errors import InvalidValue, LeadcliError, NotFound
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

FORMAT = 1
KINDS = ("logistic", "naive_bayes")
OPEN = ("new", "contacted", "qualified")
DEFAULT_BANDS = {"A": 75, "B": 50, "C": 25}
BANDS_KEY = "score.grade_bands"
TREND_STEP = 5  # points a score must move, past which it is improving / declining
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
_THRESHOLDS = [math.log((k + 0.5) / (99.5 - k)) for k in range(100)]


class NoModel(LeadcliError):
    """No scoring model has been trained yet."""


class BadModel(LeadcliError):
    """A stored model is not in a shape this leadcli reads."""


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


def score_from_logit(z: float) -> int:
    return bisect.bisect_right(_THRESHOLDS, z)


def probability(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


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
        x = np.array([to_number(v) for v in raw], dtype=np.float64) if raw else np.empty(0)
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

    def columns_needed(self) -> tuple[list[str], bool]:
        """(lead columns, whether custom fields are read)."""
        cols = sorted({LEAD_COLUMNS[f.source[1]][0] for f in self.features if f.source[0] == "lead"})
        return cols, any(f.source[0] == "field" for f in self.features)

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

        return np.searchsorted(np.asarray(_THRESHOLDS), self.logits(columns, n), side="right").tolist()


def model_from_payload(payload: Any, model_id: int | None = None, created_at: str = "") -> Model:
    """Validate a stored payload: plain JSON numbers, strings, lists and dicts of the expected shape only."""
    def bad(why: str) -> BadModel:
        return BadModel(f"scoring model #{model_id} cannot be read: {why}",
                        hint="train a new one with `leadcli score train`")

    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise bad(f"unknown format {payload.get('format') if isinstance(payload, dict) else type(payload)!r}")
    if payload.get("kind") not in KINDS:
        raise bad(f"unknown kind {payload.get('kind')!r}")
    if not _is_number(payload.get("intercept")):
        raise bad("no intercept")
    features = []
    for spec in payload.get("features", []):
        if not isinstance(spec, dict) or spec.get("type") not in ("category", "number") \
                or spec.get("from") not in ("lead", "field") or not isinstance(spec.get("name"), str):
            raise bad("a feature has an unknown shape")
        if spec["from"] == "lead" and spec.get("key") not in LEAD_COLUMNS:
            raise bad(f"unknown lead column {spec.get('key')!r}")
        if spec["type"] == "category":
            ok = isinstance(spec.get("weights"), dict) and all(_is_number(v) for v in spec["weights"].values()) \
                and _is_number(spec.get("other")) and _is_number(spec.get("missing"))
        else:
            ok = all(_is_number(spec.get(k)) for k in ("fill", "center", "scale", "coef", "missing")) \
                and spec.get("scale") != 0 and _numbers(spec.get("clip"), 2) and _numbers(spec.get("edges")) \
                and _numbers(spec.get("bins"), len(spec.get("edges") or []) + 1)
        if not ok:
            raise bad(f"feature {spec['name']!r} is malformed")
        features.append(Feature(spec))
    return Model(model_id, payload["kind"], created_at, payload, features)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, length: int | None = None) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value) and (length is None or len(value) == length)


# ---------------------------------------------------------------- storage


def save_model(s: Session, payload: dict) -> int:
    """Store a new model as JSON and make it the active one; older models are kept."""
    from leadcli.store import raw_connection

    model_from_payload(payload)  # never store what could not be read back
    raw = raw_connection(s)
    raw.execute("UPDATE score_model SET active = 0 WHERE active = 1")
    cur = raw.execute("INSERT INTO score_model (kind, created_at, active, payload) VALUES (?, ?, 1, ?)",
                      (payload["kind"], payload["created_at"], json.dumps(payload, separators=(",", ":"))))
    return int(cur.lastrowid)


def active_model(s: Session) -> Model | None:
    from leadcli.store import raw_connection

    row = raw_connection(s).execute(
        "SELECT id, created_at, payload FROM score_model WHERE active = 1 ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return model_from_payload(_loads(row[2], row[0]), row[0], row[1])


def require_model(s: Session) -> Model:
    model = active_model(s)
    if model is None:
        raise NoModel("no scoring model has been trained yet",
                      hint="train one from your converted and disqualified leads: `leadcli score train`")
    return model


def get_model(s: Session, model_id: int) -> Model:
    from leadcli.store import raw_connection

    row = raw_connection(s).execute("SELECT id, created_at, payload FROM score_model WHERE id = ?",
                                    (model_id,)).fetchone()
    if row is None:
        raise NotFound(f"no scoring model #{model_id}", hint="list them with `leadcli score model --list`")
    return model_from_payload(_loads(row[2], row[0]), row[0], row[1])


def list_models(s: Session) -> list[dict]:
    from leadcli.store import raw_connection

    out = []
    for model_id, kind, created, active, payload in raw_connection(s).execute(
            "SELECT id, kind, created_at, active, payload FROM score_model ORDER BY id DESC"):
        data = _loads(payload, model_id)
        metrics = data.get("metrics") or {}
        out.append({"id": model_id, "kind": kind, "created_at": created, "active": bool(active),
                    "outcomes": (data.get("counts") or {}).get("closed"), "auc": metrics.get("auc"),
                    "verdict": (data.get("readiness") or {}).get("verdict")})
    return out


def _loads(text: str, model_id: int) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise BadModel(f"scoring model #{model_id} is not valid JSON ({exc})",
                       hint="train a new one with `leadcli score train`") from None


# ---------------------------------------------------------------- grades


def grade_bands(s: Session) -> dict[str, int]:
    from leadcli.store import raw_connection

    row = raw_connection(s).execute("SELECT value FROM setting WHERE key = ?", (BANDS_KEY,)).fetchone()
    if row is None:
        return dict(DEFAULT_BANDS)
    try:
        bands = json.loads(row[0])
        return {g: int(bands[g]) for g in ("A", "B", "C")}
    except (ValueError, KeyError, TypeError):
        return dict(DEFAULT_BANDS)


def grade_for(score: int, bands: dict[str, int]) -> str:
    if score >= bands["A"]:
        return "A"
    if score >= bands["B"]:
        return "B"
    if score >= bands["C"]:
        return "C"
    return "D"


def set_grade_bands(s: Session, a: int | None = None, b: int | None = None, c: int | None = None) -> dict:
    """Change the bands (the lowest score of grades A, B and C) and re-grade every scored lead."""
    from leadcli.store import raw_connection

    bands = grade_bands(s)
    for grade, value in (("A", a), ("B", b), ("C", c)):
        if value is not None:
            bands[grade] = value
    if not 100 >= bands["A"] > bands["B"] > bands["C"] >= 1:
        raise InvalidValue("grades", f"bands must satisfy 100 >= A > B > C >= 1 (got A={bands['A']}, "
                           f"B={bands['B']}, C={bands['C']})",
                           hint="e.g. leadcli score grades --a 75 --b 50 --c 25", exit_code=2)
    raw = raw_connection(s)
    raw.execute("INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (BANDS_KEY, json.dumps(bands)))
    cur = raw.execute("UPDATE lead SET grade = CASE WHEN score >= ? THEN 'A' WHEN score >= ? THEN 'B' "
                      "WHEN score >= ? THEN 'C' ELSE 'D' END WHERE score IS NOT NULL",
                      (bands["A"], bands["B"], bands["C"]))
    return {"bands": bands, "regraded": cur.rowcount}


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


# ---------------------------------------------------------------- scoring leads in the database


def read_columns(s: Session, model: Model, where: str, params: Sequence[Any] = ()) -> tuple[list, list, dict]:
    """(ids, current scores, feature columns) of the leads matching `where`, read set-based."""
    from leadcli.store import raw_connection

    cols, wants_fields = model.columns_needed()
    select = ["id", "score"] + cols + (["fields"] if wants_fields else [])
    rows = raw_connection(s).execute(f"SELECT {', '.join(select)} FROM lead WHERE {where}", params).fetchall()
    ids = [r[0] for r in rows]
    previous = [r[1] for r in rows]
    position = {name: i for i, name in enumerate(select)}
    columns: dict[str, list] = {}
    parsed = None
    if wants_fields:
        at = position["fields"]
        parsed = [parse_fields(r[at]) for r in rows]
    for f in model.features:
        kind, key = f.source
        if kind == "lead":
            column, how = LEAD_COLUMNS[key]
            at = position[column]
            values = [r[at] for r in rows]
            columns[f.name] = [None if v is None else v / 100 for v in values] if how == "cents" else values
        else:
            columns[f.name] = [d.get(key) for d in parsed]
    return ids, previous, columns


def parse_fields(text: str | None) -> dict:
    """A lead's custom fields from their JSON text; {} for none or unreadable text."""
    if not text or text == "{}":
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def lead_values(model: Model, lead: Any) -> dict[str, Any]:
    """The feature values of one lead (a Lead model or a dict with the same keys)."""
    def get(name: str) -> Any:
        return lead.get(name) if isinstance(lead, dict) else getattr(lead, name, None)

    fields = get("fields") or {}
    if isinstance(fields, str):
        fields = parse_fields(fields)
    out: dict[str, Any] = {}
    for f in model.features:
        kind, key = f.source
        if kind == "lead":
            column, how = LEAD_COLUMNS[key]
            value = get(column)
            out[f.name] = None if value is None else (value / 100 if how == "cents" else value)
        else:
            out[f.name] = fields.get(key)
    return out


@dataclass
class RunResult:
    model_id: int
    scored: int = 0
    skipped: list[int] = field(default_factory=list)  # closed leads among the ids asked for
    rows: list[dict] = field(default_factory=list)  # per lead, when ids were given
    grades: dict[str, int] = field(default_factory=dict)


def score_leads(s: Session, model: Model, *, ids: Sequence[int] | None = None,
                id_range: tuple[int, int] | None = None, keep_rows: bool = False,
                changed_only: bool = False) -> RunResult:
    """Score open leads (all of them, the ids given, or an id range) and write score, grade, trend and history.

    `changed_only` leaves alone the leads whose score comes out as it was (their trend keeps saying
    how the last real change went).
    """
    from leadcli.store import raw_connection

    open_sql = "status IN ('new', 'contacted', 'qualified')"
    result = RunResult(model_id=model.id or 0)
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        found: list = [[], [], {}]
        for start in range(0, len(wanted), 900):
            chunk = wanted[start:start + 900]
            i, p, c = read_columns(s, model, f"{open_sql} AND id IN ({','.join('?' * len(chunk))})", chunk)
            found[0] += i
            found[1] += p
            for k, v in c.items():
                found[2].setdefault(k, []).extend(v)
        lead_ids, previous, columns = found
        for f in model.features:
            columns.setdefault(f.name, [])
        scored = set(lead_ids)
        result.skipped = [i for i in wanted if i not in scored]
    elif id_range is not None:
        lead_ids, previous, columns = read_columns(s, model, f"{open_sql} AND id BETWEEN ? AND ?", id_range)
    else:
        lead_ids, previous, columns = read_columns(s, model, open_sql)
    n = len(lead_ids)
    if n == 0:
        return result
    scores = model.scores(columns, n)
    if changed_only:
        keep = [i for i, (p, x) in enumerate(zip(previous, scores)) if p != x]
        if len(keep) < n:
            lead_ids, previous, scores = ([v[i] for i in keep] for v in (lead_ids, previous, scores))
            n = len(keep)
            if n == 0:
                return result
    bands = grade_bands(s)
    a, b, c = bands["A"], bands["B"], bands["C"]
    at = now_iso()
    grades = ["A" if x >= a else "B" if x >= b else "C" if x >= c else "D" for x in scores]
    trends = [trend_for(p, x) for p, x in zip(previous, scores)]
    raw = raw_connection(s)
    raw.executemany("UPDATE lead SET score = ?, grade = ?, trend = ?, scored_at = ? WHERE id = ?",
                    zip(scores, grades, trends, [at] * n, lead_ids))
    # History keeps each change of score, not every identical re-run.
    raw.executemany("INSERT INTO score_history (lead_id, model_id, score, grade, at) VALUES (?, ?, ?, ?, ?)",
                    [(i, model.id, x, g, at) for i, p, x, g in zip(lead_ids, previous, scores, grades) if p != x])
    _expire_loaded(s, lead_ids if n < SMALL_BATCH else None)
    result.scored = n
    for g in grades:
        result.grades[g] = result.grades.get(g, 0) + 1
    if keep_rows:
        result.rows = [{"id": i, "score": x, "grade": g, "trend": t, "previous": p}
                       for i, x, g, t, p in zip(lead_ids, scores, grades, trends, previous)]
    return result


def _expire_loaded(s: Session, ids: Iterable[int] | None) -> None:
    """Leads already loaded in the session see the scores written under them."""
    from leadcli.models import Lead

    wanted = None if ids is None else set(ids)
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Lead) and (wanted is None or obj.id in wanted):
            s.expire(obj, ["score", "grade", "trend", "scored_at"])


def score_new_leads(s: Session, first_id: int, last_id: int) -> None:
    """Score leads just created when a model is active; costs one indexed lookup when none is."""
    model = _usable_model(s)
    if model is not None:
        score_leads(s, model, id_range=(first_id, last_id))


def rescore_leads(s: Session, ids: Sequence[int]) -> None:
    """Score again leads whose data changed (edited, merged by an import, reopened), when a model is active.

    A score describes the lead as it is now: without this an edited lead would keep the score, grade
    and reasons of its old values until the next `score run`.
    """
    if not ids:
        return
    model = _usable_model(s)
    if model is not None:
        score_leads(s, model, ids=ids, changed_only=True)


def _usable_model(s: Session) -> Model | None:
    from leadcli.store import raw_connection

    if raw_connection(s).execute("SELECT 1 FROM score_model WHERE active = 1 LIMIT 1").fetchone() is None:
        return None
    from leadcli.errors import LeadcliError

    try:
        return active_model(s)
    except LeadcliError:
        # An unreadable model must not stop anyone adding, editing or importing leads: they stay
        # as scored, and `score run` / `score model` say what is wrong with the model.
        return None


def history(s: Session, lead_id: int, limit: int = 10) -> list[dict]:
    from leadcli.store import raw_connection

    rows = raw_connection(s).execute(
        "SELECT at, score, grade, model_id FROM score_history WHERE lead_id = ? ORDER BY at DESC, id DESC LIMIT ?",
        (lead_id, limit)).fetchall()
    return [{"at": at, "score": score, "grade": grade, "model": model_id} for at, score, grade, model_id in rows]


# ---------------------------------------------------------------- reasons


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
        return f"{_pct(converted / n)} of {n:,} closed {group} converted ({_pct(overall)} overall)"

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


def lead_score_extras(s: Session, lead: Any) -> tuple[list, list, dict]:
    """For `show`: the top reasons behind a scored lead's score (fields, sections, JSON keys)."""
    if lead.score is None:
        return [], [], {}
    model = active_model(s)
    if model is None:
        return [], [], {}
    ex = explain(model, lead_values(model, lead), top=3)
    rows = [{"points": f"+{r['points']}", "reason": r["text"]} for r in ex.reasons_for] + \
           [{"points": str(r["points"]), "reason": r["text"]} for r in ex.reasons_against]
    data = {"score_reasons": {"model": model.id, "for": [r["text"] for r in ex.reasons_for],
                              "against": [r["text"] for r in ex.reasons_against]}}
    return [], [("Why this score", rows)] if rows else [], data


# ---------------------------------------------------------------- describing a model


KIND_NAMES = {"logistic": "logistic regression (calibrated)", "naive_bayes": "naive-Bayes frequency model"}


def model_summary(model: Model, active: bool = True) -> dict:
    """What `score model` shows: data used, metrics, readiness, fields used and not used, leaks."""
    p = model.payload
    return {
        "id": model.id, "kind": model.kind, "kind_name": KIND_NAMES[model.kind], "active": active,
        "created_at": p.get("created_at") or model.created_at, "why": p.get("why"),
        "counts": p.get("counts"), "window": p.get("window"), "options": p.get("options"),
        "metrics": p.get("metrics"), "readiness": p.get("readiness"), "calibration": p.get("calibration"),
        "features": [{"field": f.name, "type": f.spec["type"],
                      "values": len(f.spec["weights"]) if not f.is_number else None} for f in model.features],
        "influence": p.get("influence") or [], "leaks": p.get("leaks") or [],
        "skipped": [{"field": k, "why": v} for k, v in (p.get("skipped") or {}).items()],
    }


# ---------------------------------------------------------------- scoring a file without importing it


@dataclass
class FileScores:
    header: list[str]  # the file's columns, then the added ones (names made unique)
    rows: list[list]  # the file's cells, then score, grade and the top reasons
    scored: int
    unreadable: int
    encoding: str
    delimiter: str


ADDED_COLUMNS = ("score", "grade", "top reason for", "top reason against")


def score_file(s: Session, path: str, *, encoding: str = "auto", delimiter: str = "auto") -> FileScores:
    """Read a CSV exactly as `import` does and score each row with the active model; the database is not changed.

    Rows that `import` would reject keep their cells, with the reason in place of a score.
    """
    from leadcli import ingest

    model = require_model(s)
    bands = grade_bands(s)
    result = ingest.read_rows(path, encoding=encoding, delimiter=delimiter)
    src, builder = result.source, result.builder
    try:
        cells_of, values_of, problems = [], [], []
        for _number, cells in src.rows():
            cells_of.append(cells)
            try:
                record = builder.as_dict(builder.build(cells))
            except InvalidValue as exc:
                values_of.append(None)
                problems.append(exc.message)
                continue
            values_of.append(lead_values(model, record))
            problems.append(None)
        header = list(src.header)
        enc, delim = src.encoding, src.delimiter_name
    finally:
        src.close()
    good = [v for v in values_of if v is not None]
    scores = iter(model.scores({f.name: [v[f.name] for v in good] for f in model.features}, len(good)))
    taken = {h.casefold() for h in header}
    added = []
    for name in ADDED_COLUMNS:
        while name.casefold() in taken:
            name += " (leadcli)"
        taken.add(name.casefold())
        added.append(name)
    rows = []
    width = len(header)
    for cells, values, problem in zip(cells_of, values_of, problems):
        cells = (list(cells) + [""] * width)[:width]
        if values is None:
            rows.append(cells + [None, None, f"not scored: {problem}", None])
            continue
        score = next(scores)
        ex = explain(model, values, top=1)
        rows.append(cells + [score, grade_for(score, bands), ex.reasons_for[0]["text"] if ex.reasons_for else None,
                             ex.reasons_against[0]["text"] if ex.reasons_against else None])
    return FileScores(header + added, rows, len(good), len(values_of) - len(good), enc, delim)
