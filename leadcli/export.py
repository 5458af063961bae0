"""Export: every lead matching the filters of `list`, in the JSON shape of a lead, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from leadcli.lead_records import lead_record, tags_for
from leadcli.query import LeadFilter, order_by

if TYPE_CHECKING:
    from sqlmodel import Session

BATCH = 1000


def iter_records(s: Session, flt: LeadFilter, *, sort: str | None = "id", desc: bool | None = None,
                 limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Lead records (the JSON shape of `lead_records.lead_dict`), oldest id first by default
    (`sort=None`: the order of `list`), without loading them all at once."""
    from sqlalchemy import select

    from leadcli.models import Lead, table_of

    # Core rows turned straight into records: no ORM object per lead (building one costs more
    # than the rest of the export), and no identity map holding every exported lead.
    table = table_of(Lead)
    names = [c.name for c in table.columns if c.name in Lead.model_fields]
    stmt = select(*(table.c[n] for n in names)).where(*flt.clauses()).order_by(*order_by(sort, desc))
    if limit is not None:
        stmt = stmt.limit(limit)
    result = s.connection().execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        tags = tags_for(s, [row[0] for row in batch])
        for row in batch:
            yield lead_record(dict(zip(names, row, strict=True)), tags.get(row[0]))
