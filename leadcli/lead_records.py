"""The JSON shape of a lead (CLI.md), shared by `list`, `show`, `export` and the library API."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from leadcli.models import Lead, LeadTag

if TYPE_CHECKING:
    from sqlmodel import Session

LEAD_KEYS = ("id", "name", "first_name", "last_name", "email", "phone", "company", "title", "source", "owner",
             "value", "currency", "status", "status_reason", "score", "grade", "trend", "tags", "fields",
             "external_id", "notes", "created_at", "updated_at", "converted_at", "archived_at", "created_by")


def lead_dict(lead: Lead, tags: list[str] | None = None) -> dict[str, Any]:
    """The JSON shape of a lead (CLI.md)."""
    return lead_record({key: getattr(lead, key, None) for key in (*LEAD_KEYS, "value_cents")}, tags)


def lead_record(values: dict[str, Any], tags: list[str] | None = None) -> dict[str, Any]:
    """The JSON shape of a lead from its column values (`value_cents`, not `value`)."""
    cents = values["value_cents"]
    out = {key: values.get(key) for key in LEAD_KEYS}
    out["value"] = None if cents is None else Decimal(cents) / 100
    out["tags"] = tags or []
    out["fields"] = dict(values["fields"] or {})
    return out


def tags_for(s: Session, lead_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each lead's tags, sorted; leads without tags are absent."""
    from sqlmodel import col, func, select

    out: dict[int, list[str]] = {}
    ids = list(lead_ids)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for lead_id, tag in s.exec(select(LeadTag.lead_id, LeadTag.tag).where(col(LeadTag.lead_id).in_(chunk))
                                   .order_by(LeadTag.lead_id, func.lower(LeadTag.tag), LeadTag.tag)):
            out.setdefault(lead_id, []).append(tag)
    return out
