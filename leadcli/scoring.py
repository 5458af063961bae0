"""Predictive lead scoring: the stored model, scores, grades, trends and the reasons behind a score.

The model itself (features, weights, log-odds to score) is `scoring_model`, the reasons behind a
score `scoring_explain`; training lives in `scoring_train` (pandas and scikit-learn, imported only
there, measured by `scoring_metrics`); scoring a file without importing it is `scoring_file`.
Scoring here needs nothing but the stored JSON: plain Python for a handful of leads (so `add`
stays quick) and numpy for large batches. Never prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from leadcli.errors import BadModel, InvalidValue, LeadcliError, NoModel, NotFound, UntrustedModel
from leadcli.scoring_explain import Explanation, evidence, explain
from leadcli.scoring_model import (
    FORMAT,
    KIND_NAMES,
    KINDS,
    LEAD_COLUMNS,
    MISSING_TOKENS,
    ODDS_STEP,
    SMALL_BATCH,
    THRESHOLDS,
    TREND_STEP,
    Feature,
    Model,
    band_rows,
    base_rate_bands,
    grade_for,
    model_from_payload,
    model_summary,
    norm_category,
    parse_fields,
    parse_many,
    probability,
    score_from_logit,
    score_shares,
    to_number,
    trend_for,
)
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

OPEN = ("new", "contacted", "qualified")
DEFAULT_BANDS = {"A": 75, "B": 50, "C": 25}  # before any model: no base rate to follow
BANDS_KEY = "score.grade_bands"

__all__ = [  # the model's names stay reachable from here, where callers have always found them
    "FORMAT", "KINDS", "LEAD_COLUMNS", "MISSING_TOKENS", "SMALL_BATCH", "THRESHOLDS", "BadModel", "Feature",
    "Model", "NoModel", "model_from_payload", "norm_category", "probability", "score_from_logit", "to_number",
    "Explanation", "evidence", "explain", "KIND_NAMES", "model_summary",
    "ODDS_STEP", "TREND_STEP", "band_rows", "base_rate_bands", "grade_for", "trend_for", "parse_fields", "parse_many",
]


# ---------------------------------------------------------------- storage


@dataclass(frozen=True)
class _Tables:
    score_model: Any
    score_history: Any
    setting: Any
    score_pin: Any


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Light Core handles on the scoring tables: `add` scores new leads without loading the ORM classes
    of every table (models_ext), as the raw SQL it replaces did not."""
    from sqlalchemy import column, table

    return _Tables(
        score_model=table("score_model", *map(column, ("id", "kind", "created_at", "active", "payload"))),
        score_history=table("score_history", *map(column, ("id", "lead_id", "model_id", "score", "grade", "at"))),
        setting=table("setting", column("key"), column("value")),
        score_pin=table("score_pin", *map(column, ("lead_id", "score", "reason", "who", "at"))))


def pin_table() -> Any:
    """The pinned scores (`scoring_pins`): lead_id, score, reason, who, at."""
    return _tables().score_pin


def score_history_table() -> Any:
    return _tables().score_history


def not_pinned(lead_id_column: Any) -> Any:
    """A where clause: leads whose score nobody pinned."""
    from sqlalchemy import select

    return lead_id_column.not_in(select(_tables().score_pin.c.lead_id))


def save_model(s: Session, payload: dict) -> int:
    """Store a new model as JSON and make it the active one; older models are kept."""
    from sqlalchemy import insert, update

    from leadcli.models import ScoreModel

    model_from_payload(payload)  # never store what could not be read back
    t = ScoreModel.__table__
    conn = s.connection()
    conn.execute(update(t).where(t.c.active == 1).values(active=0))
    new = conn.execute(insert(t).values(kind=payload["kind"], created_at=payload["created_at"], active=1,
                                        payload=json.dumps(payload, separators=(",", ":"))))
    return int(new.inserted_primary_key[0])  # type: ignore[index]


def _model_rows(s: Session, *where: Any, limit: int | None = None) -> list[Any]:
    """Stored models (id, kind, created_at, active, payload), newest first."""
    from sqlalchemy import select

    t = _tables().score_model
    stmt = select(t.c.id, t.c.kind, t.c.created_at, t.c.active, t.c.payload).where(*where).order_by(t.c.id.desc())
    return list(s.connection().execute(stmt.limit(limit) if limit else stmt))


