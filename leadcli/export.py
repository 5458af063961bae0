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
    from sqlalchemy import select

    from leadcli import leads
    from leadcli.models import Lead

    # Core rows, not ORM objects: a session would keep every exported lead in its identity map.
    table = Lead.__table__
    names = [c.name for c in table.columns if c.name in Lead.model_fields]
    stmt = select(*(table.c[n] for n in names)).where(*flt.clauses()).order_by(*order_by(sort or "id", desc))
    if limit is not None:
        stmt = stmt.limit(limit)
    result = s.connection().execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        tags = leads.tags_for(s, [row[0] for row in batch]) if names[0] == "id" else {}
        for row in batch:
            lead = Lead(**dict(zip(names, row)))
            yield leads.lead_dict(lead, tags.get(lead.id))
