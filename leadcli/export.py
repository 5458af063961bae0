"""Export: every lead matching the filters of `list`, in the JSON shape of a lead, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from leadcli.lead_records import lead_record, tags_for
from leadcli.query import LeadFilter, order_by

if TYPE_CHECKING:
    from sqlmodel import Session

BATCH = 1000
# The export's columns after the lead's own (LEAD_KEYS): its next action's due moment and its last
# activity's, which an import reads back as activities.
ACTIVITY_KEYS = ("next_action_at", "last_activity_at")


def iter_records(s: Session, flt: LeadFilter, *, sort: str | None = "id", desc: bool | None = None,
                 limit: int | None = None, next_action: bool = False,
                 last_activity: bool = False) -> Iterator[dict[str, Any]]:
    """Lead records (the JSON shape of `lead_records.lead_dict`), oldest id first by default
    (`sort=None`: the order of `list`), without loading them all at once. `next_action`: each
    record also gets `next_action_at` (the due moment of its earliest open planned activity);
    `last_activity`: `last_activity_at` (when its latest done activity happened)."""
    from sqlalchemy import select

    from leadcli.models import Lead, table_of

    # Core rows turned straight into records: no ORM object per lead (building one costs more
    # than the rest of the export), and no identity map holding every exported lead.
    table = table_of(Lead)
    names = [c.name for c in table.columns if c.name in Lead.model_fields]
    columns = [table.c[n] for n in names]
    if next_action:
        from leadcli.activities import next_action_at_column

        columns.append(next_action_at_column(table))
    if last_activity:
        from leadcli.activities import last_activity_at_column

        columns.append(last_activity_at_column(table))
    extra = [name for name, wanted in (("next_action_at", next_action), ("last_activity_at", last_activity))
             if wanted]
    flt = flt.with_settings(s)
    stmt = select(*columns).where(*flt.clauses()).order_by(*order_by(sort, desc))
    if limit is not None:
        stmt = stmt.limit(limit)
    result = s.connection().execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        tags = tags_for(s, [row[0] for row in batch])
        for row in batch:
            record = lead_record(dict(zip(names, row, strict=False)), tags.get(row[0]))
            if extra:
                record.update(zip(extra, row[len(names):], strict=True))
            yield record