def active_model(s: Session) -> Model | None:
    rows = _model_rows(s, _tables().score_model.c.active == 1, limit=1)
    if not rows:
        return None
    row = rows[0]
    return model_from_payload(_loads(row.payload, row.id), row.id, row.created_at)


def require_model(s: Session) -> Model:
    model = active_model(s)
    if model is None:
        raise NoModel("no scoring model has been trained yet",
                      hint="train one from your converted and disqualified leads: `leadcli score train`")
    return model


def get_model(s: Session, model_id: int) -> Model:
    rows = _model_rows(s, _tables().score_model.c.id == model_id)
    if not rows:
        raise NotFound(f"no scoring model #{model_id}", hint="list them with `leadcli score model --list`")
    return model_from_payload(_loads(rows[0].payload, model_id), model_id, rows[0].created_at)


def list_models(s: Session) -> list[dict]:
    out = []
    for row in _model_rows(s):
        try:
            data = model_from_payload(_loads(row.payload, row.id), row.id).payload
        except BadModel:
            out.append({"id": row.id, "kind": row.kind, "created_at": row.created_at, "active": bool(row.active),
                        "outcomes": None, "auc": None, "verdict": "unreadable"})
            continue
        metrics = data.get("metrics") or {}
        out.append({"id": row.id, "kind": row.kind, "created_at": row.created_at, "active": bool(row.active),
                    "outcomes": (data.get("counts") or {}).get("closed"), "auc": metrics.get("auc"),
                    "verdict": (data.get("readiness") or {}).get("verdict")})
    return out


