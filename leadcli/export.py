"""Export: every lead matching the filters of `list`, in the JSON shape of a lead, streamed in batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from leadcli.query import LeadFilter, order_by

if TYPE_CHECKING:
    from sqlmodel import Session

BATCH = 1000


def iter_records(s: "Session", flt: LeadFilter, *, sort: str | None = "id", desc: bool | None = None,
                 limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Lead records (`leads.lead_dict`), oldest id first by default, without loading them all at once."""
    from sqlmodel import select

    from leadcli import leads
    from leadcli.models import Lead

    stmt = select(Lead).where(*flt.clauses()).order_by(*order_by(sort or "id", desc))
    if limit is not None:
        stmt = stmt.limit(limit)
    result = s.exec(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        tags = leads.tags_for(s, [lead.id for lead in batch])
        for lead in batch:
            yield leads.lead_dict(lead, tags.get(lead.id))
        s.expunge_all()
