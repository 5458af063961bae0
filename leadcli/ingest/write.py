"""Records -> the store: match, insert the new leads, merge or update, record the run.

Usually one transaction. A large run into a table that is not small commits its new leads in
batches when the store offers it (`BatchWriter`): the run is recorded as in progress first, with
the id range of its leads, so it stays one run for `import undo`, and a run killed between two
batches is rolled back by the next command that writes, never taken for a finished one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leadcli.ingest import dedupe, runs
from leadcli.ingest.bulk import BatchWriter, BulkWriter
from leadcli.ingest.options import ImportOptions, ImportReport
from leadcli.ingest.shape import ACTIVITY_DATES, RECORD, UPDATABLE
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.store.sqlite_bulk import NewIds

# How far along a status is: a merge under `update` moves a lead forward, never back.
from leadcli.stages import STATUS_RANK


def write(writer: BulkWriter, report: ImportReport, options: ImportOptions) -> None:
    """The run's writes (rolled back under --dry-run); fills the report's counts."""
    if not options.dry_run and isinstance(writer, BatchWriter) and writer.batched(report.rows - report.rejected):
        _write_batched(writer, report, options)
    else:
        _write_once(writer, report, options)


def _write_once(writer: BulkWriter, report: ImportReport, options: ImportOptions) -> None:
    """The one write transaction (rolled back under --dry-run)."""
    with writer.transaction(dry_run=options.dry_run) as s:
        now = now_iso()
        report.same_file_runs = runs.same_file_runs(s, report.sha256)
        dedupe.match_existing(writer, options)
        ids = writer.assign_ids()
        report.created = writer.count_new(ids)
        run_id = None
        if not options.dry_run:
            run_id = runs.start_run(s, report, options, now)
            if report.created:
                writer.insert_leads(now, report.created, ids)
                writer.insert_activities(run_id, now, ids)
        merged = _Merge(writer, options, run_id, now, apply=not options.dry_run, ids=ids)
        merged.run()
        if run_id is not None and merged.activity_dates:
            _matched_activities(s, run_id, now, merged.activity_dates)
        report.updated = merged.rows_changed
        report.skipped = report.rows - report.rejected - report.created - report.updated
        if not options.dry_run and run_id is not None:
            first_id = ids.first if report.created else None
            last_id = ids.first + report.created - 1 if report.created else None
            runs.finish_run(s, run_id, report, first_id, last_id)
            _after_write(s, first_id, last_id, merged.changed_ids)
            report.run_id = run_id


def _write_batched(writer: BatchWriter, report: ImportReport, options: ImportOptions) -> None:
    """Matching without the write lock, new leads in batches (each its own transaction), then the
    merges and the run's end in one last transaction."""
    with writer.reading() as s:
        report.same_file_runs = runs.same_file_runs(s, report.sha256)
        dedupe.match_existing(writer, options)
        ids = writer.assign_ids()
        report.created = writer.count_new(ids)
    now = now_iso()
    with writer.running():
        batches = writer.batches(report.created)
        with writer.transaction(dry_run=False) as s:
            # The first transaction reserves the ids, records the run as in progress and writes the
            # top batch: from then on a lead added by anyone else takes an id above the run's.
            ids = writer.reserve_ids(ids)
            reserved = (ids.first, ids.first + report.created - 1) if report.created else None
            run_id = runs.start_run(s, report, options, now, reserved=reserved or (0, -1))
            writer.begin_batches(run_id)
            first = next(batches, None)
            if first is not None:
                _batch(writer, s, now, run_id, ids, first)
        for positions in batches:
            with writer.transaction(dry_run=False) as s:
                _batch(writer, s, now, run_id, ids, positions)
        writer.end_batches(run_id)
        with writer.transaction(dry_run=False) as s:
            merged = _Merge(writer, options, run_id, now, apply=True, ids=ids)
            merged.run()
            if merged.activity_dates:
                _matched_activities(s, run_id, now, merged.activity_dates)
            report.updated = merged.rows_changed
            report.skipped = report.rows - report.rejected - report.created - report.updated
            runs.finish_run(s, run_id, report, *(reserved or (None, None)))
            _after_write(s, None, None, merged.changed_ids)
            report.run_id = run_id


