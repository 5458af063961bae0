"""Repeat leads (as Bitrix24 has them): a new lead from someone who already is a contact.

Kept apart from `conversion` so that `add` and `import`, which run this for every new lead, do not
pay for loading the conversion machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session


def link_repeat_leads(s: Session, first_id: int, last_id: int) -> int:
    """Link new leads whose e-mail or phone belongs to an existing contact to it, as repeat leads."""
    from sqlalchemy import text

    if s.execute(text("SELECT 1 FROM contact LIMIT 1")).first() is None:
        return 0
    params = {"first": first_id, "last": last_id}
    linked: int = s.connection().execute(text("""
        UPDATE lead SET
            contact_id = COALESCE(
                (SELECT min(c.id) FROM contact c WHERE c.email_key = lead.email_key),
                (SELECT min(c.id) FROM contact c WHERE c.phone_key = lead.phone_key)),
            repeat_lead = 1
        WHERE lead.id BETWEEN :first AND :last AND lead.contact_id IS NULL
          AND (EXISTS (SELECT 1 FROM contact c WHERE c.email_key = lead.email_key)
               OR EXISTS (SELECT 1 FROM contact c WHERE c.phone_key = lead.phone_key))"""), params).rowcount
    if linked:
        s.execute(text("""
            UPDATE lead SET company_id = (SELECT c.company_id FROM contact c WHERE c.id = lead.contact_id)
            WHERE lead.id BETWEEN :first AND :last AND lead.repeat_lead = 1 AND lead.company_id IS NULL"""), params)
        s.expire_all()
    return linked
