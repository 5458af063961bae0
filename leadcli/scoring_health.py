"""Whether the active scoring model is still current: its age, the outcomes since, and score drift.

A model is stale when it is older than MAX_AGE_DAYS, when the leads closed since it was trained
exceed NEW_OUTCOMES_SHARE of those it learnt from, or when the live scores of open leads have
drifted from the scores it gave its training leads (population stability index over PSI_LIMIT).
Cheap enough for `list` to ask: two aggregate queries. Takes a session, never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadcli import when
from leadcli.scoring_model import Model, psi

__all__ = ["psi", "staleness", "active_staleness"]

if TYPE_CHECKING:
    from sqlmodel import Session

MAX_AGE_DAYS = 30
NEW_OUTCOMES_SHARE = 0.2
PSI_LIMIT = 0.2
MIN_LIVE = 100  # fewer scored open leads than this say nothing about drift


def _closed_now(s: Session) -> int:
    from sqlalchemy import func, select

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    return int(s.connection().execute(select(func.count()).select_from(t)
                                      .where(t.c.status.in_(("converted", "disqualified")))).scalar_one())


def _live_histogram(s: Session) -> tuple[list[float], int]:
    """The share of scored open leads (not pinned) in each tenth of the score range, and how many there are."""
    from sqlalchemy import case, func, select

    from leadcli.models import Lead
    from leadcli.scoring import OPEN, not_pinned

    t = Lead.metadata.tables["lead"]
    tenth = case((t.c.score >= 90, 9), else_=t.c.score / 10)
    rows = s.connection().execute(
        select(tenth, func.count()).where(t.c.status.in_(OPEN), t.c.score.is_not(None), not_pinned(t.c.id))
        .group_by(tenth)).all()
    n = sum(c for _, c in rows)
    counts = [0] * 10
    for k, c in rows:
        counts[min(9, max(0, int(k)))] += c
    return [c / max(1, n) for c in counts], n


def staleness(s: Session, model: Model, now: Any = None, live: bool = True) -> dict:
    """{"stale": bool, "stale_reasons": [...], "age_days", "new_outcomes", "psi"} for `model`.

    `live` measures the drift on the scores now stored; otherwise the figure the last `score run
    --all` recorded is read (cheap enough for `list`).
    """
    reasons: list[str] = []
    at = when.parse_iso(model.trained_at) if model.trained_at else None
    age = when.days_between(model.trained_at, now or when.now()) if at else None
    if age is not None and age > MAX_AGE_DAYS:
        reasons.append(f"trained {age:.0f} days ago (over {MAX_AGE_DAYS})")
    learnt = int((model.payload.get("counts") or {}).get("closed") or 0)
    new = max(0, _closed_now(s) - learnt)
    if learnt and new > NEW_OUTCOMES_SHARE * learnt:
        reasons.append(f"{new:,} leads closed since training: over {NEW_OUTCOMES_SHARE:.0%} of the {learnt:,} "
                       "it learnt from")
    drift = _drift(s, model, live)
    if drift is not None and drift > PSI_LIMIT:
        reasons.append(f"the scores of open leads have shifted from the training leads' "
                       f"(population stability index {drift:.2f} > {PSI_LIMIT})")
    return {"stale": bool(reasons), "stale_reasons": reasons, "age_days": None if age is None else round(age, 1),
            "new_outcomes": new, "psi": drift}


def _drift(s: Session, model: Model, live: bool) -> float | None:
    reference = model.payload.get("reference")
    if not (isinstance(reference, list) and len(reference) == 10):
        return None
    if not live:
        recorded = recorded_drift(s)
        return recorded["psi"] if recorded and recorded.get("model") == model.id else None
    live_shares, n = _live_histogram(s)
    return round(psi(reference, live_shares), 3) if n >= MIN_LIVE else None


DRIFT_KEY = "score.drift"


def record_drift(s: Session, model: Model, shares: list[float] | None, n: int) -> None:
    """After a full `score run`: how far the open leads' scores drifted from the training leads' (PSI),
    kept for `list` and `score explain`, which must not read every score to warn."""
    import json

    from leadcli import scoring

    reference = model.payload.get("reference")
    value = None
    if shares is not None and isinstance(reference, list) and len(reference) == 10 and n >= MIN_LIVE:
        value = round(psi(reference, shares), 3)
    scoring.put_setting(s, DRIFT_KEY, json.dumps({"model": model.id, "psi": value, "n": n}))


def recorded_drift(s: Session) -> dict | None:
    import json

    from sqlalchemy import column, select, table

    t = table("setting", column("key"), column("value"))
    value = s.connection().execute(select(t.c.value).where(t.c.key == DRIFT_KEY)).scalar()
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def active_staleness(s: Session) -> dict | None:
    """The staleness of the active model (None when there is none or it cannot be read): for `list`."""
    from leadcli import scoring
    from leadcli.errors import LeadcliError

    try:
        model = scoring.active_model(s)
    except LeadcliError:
        return None
    return None if model is None else staleness(s, model, live=False)