def _batch(writer: BatchWriter, s: Session, now: str, run_id: int, ids: NewIds, positions: tuple[int, int]) -> None:
    """One batch of new leads, and what `add` does for each lead it writes, on their id range."""
    from leadcli import leads

    first_id, last_id = writer.insert_batch(now, run_id, ids, *positions)
    leads.on_leads_created(s, first_id, last_id)


def _after_write(s: Session, first_id: int | None, last_id: int | None, changed_ids: list[int]) -> None:
    """What `add` and `edit` do for each lead they write, done for the run's leads set-based."""
    if first_id is not None and last_id is not None:
        from leadcli import leads

        leads.on_leads_created(s, first_id, last_id)
    if changed_ids:
        from leadcli import scoring

        scoring.rescore_leads(s, changed_ids)


def _matched_activities(s: Session, run_id: int, now: str, dates: dict[int, dict[str, str | None]]) -> None:
    """The next/last activity dates of matched leads, as activities of the run, for leads without one yet."""
    from sqlalchemy import insert, select

    from leadcli.activities import sql_table
    from leadcli.models import Activity
    from leadcli.store.sqlite_bulk import LAST_TEXT, NEXT_TEXT

    table = sql_table(Activity)
    have: set[tuple[int, str]] = set()
    ids = list(dates)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        have.update((lead_id, text) for lead_id, text in s.execute(
            select(table.c.lead_id, table.c.text).where(table.c.lead_id.in_(chunk),
                                                        table.c.text.in_((NEXT_TEXT, LAST_TEXT)))))
    rows = []
    for lead_id, found in dates.items():
        nxt, last, owner = found.get("next_activity_at"), found.get("last_activity_at"), found.get("owner")
        if nxt and (lead_id, NEXT_TEXT) not in have:
            rows.append({"lead_id": lead_id, "type": "task", "text": NEXT_TEXT, "at": None, "due_at": nxt,
                         "done_at": None, "owner": owner, "created_at": now, "run_id": run_id})
        if last and (lead_id, LAST_TEXT) not in have:
            rows.append({"lead_id": lead_id, "type": "note", "text": LAST_TEXT, "at": last, "due_at": None,
                         "done_at": last, "owner": owner, "created_at": now, "run_id": run_id})
    if rows:
        s.execute(insert(table), rows)


