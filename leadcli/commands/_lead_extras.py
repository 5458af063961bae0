"""What `show` adds to a lead's card beyond its own columns: what it became, and why it scores as it does.

The library hands plain data (`deal_records.lead_links`, `scoring.score_reasons`); the labels,
section titles and joined texts of the card are made here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.models import Lead

SCORE_REASONS_TITLE = "Why this score"
DEALS_TITLE = "Deals"
OWNERS_TITLE = "Owner history"


@dataclass
class LeadExtras:
    """Extra fields, sections and JSON keys of a lead's card."""

    fields: list[tuple[str, Any]] = field(default_factory=list)
    sections: list[tuple[str, list[dict]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def lead_extras(s: Session, lead: Lead) -> LeadExtras:
    """Everything `show` adds beyond the lead's own columns (conversion records, scores, ...)."""
    from leadcli import activities, deal_records, routing, scoring

    extras = LeadExtras()
    fields, sections, data = activities.show_extras(s, lead.key)
    extras.fields += fields
    extras.sections += sections
    extras.data.update(data)
    _add_links(extras, lead, deal_records.lead_links(s, lead))
    if lead.merged_into is not None:
        extras.fields.append(("merged into", f"#{lead.merged_into} (`leadcli merge list` to undo)"))
    extras.data["merged_into"] = lead.merged_into
    _add_owners(extras, routing.owner_history(s, lead.key))
    reasons = scoring.score_reasons(s, lead)
    if reasons is not None:
        _add_reasons(extras, reasons)
    return extras


def _add_links(extras: LeadExtras, lead: Lead, links: dict[str, Any]) -> None:
    contact, company, current, deals = links["contact"], links["company"], links["deal"], links["deals"]
    if links["earlier"] is not None and contact is not None:
        who = contact["name"] or contact["email"] or ""
        extras.fields.append(("repeat lead", f"yes: contact #{contact['id']} {who}"
                                             f" came back ({links['earlier']} earlier lead(s))".replace("  ", " ")))
    if contact is not None:
        label = " ".join(p for p in (contact["name"], f"<{contact['email']}>" if contact["email"] else None) if p)
        extras.fields.append(("contact", f"#{contact['id']} {label}".strip()))
    if company is not None:
        extras.fields.append(("company record", f"#{company['id']} {company['name']}"
                                                + (f" ({company['domain']})" if company["domain"] else "")))
    if current is not None:
        from leadcli.commands._deal_render import money_text

        money = money_text(current["value"], current["currency"])
        extras.fields.append(("deal", " · ".join(p for p in (f"#{current['id']} {current['title']}", current["status"],
                                                            money) if p)))
    if deals:
        extras.sections.append((DEALS_TITLE, [
            {"deal": d["id"], "title": d["title"], "status": d["status"], "value": d["value"],
             "currency": d["currency"] or "", "closed": (d["closed_at"] or "")[:10],
             "lost reason": d["lost_reason"] or ""} for d in deals]))
    extras.data.update({
        "contact_id": lead.contact_id, "company_id": lead.company_id, "deal_id": lead.deal_id,
        "repeat_lead": bool(lead.repeat_lead), "deals": deals,
    })


def _add_owners(extras: LeadExtras, history: list[dict[str, Any]]) -> None:
    """Who was given the lead, when and by which rule: its ownership history beside its status history."""
    if history:
        extras.sections.append((OWNERS_TITLE, [
            {"when": (h["at"] or "")[:16].replace("T", " "), "from": h["from"] or "", "to": h["to"],
             "why": h["reason"] or ""} for h in history]))
    extras.data["owner_history"] = history


def _add_reasons(extras: LeadExtras, reasons: dict[str, Any]) -> None:
    rows = [{"points": f"+{r['points']}", "reason": r["text"]} for r in reasons["for"]] + \
           [{"points": str(r["points"]), "reason": r["text"]} for r in reasons["against"]]
    if rows:
        extras.sections.append((SCORE_REASONS_TITLE, rows))
    extras.data["score_reasons"] = {"model": reasons["model"], "for": [r["text"] for r in reasons["for"]],
                                    "against": [r["text"] for r in reasons["against"]]}
