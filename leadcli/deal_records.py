"""Deals after conversion: listing, win, lose, reopen, back to a lead; what a lead became.

Takes a session, never prints; display text is the command layer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from leadcli import leads, validate
from leadcli.errors import InvalidTransition, InvalidValue, NotFound
from leadcli.models import OPEN_STATUSES, Company, Contact, Deal, DealStatus, Lead, Status
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

# ---------------------------------------------------------------- deals


def get_deal(s: Session, deal_id: int) -> Deal:
    deal = s.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal with id {deal_id}", hint="see the deals with `leadcli deals list`")
    return deal


DEAL_KEYS = ("id", "title", "status", "value", "currency", "owner", "lead_id", "contact_id", "contact",
             "company_id", "company", "lost_reason", "created_at", "updated_at", "closed_at")


def list_deals(s: Session, *, statuses: Sequence[str] = (), owner: str | None = None, lead_id: int | None = None,
               deal_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    from decimal import Decimal

    from sqlalchemy import func, select

    d, c, co = Deal.__table__, Contact.__table__, Company.__table__
    stmt = (select(d, c.c.name.label("contact"), co.c.name.label("company"))
            .select_from(d.outerjoin(c, c.c.id == d.c.contact_id).outerjoin(co, co.c.id == d.c.company_id)))
    if statuses:
        stmt = stmt.where(d.c.status.in_(list(statuses)))
    if owner:
        stmt = stmt.where(func.lower(d.c.owner) == owner.lower())
    if lead_id is not None:
        stmt = stmt.where(d.c.lead_id == lead_id)
    if deal_id is not None:
        stmt = stmt.where(d.c.id == deal_id)
    stmt = stmt.order_by(d.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    out = []
    for row in s.connection().execute(stmt):
        m = row._mapping
        record = {k: m[k] for k in DEAL_KEYS if k != "value"}
        record["value"] = None if m["value_cents"] is None else Decimal(m["value_cents"]) / 100
        out.append({k: record[k] for k in DEAL_KEYS})
    return out


def deal_record(s: Session, deal_id: int) -> dict[str, Any]:
    get_deal(s, deal_id)
    return list_deals(s, deal_id=deal_id)[0]


def _ensure_open(deal: Deal, action: str) -> None:
    if deal.status != DealStatus.open.value:
        hint = f"reopen it first with `leadcli deals reopen {deal.id}`" \
            if deal.status in (DealStatus.won.value, DealStatus.lost.value) else \
            "it was turned back into a lead; convert that lead again for a new deal"
        raise InvalidTransition(f"deal #{deal.id} is {deal.status} and cannot be {action}", hint=hint)


def win_deal(s: Session, deal: Deal) -> Deal:
    return _close(s, deal, DealStatus.won.value, None)


def lose_deal(s: Session, deal: Deal, reason: str | None) -> Deal:
    reason = validate.clean_text(reason)
    if not reason:
        raise InvalidValue("reason", "marking a deal lost needs a reason",
                           hint='add --reason, e.g. --reason "price"')
    return _close(s, deal, DealStatus.lost.value, reason)


def _close(s: Session, deal: Deal, status: str, lost_reason: str | None) -> Deal:
    """An open deal won or lost now."""
    _ensure_open(deal, status)
    now = now_iso()
    deal.status, deal.closed_at, deal.updated_at, deal.lost_reason = status, now, now, lost_reason
    s.add(deal)
    s.flush()
    return deal


def reopen_deal(s: Session, deal: Deal) -> Deal:
    if deal.status not in (DealStatus.won.value, DealStatus.lost.value):
        raise InvalidTransition(f"deal #{deal.id} is {deal.status}; only won or lost deals can be reopened")
    deal.status, deal.closed_at, deal.lost_reason, deal.updated_at = DealStatus.open.value, None, None, now_iso()
    s.add(deal)
    s.flush()
    return deal


def status_before_conversion(s: Session, lead_id: int | None) -> str:
    """The open stage a lead was in when it was last converted (qualified if unknown)."""
    return _status_before(s, lead_id, Status.converted.value, Status.qualified.value)


def status_before_disqualification(s: Session, lead_id: int | None) -> str:
    return _status_before(s, lead_id, Status.disqualified.value, Status.new.value)


def _status_before(s: Session, lead_id: int | None, terminal: str, default: str) -> str:
    from sqlalchemy import select

    from leadcli.models import StatusChange

    t = StatusChange.metadata.tables["status_change"]
    last = s.connection().execute(
        select(t.c.from_status).where(t.c.lead_id == lead_id, t.c.to_status == terminal)
        .order_by(t.c.at.desc(), t.c.id.desc()).limit(1)).scalar()
    return last if last in OPEN_STATUSES else default


def deal_to_lead(s: Session, deal: Deal, reason: str | None = None) -> Lead:
    """Turn a deal back into an open lead (as Pipedrive does): the deal is kept, marked `reverted`,
    and the lead it came from reopens at the stage it had before converting."""
    if deal.status == DealStatus.won.value:
        raise InvalidTransition(f"deal #{deal.id} is won; a won deal is a closed sale and stays a deal",
                                hint=f"if it was marked won by mistake, `leadcli deals reopen {deal.id}` first")
    if deal.status == DealStatus.reverted.value:
        raise InvalidTransition(f"deal #{deal.id} was already turned back into lead #{deal.lead_id}",
                                hint=f"see it with `leadcli show {deal.lead_id}`")
    if deal.lead_id is None or (lead := s.get(Lead, deal.lead_id)) is None:
        raise NotFound(f"deal #{deal.id} has no lead to go back to (it was deleted)")
    if lead.status != Status.converted.value or (lead.deal_id is not None and lead.deal_id != deal.id):
        raise InvalidTransition(f"lead #{lead.id} is no longer converted into deal #{deal.id}",
                                hint=f"see the lead with `leadcli show {lead.id}`")
    now = now_iso()
    stage = status_before_conversion(s, lead.id)
    note = validate.clean_text(reason)
    leads.set_status(s, lead, stage, f"deal #{deal.id} turned back into a lead" + (f": {note}" if note else ""),
                     at=now, reopening=True)
    lead.deal_id = None
    s.add(lead)
    deal.status, deal.closed_at, deal.updated_at = DealStatus.reverted.value, now, now
    s.add(deal)
    s.flush()
    return lead



# ---------------------------------------------------------------- what a lead became


def lead_links(s: Session, lead: Lead) -> dict[str, Any]:
    """The contact, company and deal a lead became, all its deals, and how many earlier leads its
    contact had when it is a repeat lead (`earlier`, None otherwise). Plain data for `show`."""
    contact = s.get(Contact, lead.contact_id) if lead.contact_id else None
    company = s.get(Company, lead.company_id) if lead.company_id else None
    deals = list_deals(s, lead_id=lead.id)
    earlier = None
    if lead.repeat_lead and contact is not None:
        from sqlalchemy import func, select

        t = Lead.metadata.tables["lead"]
        earlier = s.connection().execute(
            select(func.count()).select_from(t).where(t.c.contact_id == contact.id, t.c.id < lead.id)).scalar_one()
    return {
        "contact": None if contact is None else {"id": contact.id, "name": contact.name, "email": contact.email},
        "company": None if company is None else {"id": company.id, "name": company.name, "domain": company.domain},
        "deal": next((d for d in deals if d["id"] == lead.deal_id), None),
        "deals": deals,
        "earlier": earlier,
    }
