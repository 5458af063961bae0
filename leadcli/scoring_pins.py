"""Scores a salesperson sets by hand: pinned with a reason and who set it, released with `score unset`.

A pinned lead keeps its score through `score train` and `score run` (the model's runs skip it);
its grade still follows the bands. Takes a session, never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadcli import scoring
from leadcli.errors import InvalidValue, NotFound, UsageError
from leadcli.scoring import get_pin, pin_table

__all__ = ["get_pin", "pin", "unpin"]
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session


def pin(s: Session, lead_id: int, score: int, reason: str, who: str) -> dict:
    """Pin a lead's score: written on the lead (with its grade) and in its score history."""
    from sqlalchemy import delete, insert, select, update

    from leadcli import validate
    from leadcli.models import Lead

    if not 0 <= score <= 100:
        raise InvalidValue("score", f"a score is 0 to 100 (got {score})", hint="e.g. leadcli score set 12 90 "
                           "--reason \"met the CFO\"", exit_code=2)
    text = validate.clean_text(reason)
    if not text:
        raise UsageError("pinning a score needs a reason", hint='add --reason, e.g. --reason "met the CFO"')
    t = Lead.metadata.tables["lead"]
    conn = s.connection()
    row = conn.execute(select(t.c.id, t.c.score).where(t.c.id == lead_id)).first()
    if row is None:
        raise NotFound(f"no lead with id {lead_id}", hint="find ids with `leadcli list --search TEXT`")
    at = now_iso()
    grade = scoring.grade_for(score, scoring.grade_bands(s))
    p = pin_table()
    conn.execute(delete(p).where(p.c.lead_id == lead_id))
    conn.execute(insert(p).values(lead_id=lead_id, score=score, reason=text, who=who, at=at))
    trend = scoring.trend_for(row.score, score)
    conn.execute(update(t).where(t.c.id == lead_id).values(score=score, grade=grade, trend=trend, scored_at=at))
    if row.score != score:
        conn.execute(insert(scoring.score_history_table()).values(lead_id=lead_id, model_id=None, score=score,
                                                                  grade=grade, at=at))
    scoring.expire_loaded(s, [lead_id])
    return {"id": lead_id, "score": score, "grade": grade, "previous": row.score, "reason": text, "who": who,
            "at": at}


def unpin(s: Session, lead_id: int) -> dict | None:
    """Release a pinned score (None when the lead had none); the lead is scored by the model again."""
    from sqlalchemy import delete

    found = get_pin(s, lead_id)
    if found is None:
        return None
    p = pin_table()
    s.connection().execute(delete(p).where(p.c.lead_id == lead_id))
    scoring.rescore_leads(s, [lead_id])
    from sqlalchemy import select

    from leadcli.models import Lead

    t = Lead.metadata.tables["lead"]
    found["now_score"] = s.connection().execute(select(t.c.score).where(t.c.id == lead_id)).scalar()
    return found
