"""What happens to leads that just arrived (by `add`, `import` or `intake`): routing to an owner,
recorded in their ownership history, and the hook events announcing them.

Also the intake run: form payloads parsed by `intake`, written through the import pipeline
(its column aliases, mapping files, value parsing and the one duplicate rule), idempotent by the
payload's submission id (stored as the lead's external id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.ingest import ImportOptions, ImportReport
    from leadcli.store import Store

# The lead columns routing rules and the hooks' payloads read.
_COLUMNS = ("id", "name", "email", "phone", "company", "source", "owner", "status", "fields", "external_id",
            "created_at")


def lead_rows(s: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The leads `ids` as plain records (with their tags), in id order."""
    from sqlalchemy import bindparam, text

    if not ids:
        return []
    stmt = text(f"SELECT {', '.join(_COLUMNS)} FROM lead WHERE id IN :ids ORDER BY id").bindparams(
        bindparam("ids", expanding=True))
    rows = [dict(r) for r in s.connection().execute(stmt, {"ids": list(ids)}).mappings()]
    tags: dict[int, list[str]] = {}
    tag_stmt = text("SELECT lead_id, tag FROM lead_tag WHERE lead_id IN :ids ORDER BY tag").bindparams(
        bindparam("ids", expanding=True))
    for lead_id, tag in s.connection().execute(tag_stmt, {"ids": list(ids)}):
        tags.setdefault(lead_id, []).append(tag)
    for row in rows:
        row["fields"] = json.loads(row["fields"]) if isinstance(row["fields"], str) else row["fields"] or {}
        row["tags"] = tags.get(row["id"], [])
    return rows


def route(s: Session, records: list[dict[str, Any]], assign: str | None) -> int:
    """Give owners to the records without one (rules, then `assign`), in the session's transaction.

    Writes each owner on its lead and one `owner_change` row per assignment; returns how many.
    """
    from sqlalchemy import text

    from leadcli import routing

    assignments = routing.route_batch(s, records, assign)
    if assignments:
        s.connection().execute(text("UPDATE lead SET owner = :owner WHERE id = :id"),
                               [{"owner": a.owner, "id": records[a.index]["id"]} for a in assignments])
    routing.record_assignments(s, [(records[a.index]["id"], a) for a in assignments])
    return len(assignments)


def run_leads(s: Session, run_id: int | None) -> list[int]:
    """The ids of the leads an import run created."""
    from sqlalchemy import text

    if run_id is None:
        return []
    row = s.connection().execute(text("SELECT first_lead_id, last_lead_id FROM import_run WHERE id = :id"),
                                 {"id": run_id}).first()
    if row is None or row[0] is None:
        return []
    return [i for (i,) in s.connection().execute(
        text("SELECT id FROM lead WHERE id BETWEEN :a AND :b ORDER BY id"), {"a": row[0], "b": row[1]})]


def route_run(db: Store, run_id: int | None, assign: str | None) -> list[dict[str, Any]]:
    """Route the leads an import run created (when `assign` is given or rules exist); returns them."""
    from leadcli import routing

    with db.session(write=True) as s:
        if assign is None and not routing.rules(s):
            return []
        records = lead_rows(s, run_leads(s, run_id))
        route(s, records, assign)
    return records


@dataclass
class IntakeResult:
    report: ImportReport | None
    failed: list[dict[str, Any]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    assigned: int = 0

    def summary(self) -> dict[str, Any]:
        base: dict[str, Any] = self.report.summary() if self.report is not None else {
            "run_id": None, "rows": 0, "created": 0, "updated": 0, "skipped": 0, "rejected": 0,
            "encoding": "utf-8", "delimiter": ","}
        base = {**base, "file": "<stdin>", "rows": base["rows"] + len(self.failed),
                "rejected": base["rejected"] + len(self.failed), "failed": self.failed, "assigned": self.assigned}
        base.setdefault("flagged", 0)
        return base


def intake(data: str, options: ImportOptions, db: Store, assign: str | None = None,
           max_failed: str | None = None) -> IntakeResult:
    """Parse payloads, import their rows, route the new leads; failed items are returned with reasons.

    With `max_failed` (a count or a percentage, as `import --max-rejects`), more failed items than
    that raise `TooManyRejects` before anything is written.
    """
    import csv
    import os
    import tempfile

    from leadcli import ingest
    from leadcli import intake as parse

    items = parse.parse(data)
    failed = [{"position": i.position, "kind": i.kind, "key": i.key, "reason": i.error}
              for i in items if i.error is not None]
    if max_failed is not None and len(failed) > ingest.reject_limit(max_failed, len(items)):
        from leadcli.errors import TooManyRejects

        raise TooManyRejects(f"{len(failed)} of {len(items)} payload item(s) could not be read; nothing was written",
                             hint="see the reasons with --rejects FILE, or raise --max-rejects")
    header, rows = parse.as_table(items)
    if not rows:
        return IntakeResult(None, failed)
    handle, name = tempfile.mkstemp(prefix="leadcli-intake-", suffix=".csv")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        report = ingest.import_file(name, options, db=db)
    finally:
        os.unlink(name)
    result = IntakeResult(report, failed)
    if not options.dry_run:
        with db.session(write=True) as s:
            records = lead_rows(s, run_leads(s, report.run_id))
            result.assigned = route(s, records, assign)
            result.created = records
    return result


def claim_due(s: Session, now: str, owner: str | None = None) -> list[dict[str, Any]]:
    """The planned activities due by `now` not yet announced, marked announced in the session's transaction.

    Each comes with its lead (id, name, company, e-mail, phone, owner) for the `on-activity-due` hook.
    """
    from sqlalchemy import text

    where = ("a.done_at IS NULL AND a.due_at IS NOT NULL AND a.due_at <= :now AND a.due_announced_at IS NULL "
             "AND l.archived_at IS NULL AND l.merged_into IS NULL")
    params: dict[str, Any] = {"now": now}
    if owner:
        where += " AND lower(l.owner) = lower(:owner)"
        params["owner"] = owner
    rows = s.connection().execute(text(
        "SELECT a.id, a.type, a.text, a.due_at, a.owner AS activity_owner, l.id AS lead_id, l.name, l.company, "
        f"l.email, l.phone, l.owner FROM activity a JOIN lead l ON l.id = a.lead_id WHERE {where} "
        "ORDER BY a.due_at, a.id"), params).mappings().all()
    if rows:
        s.connection().execute(text("UPDATE activity SET due_announced_at = :now WHERE id = :id"),
                               [{"now": now, "id": r["id"]} for r in rows])
    return [{"activity": {"id": r["id"], "type": r["type"], "text": r["text"], "due_at": r["due_at"],
                          "owner": r["activity_owner"]},
             "lead": {"id": r["lead_id"], "name": r["name"], "company": r["company"], "email": r["email"],
                      "phone": r["phone"], "owner": r["owner"]}} for r in rows]
