"""Whether the active scoring model is still current: its age, the outcomes since, and score drift.

A model is stale when it is older than MAX_AGE_DAYS, when the leads closed since it was trained
exceed NEW_OUTCOMES_SHARE of those it learnt from, or when the live scores of open leads have
drifted from the scores it gave its training leads (population stability index over PSI_LIMIT).
Cheap enough for `list` to ask: two aggregate queries. Takes a session, never prints.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from leadcli import when
from leadcli.scoring_model import Model

if TYPE_CHECKING:
    from sqlmodel import Session

MAX_AGE_DAYS = 30
NEW_OUTCOMES_SHARE = 0.2
PSI_LIMIT = 0.2
MIN_LIVE = 100  # fewer scored open leads than this say nothing about drift


def psi(expected: list[float], actual: list[float], eps: float = 1e-4) -> float:
    """Population stability index between two distributions over the same bins (shares summing to 1)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=False):
        e, a = max(e, eps), max(a, eps)
        total += (a - e) * math.log(a / e)
    return total


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


def staleness(s: Session, model: Model, now: Any = None) -> dict:
    """{"stale": bool, "stale_reasons": [...], "age_days", "new_outcomes", "psi"} for `model`."""
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
    drift = None
    reference = model.payload.get("reference")
    if isinstance(reference, list) and len(reference) == 10:
        live, n = _live_histogram(s)
        if n >= MIN_LIVE:
            drift = round(psi(reference, live), 3)
            if drift > PSI_LIMIT:
                reasons.append(f"the scores of open leads have shifted from the training leads' "
                               f"(population stability index {drift:.2f} > {PSI_LIMIT})")
    return {"stale": bool(reasons), "stale_reasons": reasons, "age_days": None if age is None else round(age, 1),
            "new_outcomes": new, "psi": drift}


def active_staleness(s: Session) -> dict | None:
    """The staleness of the active model (None when there is none or it cannot be read): for `list`."""
    from leadcli import scoring
    from leadcli.errors import LeadcliError

    try:
        model = scoring.active_model(s)
    except LeadcliError:
        return None
    return None if model is None else staleness(s, model)