def _loads(text: str, model_id: int) -> Any:
    """A stored payload parsed, bounded in size before parsing and in depth while parsing."""
    from leadcli.scoring_model import MAX_PAYLOAD_CHARS, bad_model

    if not isinstance(text, str):
        raise bad_model(model_id, "its payload is not text")
    if len(text) > MAX_PAYLOAD_CHARS:
        raise bad_model(model_id, f"its payload is {len(text):,} characters (at most {MAX_PAYLOAD_CHARS:,})")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise bad_model(model_id, "it is nested too deep") from None
    except (TypeError, ValueError) as exc:
        raise bad_model(model_id, f"not valid JSON ({str(exc)[:200]})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


# ---------------------------------------------------------------- grades


def grade_bands(s: Session, model: Model | None = None) -> dict[str, int]:
    """The bands set with `score grades`, else those that follow the model's base rate (`base_rate_bands`)."""
    from sqlalchemy import select

    t = _tables().setting
    value = s.connection().execute(select(t.c.value).where(t.c.key == BANDS_KEY)).scalar()
    if value is not None:
        try:
            bands = json.loads(value)
            return {g: int(bands[g]) for g in ("A", "B", "C")}
        except (ValueError, KeyError, TypeError):
            pass
    model = model or _usable_model(s)
    counts = (model.payload.get("counts") or {}) if model is not None else {}
    if counts.get("closed"):
        return base_rate_bands(counts.get("converted", 0) / counts["closed"])
    return dict(DEFAULT_BANDS)


def set_grade_bands(s: Session, a: int | None = None, b: int | None = None, c: int | None = None) -> dict:
    """Change the bands (the lowest score of grades A, B and C) and re-grade every scored lead."""
    from sqlalchemy import update

    from leadcli.models import Lead

    bands = grade_bands(s)
    for grade, value in (("A", a), ("B", b), ("C", c)):
        if value is not None:
            bands[grade] = value
    if not 100 >= bands["A"] > bands["B"] > bands["C"] >= 1:
        raise InvalidValue("grades", f"bands must satisfy 100 >= A > B > C >= 1 (got A={bands['A']}, "
                           f"B={bands['B']}, C={bands['C']})",
                           hint="e.g. leadcli score grades --a 75 --b 50 --c 25", exit_code=2)
    put_setting(s, BANDS_KEY, json.dumps(bands))
    t = Lead.metadata.tables["lead"]
    cur = s.connection().execute(update(t).where(t.c.score.is_not(None)).values(grade=grade_expr(t.c.score, bands)))
    expire_loaded(s, None)
    return {"bands": bands, "regraded": cur.rowcount}


def grade_expr(score: Any, bands: dict[str, int]) -> Any:
    """The grade of a score column in SQL, the same as `grade_for`."""
    from sqlalchemy import case

    return case((score >= bands["A"], "A"), (score >= bands["B"], "B"), (score >= bands["C"], "C"), else_="D")


# ---------------------------------------------------------------- scoring leads in the database


def read_columns(s: Session, model: Model, *where: Any, ordered: bool = True,
                 stored: list | None = None) -> tuple[list, list, dict]:
    """(ids, current scores, feature columns) of the leads matching the `where` clauses, set-based
    (in id order unless `ordered` is False); `stored` gets each lead's (grade, trend) when given."""
    from sqlalchemy import select as sql_select

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    cols, wants_fields = model.columns_needed()
    select = ["id", "score"] + cols + (["fields"] if wants_fields else []) + (["grade", "trend"] if stored is not None
                                                                               else [])
    # `fields` is read as the stored JSON text: parse_many reads it leniently.
    columns_sql = [t.c[c] if c != "fields" else _json_text(t.c.fields) for c in select]
    from leadcli.store.sqlite_fast import FastSQL

    stmt = sql_select(*columns_sql).where(*where)
    rows = FastSQL(s).fetchall(stmt.order_by(t.c.id) if ordered else stmt)
    ids = [r[0] for r in rows]
    previous = [r[1] for r in rows]
    if stored is not None:
        stored.extend((r[-2], r[-1]) for r in rows)
    position = {name: i for i, name in enumerate(select)}
    columns: dict[str, list] = {}
    parsed: list[dict] = []
    if wants_fields:
        at = position["fields"]
        parsed = parse_many([r[at] for r in rows])
    for f in model.features:
        kind, key = f.source
        if kind == "lead":
            column, how = LEAD_COLUMNS[key]
            at = position[column]
            values = [r[at] for r in rows]
            columns[f.name] = [None if v is None else v / 100 for v in values] if how == "cents" else values
        elif kind == "field":
            columns[f.name] = [d.get(key) for d in parsed]
    if model.activity_keys():
        engaged = engagement_now(s, ids)
        for f in model.features:
            if f.source[0] == "activity":
                columns[f.name] = [engaged[i].get(f.source[1]) for i in ids]
    return ids, previous, columns


def engagement_now(s: Session, ids: Sequence[int]) -> dict[int, dict]:
    """The engagement features of open leads: their activities up to now (this second included)."""
    import datetime as dt

    from leadcli import engagement, when

    cutoff = when.to_iso(when.now() + dt.timedelta(seconds=1))
    return engagement.features(s, dict.fromkeys(ids, cutoff))


def _json_text(column: Any) -> Any:
    from sqlalchemy import String, type_coerce

    return type_coerce(column, String)


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
        elif kind == "field":
            out[f.name] = fields.get(key)
        else:  # activities: read with the session (`values_of`)
            out[f.name] = None
    return out


def values_of(s: Session, model: Model, lead: Any) -> dict[str, Any]:
    """A stored lead's feature values, its activities included."""
    values = lead_values(model, lead)
    if model.activity_keys():
        engaged = engagement_now(s, [lead.id])[lead.id]
        values |= {f.name: engaged.get(f.source[1]) for f in model.features if f.source[0] == "activity"}
    return values


@dataclass
class RunResult:
    model_id: int
    scored: int = 0
    skipped: list[int] = field(default_factory=list)  # closed leads among the ids asked for
    rows: list[dict] = field(default_factory=list)  # per lead, when ids were given
    grades: dict[str, int] = field(default_factory=dict)
    shares: list[float] | None = None  # after a full run: the share of scores in each tenth of 0-100


def score_leads(s: Session, model: Model, *, ids: Sequence[int] | None = None,
                id_range: tuple[int, int] | None = None, keep_rows: bool = False,
                changed_only: bool = True) -> RunResult:
    """Score open leads (all of them, the ids given, or an id range) and write score, grade, trend and history.

    A lead whose score and grade come out as they were is left alone: its trend keeps saying how
    the last real change went, so running twice in a row changes nothing the second time.
    (`changed_only` is kept for callers that passed it; every run works this way.)
    """
    result = RunResult(model_id=model.id or 0)
    stored: list = []
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        lead_ids, previous, columns = _read_ids(s, model, wanted, stored)
        scored = set(lead_ids)
        result.skipped = [i for i in wanted if i not in scored]
    else:
        lead_ids, previous, columns = _read_open(s, model, id_range, stored)
    n = len(lead_ids)
    if n == 0:
        return result
    scores = model.scores(columns, n)
    bands = grade_bands(s, model)
    a, b, c = bands["A"], bands["B"], bands["C"]
    grades = ["A" if x >= a else "B" if x >= b else "C" if x >= c else "D" for x in scores]  # grade_for, inlined
    trends = [trend_for(p, x) if p != x or st[1] is None else st[1]
              for p, x, st in zip(previous, scores, stored, strict=False)]
    keep = [i for i in range(n) if previous[i] != scores[i] or stored[i][0] != grades[i]]
    if keep:
        keep.sort(key=lead_ids.__getitem__)  # in id order: each page of the table is written once
        picked = [[v[i] for i in keep] for v in (lead_ids, previous, scores, grades, trends)]
        _write_scores(s, model, *picked)
    if ids is None and id_range is None:
        result.shares = score_shares(scores)
    result.scored = n
    for g in grades:
        result.grades[g] = result.grades.get(g, 0) + 1
    if keep_rows:
        result.rows = [{"id": i, "score": x, "grade": g, "trend": t, "previous": p}
                       for i, x, g, t, p in zip(lead_ids, scores, grades, trends, previous, strict=False)]
    return result


def put_setting(s: Session, key: str, value: str) -> None:
    from sqlalchemy import insert, select, update

    st = _tables().setting
    conn = s.connection()
    if conn.execute(select(st.c.key).where(st.c.key == key)).first() is None:
        conn.execute(insert(st).values(key=key, value=value))
    else:
        conn.execute(update(st).where(st.c.key == key).values(value=value))


def _open_clause() -> Any:
    from leadcli.models import Lead

    return Lead.metadata.tables["lead"].c.status.in_(OPEN)


def _read_open(s: Session, model: Model, id_range: tuple[int, int] | None, stored: list
               ) -> tuple[list, list, dict]:
    from leadcli.models import Lead

    where = [_open_clause(), not_pinned(Lead.metadata.tables["lead"].c.id)]
    if id_range is not None:
        where.append(Lead.metadata.tables["lead"].c.id.between(*id_range))
    return read_columns(s, model, *where, ordered=False, stored=stored)


def _read_ids(s: Session, model: Model, wanted: list[int], stored: list) -> tuple[list, list, dict]:
    """The open leads among `wanted`, read in chunks that stay under any driver's limit of parameters."""
    from leadcli.models import Lead

    lead_ids: list = []
    previous: list = []
    columns: dict[str, list] = {f.name: [] for f in model.features}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        t = Lead.metadata.tables["lead"]
        i, p, c = read_columns(s, model, _open_clause(), not_pinned(t.c.id), t.c.id.in_(chunk), ordered=False,
                               stored=stored)
        lead_ids += i
        previous += p
        for k, v in c.items():
            columns[k].extend(v)
    return lead_ids, previous, columns


def _write_scores(s: Session, model: Model, lead_ids: list, previous: list, scores: list, grades: list,
                  trends: list) -> None:
    """Score, grade, trend and time on each lead; a history row for each score that changed."""
    from itertools import repeat

    from sqlalchemy import bindparam, insert, update

    from leadcli.models import Lead
    from leadcli.store.sqlite_fast import FastSQL

    at = now_iso()
    t = Lead.metadata.tables["lead"]
    db = FastSQL(s)
    db.executemany(update(t).where(t.c.id == bindparam("row_id")), ("score", "grade", "trend", "scored_at", "row_id"),
                   zip(scores, grades, trends, repeat(at), lead_ids))
    # History keeps each change of score, not every identical re-run.
    db.executemany(insert(_tables().score_history), ("lead_id", "model_id", "score", "grade", "at"),
                   ((i, model.id, x, g, at) for i, p, x, g in zip(lead_ids, previous, scores, grades, strict=False)
                    if p != x))
    expire_loaded(s, lead_ids if len(lead_ids) < SMALL_BATCH else None)


def expire_loaded(s: Session, ids: Iterable[int] | None) -> None:
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


def count_open(s: Session) -> int:
    """How many leads are open, and so can be scored."""
    from sqlalchemy import func, select

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    return int(s.connection().execute(select(func.count()).select_from(t).where(_open_clause())).scalar_one())


def closed_and_missing(s: Session, skipped: Sequence[int]) -> tuple[list[int], list[int]]:
    """Of lead ids a run skipped: (those that exist but are closed, those that do not exist)."""
    from sqlalchemy import select

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    known: set[int] = set()
    for start in range(0, len(skipped), 900):
        chunk = list(skipped[start:start + 900])
        known.update(i for (i,) in s.connection().execute(select(t.c.id).where(t.c.id.in_(chunk))))
    return [i for i in skipped if i in known], [i for i in skipped if i not in known]


def explain_lead(s: Session, lead: Any) -> dict:
    """`score explain`: a lead's live score, grade, chance and reasons, with its stored score, pin and history."""
    model = require_model(s)
    ex = explain(model, values_of(s, model, lead))
    pin = get_pin(s, lead.id)
    score = pin["score"] if pin else ex.score if model.trusted else None
    return {"id": lead.id, "name": lead.display_name, "status": lead.status, "score": score,
            "grade": None if score is None else grade_for(score, grade_bands(s, model)), "trend": lead.trend,
            "stored_score": lead.score, "probability": round(ex.probability, 4), "model": model.id,
            "model_score": ex.score, "pinned": pin, "trusted": model.trusted,
            "untrusted_why": None if model.trusted else (model.payload.get("readiness") or {}).get("why"),
            "model_kind": model.kind, "chance": ex.probability, "for": ex.reasons_for, "against": ex.reasons_against,
            "history": history(s, lead.id)}


def get_pin(s: Session, lead_id: int) -> dict | None:
    """A lead's pinned score (score, reason, who, at), or None."""
    from sqlalchemy import select

    p = pin_table()
    row = s.connection().execute(select(p.c.score, p.c.reason, p.c.who, p.c.at).where(p.c.lead_id == lead_id)).first()
    return None if row is None else {"score": row.score, "reason": row.reason, "who": row.who, "at": row.at}


def require_trusted(model: Model) -> None:
    """A model that failed its backtest scores nothing: UntrustedModel says why."""
    if not model.trusted:
        why = (model.payload.get("readiness") or {}).get("why") or "it failed its backtest"
        raise UntrustedModel(f"model #{model.id} cannot be trusted, so no lead was scored: {why}",
                             hint="add outcomes or fields, then `leadcli score train`; pin scores by hand with "
                                  "`leadcli score set ID SCORE --reason TEXT`")


def _usable_model(s: Session) -> Model | None:
    from sqlalchemy import select

    t = _tables().score_model
    if s.connection().execute(select(t.c.id).where(t.c.active == 1).limit(1)).first() is None:
        return None
    try:
        model = active_model(s)
        return model if model is not None and model.trusted else None
    except LeadcliError as exc:
        # An unreadable model must not stop anyone adding, editing or importing leads: they stay
        # as scored, and `score run` / `score model` say what is wrong with the model. The
        # message is kept on the session for a command to warn with (`model_problem`).
        s.info["scoring_model_problem"] = exc.message
        return None


def model_problem(s: Session) -> str | None:
    """Why the active model was left unused in this session (an unreadable payload), if it was."""
    return s.info.get("scoring_model_problem")


def history(s: Session, lead_id: int, limit: int = 10) -> list[dict]:
    from sqlalchemy import select

    t = _tables().score_history
    rows = s.connection().execute(
        select(t.c.at, t.c.score, t.c.grade, t.c.model_id).where(t.c.lead_id == lead_id)
        .order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)).fetchall()
    return [{"at": at, "score": score, "grade": grade, "model": model_id} for at, score, grade, model_id in rows]


# ---------------------------------------------------------------- reasons


def score_reasons(s: Session, lead: Any) -> dict | None:
    """For `show`: the top reasons behind a scored lead's score (None when it has no score or no model)."""
    if lead.score is None:
        return None
    try:
        model = active_model(s)
    except BadModel as exc:
        s.info["scoring_model_problem"] = exc.message  # `show` still shows the lead, without reasons
        return None
    if model is None:
        return None
    ex = explain(model, values_of(s, model, lead), top=3)
    return {"model": model.id, "for": ex.reasons_for, "against": ex.reasons_against}
