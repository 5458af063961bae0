"""Engagement features for scoring, from a lead's activities before a cut-off moment.

Only activities dated strictly before each lead's cut-off count (for a closed lead: the moment it
was converted or disqualified), so a model never learns from what happened after the outcome.
Takes a session, never prints; plain Python numbers, no pandas.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from leadcli import when
from leadcli.activities import REACHED, TYPES, sql_table
from leadcli.models import Activity, Lead

if TYPE_CHECKING:
    from sqlmodel import Session

OUTCOME_FEATURES = ("reached", "no answer", "voicemail", "replied")
FEATURES = (*(f"n_{t}" for t in TYPES), *(f"n_{o.replace(' ', '_')}" for o in OUTCOME_FEATURES),
            "n_activities", "reached", "days_since_last", "hours_to_first_contact")


def features(s: Session, cutoffs: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Per lead id in `cutoffs` (lead id -> ISO moment): counts by type and outcome, whether the
    person was reached, days from the last activity to the cut-off, and hours from the lead's
    creation to its first activity (None when there was none)."""
    from sqlalchemy import select

    a, t = sql_table(Activity), sql_table(Lead)
    out: dict[int, dict[str, Any]] = {lead_id: _empty() for lead_id in cutoffs}
    created: dict[int, str] = {}
    ids = list(cutoffs)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        created.update(s.connection().execute(select(t.c.id, t.c.created_at).where(t.c.id.in_(chunk))).all())
        stmt = (select(a.c.lead_id, a.c.type, a.c.outcome, a.c.at)
                .where(a.c.lead_id.in_(chunk), a.c.done_at.is_not(None), a.c.at.is_not(None)))
        for lead_id, kind, outcome, at in s.connection().execute(stmt):
            if at < cutoffs[lead_id]:
                _count(out[lead_id], kind, outcome, at)
    for lead_id, row in out.items():
        _finish(row, created.get(lead_id), cutoffs[lead_id])
    return {lead_id: dict(row) for lead_id, row in out.items()}


def _empty() -> dict[str, Any]:
    row: dict[str, Any] = defaultdict(int)
    row.update({"reached": 0, "_first": None, "_last": None})
    return row


def _count(row: dict[str, Any], kind: str, outcome: str | None, at: str) -> None:
    row["n_activities"] += 1
    if kind in TYPES:
        row[f"n_{kind}"] += 1
    if outcome in OUTCOME_FEATURES:
        row[f"n_{outcome.replace(' ', '_')}"] += 1
    if outcome in REACHED:
        row["reached"] = 1
    row["_first"] = min(filter(None, (row["_first"], at)))
    row["_last"] = max(filter(None, (row["_last"], at)))


def _finish(row: dict[str, Any], created: str | None, cutoff: str) -> None:
    first, last = row.pop("_first"), row.pop("_last")
    cut = when.parse_iso(cutoff)
    row["days_since_last"] = round(when.days_between(last, cut), 3) if last else None
    row["hours_to_first_contact"] = (round(when.days_between(created, when.parse_iso(first)) * 24, 3)
                                     if first and created else None)
    for name in FEATURES:
        row.setdefault(name, 0)