@dataclass
class _Merge:
    """Rows that duplicate a lead, under merge/update: change it and log what it was before.

    Rows are taken grouped by lead, so each lead is read once, changed once and logged once
    (with its values from before the run), however many rows of the file point at it.
    """

    writer: BulkWriter
    options: ImportOptions
    run_id: int | None
    now: str
    apply: bool
    ids: NewIds  # the ids of the leads this run creates
    rows_changed: int = 0
    leads_changed: int = 0
    changed_ids: list[int] = field(default_factory=list)
    wanted: list[str] = field(default_factory=list)
    created: tuple[int | None, int | None] = (None, None)
    # lead id -> the file's latest next/last activity dates (and the lead's owner) for matched leads.
    activity_dates: dict[int, dict[str, str | None]] = field(default_factory=dict)

    def run(self) -> None:
        if self.options.on_duplicate not in ("merge", "update"):
            return
        self.created = self.writer.new_id_range(self.ids)
        lead_cols = self.writer.lead_columns()
        self.wanted = [c for c in ("id", *UPDATABLE, "status", "status_reason", "converted_at", "updated_at",
                                   "fields") if c in lead_cols]
        group: list[dict] = []
        current = None
        for row in self.writer.matched_rows(RECORD):
            if row["target"] != current:
                self._lead(group)
                group = []
                current = row["target"]
            group.append(row)
        self._lead(group)

    def _lead(self, group: list[dict]) -> None:
        """Apply the rows of one lead; count and write it only when it really changed."""
        if not group:
            return
        lead = self.writer.read_lead(self.wanted, group[0]["target"])
        if lead is None or lead["status"] == "converted":
            return  # a converted lead's record is kept as it was for reports
        if self.apply:
            self._note_activity_dates(lead, group)
        before = dict(lead)
        existing_tags = self.writer.lead_tags(lead["id"])
        tags_added: list[str] = []
        history: list[tuple] = []
        changing_rows = sum(self._apply_row(lead, row, existing_tags, tags_added, history) for row in group)
        diff = {k: before[k] for k in self.wanted if k != "id" and lead[k] != before[k]}
        if not diff and not tags_added:
            # Rows that undo each other (a later row of the file restores what an earlier one
            # changed) leave the lead as it was: nothing was updated, so a re-import stays a no-op.
            return
        self.rows_changed += changing_rows
        self.leads_changed += 1
        if self.apply:
            self._save(lead, before, diff, tags_added, history)

    def _note_activity_dates(self, lead: dict, group: list[dict]) -> None:
        found: dict[str, str | None] = {}
        for row in group:
            for key in ACTIVITY_DATES:
                found[key] = row.get(key) or found.get(key)
        if any(found.values()):
            found["owner"] = lead.get("owner")
            self.activity_dates[lead["id"]] = found

    def _apply_row(self, lead: dict, row: dict, existing_tags: set[str], tags_added: list[str],
                   history: list[tuple]) -> bool:
        overwrite = self.options.on_duplicate == "update"
        changed = merge_row(lead, row, overwrite)
        for tag in json.loads(row["tags"]) if row["tags"] else []:
            if tag.lower() not in {t.lower() for t in existing_tags} | {t.lower() for t in tags_added}:
                tags_added.append(tag)
                changed = True
        # merge and update move a status forward (new -> converted with its date), never back.
        if row["status"] and STATUS_RANK[row["status"]] > STATUS_RANK[lead["status"]] \
                and lead["status"] not in ("converted", "disqualified"):
            moment = row["status_at"] or row["updated_at"] or lead.get("created_at") or self.now
            history.append((lead["status"], row["status"], moment,
                            row["status_reason"] if row["status"] == "disqualified" else None))
            lead["status"] = row["status"]
            if row["status"] == "converted":
                lead["converted_at"] = row["converted_at"]
            if row["status"] == "disqualified":
                lead["status_reason"] = row["status_reason"]
            changed = True
        return changed

    def _save(self, lead: dict, before: dict, diff: dict, tags_added: list[str], history: list[tuple]) -> None:
        writer = self.writer
        self.changed_ids.append(lead["id"])
        lead["updated_at"] = self.now
        diff["updated_at"] = before["updated_at"]
        writer.update_lead(lead["id"], {k: lead[k] for k in diff})
        history_ids = [writer.add_status_change(lead["id"], from_status, to_status, moment, reason or "imported")
                       for from_status, to_status, moment, reason in history]
        writer.add_tags(lead["id"], tags_added)
        first, last = self.created
        if not (first is not None and last is not None and first <= lead["id"] <= last):
            writer.log_change(self.run_id, lead["id"], diff, tags_added, history_ids)


def merge_row(lead: dict, row: dict, overwrite: bool) -> bool:
    """One staged row into a lead's values: fill its empty fields (merge) or overwrite them (update)."""
    changed = False
    for key in UPDATABLE:
        value = row.get(key)
        if value is None or key not in lead:
            continue
        if overwrite:
            if lead[key] != value:
                lead[key] = value
                changed = True
        elif lead[key] in (None, ""):
            lead[key] = value
            changed = True
    new_fields = json.loads(row["fields"]) if row["fields"] and row["fields"] != "{}" else {}
    if new_fields:
        fields = json.loads(lead["fields"]) if isinstance(lead["fields"], str) else dict(lead["fields"] or {})
        before = dict(fields)
        for key, value in new_fields.items():
            if overwrite or fields.get(key) in (None, ""):
                fields[key] = value
        if fields != before:
            lead["fields"] = json.dumps(fields, ensure_ascii=False)
            changed = True
    return changed
