"""Moving many leads through the stages at once: contact, qualify, disqualify, reopen.

Each lead changes inside its own savepoint: a lead that cannot move is reported and the others
still move. Takes a session, never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadcli import deal_records, leads
from leadcli.errors import InvalidValue, LeadcliError
from leadcli.models import Lead
from leadcli.query import LeadFilter
from leadcli.stages import OPEN_STATUSES, Status

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass
class StageResult:
    lead_id: int
    lead: str | None
    from_status: str | None
    to_status: str | None
    outcome: str  # changed | unchanged | error
    reason: str | None = None
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"lead_id": self.lead_id, "lead": self.lead, "from": self.from_status, "to": self.to_status,
                "outcome": self.outcome, "reason": self.reason}


def _targets(s: Session, ids: Sequence[int], flt: LeadFilter | None) -> list[Lead | int]:
    """The leads named by id (an int stands for an id that does not exist), else those matching `flt`."""
    if ids:
        return [s.get(Lead, i) or i for i in dict.fromkeys(ids)]
    return list(leads.select_leads(s, flt or LeadFilter(), sort="id"))


def _missing(lead_id: int) -> StageResult:
    return StageResult(lead_id, None, None, None, "error", f"no lead with id {lead_id}",
                       "find ids with `leadcli list --search TEXT`")


def move(s: Session, to: str, ids: Sequence[int] = (), flt: LeadFilter | None = None,
         reason: str | None = None) -> list[StageResult]:
    """Move leads to the open stage or to `disqualified`; a lead already there is left unchanged."""
    if to == Status.disqualified.value and not (reason or "").strip():
        raise InvalidValue("reason", "disqualifying a lead needs a reason",
                           hint='add --reason, e.g. --reason "no budget"')
    results = []
    for lead in _targets(s, ids, flt):
        if isinstance(lead, int):
            results.append(_missing(lead))
            continue
        results.append(_change(s, lead, to, reason, reopening=False))
    return results


def reopen(s: Session, ids: Sequence[int] = (), flt: LeadFilter | None = None, to: str | None = None,
           reason: str | None = None) -> list[StageResult]:
    """Bring disqualified leads back to the stage they left (or to `to`)."""
    if to is not None and to not in OPEN_STATUSES:
        raise InvalidValue("to", f"{to!r} is not an open stage", hint="use new, contacted or qualified",
                           exit_code=2)
    results = []
    for lead in _targets(s, ids, flt):
        if isinstance(lead, int):
            results.append(_missing(lead))
        elif lead.status in OPEN_STATUSES:
            results.append(StageResult(lead.key, lead.display_name, lead.status, lead.status, "unchanged",
                                       "already open"))
        elif lead.status == Status.converted.value:
            hint = f"turn its deal back into a lead with `leadcli deals to-lead {lead.deal_id}`" if lead.deal_id \
                else "it was converted without a deal and stays converted; add a new lead for new business"
            results.append(StageResult(lead.key, lead.display_name, lead.status, None, "error",
                                       f"lead #{lead.id} is converted and cannot be reopened", hint))
        else:
            stage = to or deal_records.status_before_disqualification(s, lead.key)
            results.append(_change(s, lead, stage, reason or "reopened", reopening=True))
    # A lead open again is scored like any open lead (the model may have changed since it closed).
    from leadcli import scoring

    scoring.rescore_leads(s, [r.lead_id for r in results if r.outcome == "changed"])
    return results


def _change(s: Session, lead: Lead, to: str, reason: str | None, *, reopening: bool) -> StageResult:
    before = lead.status
    if before == to:
        # The text of a second `contact --reason` is what happened on the call: kept as a note.
        from leadcli import activities

        note = activities.log_reason(s, lead, reason) if reason else None
        said = f"already {to}" + (f"; the reason is logged as activity #{note.id}" if note is not None else "")
        return StageResult(lead.key, lead.display_name, before, to, "unchanged", said)
    savepoint = s.begin_nested()
    try:
        leads.set_status(s, lead, to, reason, reopening=reopening)
    except LeadcliError as exc:
        savepoint.rollback()
        s.refresh(lead)
        return StageResult(lead.key, lead.display_name, before, to, "error", exc.message, exc.hint)
    savepoint.commit()
    return StageResult(lead.key, lead.display_name, before, to, "changed", reason)
