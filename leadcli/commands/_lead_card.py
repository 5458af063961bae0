"""What `show` adds to a lead's card beyond its own columns: its conversion records and its score.

The labels and sections are display text, so they are gathered here, in the command layer; the
library parts only read the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.models import Lead


@dataclass
class LeadExtras:
    """Extra card fields, extra sections and extra JSON keys for one lead."""

    fields: list[tuple[str, Any]] = field(default_factory=list)
    sections: list[tuple[str, list[dict]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def lead_extras(s: Session, lead: Lead) -> LeadExtras:
    """Everything `show` adds beyond the lead's own columns (conversion records, scores, ...)."""
    from leadcli import conversion, scoring

    extras = LeadExtras()
    conversion.lead_extras(s, lead, extras)
    fields, sections, data = scoring.lead_score_extras(s, lead)
    extras.fields += fields
    extras.sections += sections
    extras.data.update(data)
    return extras
