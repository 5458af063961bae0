"""Import runs: the record of each import, the same file recognised, and undo.

Portable SQL on the command's session: a run is a row of `import_run`; the leads it created are
the id range `first_lead_id..last_lead_id`; the leads it changed are logged in `import_change`
with their values from before, so `undo` can restore them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from leadcli.errors import LeadcliError, NotFound
from leadcli.ingest.options import ImportOptions, ImportReport
from leadcli.ingest.shape import UPDATABLE
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

_RUN_COLUMNS = ("id", "file_name", "started_at", "rows", "created", "updated", "skipped", "rejected", "encoding",
                "delimiter", "sha256", "undone_at", "options")


def _sql(s: Session, statement: str, params: dict[str, Any] | None = None) -> Any:
    from sqlalchemy import text

    return s.execute(text(statement), params or {})


# `finished_at` of a run whose batches are still being written (a large import, see `write`): such
# a run is not yet a run of the file, and one whose import died is rolled back by the store.
IN_PROGRESS = ""
# The lead columns an import changes on an existing lead (the keys of `import_change.before`): the
# only ones `undo` ever writes back.
RESTORABLE = (*UPDATABLE, "status", "status_reason", "converted_at", "updated_at", "fields")


def same_file_runs(s: Session, sha256: str) -> list[int]:
    return [r[0] for r in _sql(s, "SELECT id FROM import_run WHERE sha256 = :sha AND undone_at IS NULL "
                                  "AND finished_at <> :busy ORDER BY id", {"sha": sha256, "busy": IN_PROGRESS})]


def start_run(s: Session, report: ImportReport, options: ImportOptions, now: str,
              extra: dict[str, Any] | None = None, reserved: tuple[int, int] | None = None) -> int:
    """A new run row (its counts filled by `finish_run`); its id. With `reserved` (the id range of
    the leads it will create) the run is recorded as in progress until `finish_run`."""
    from leadcli.activities import acting_user

    recorded = {**options.recorded(), **(extra or {})}
    first, last = reserved or (None, None)
    return _sql(s, "INSERT INTO import_run (file_name, sha256, started_at, finished_at, rows, skipped, encoding, "
                   "delimiter, options, first_lead_id, last_lead_id, by) VALUES (:file, :sha, :now, :finished, "
                   ":rows, :skipped, :encoding, :delimiter, :options, :first, :last, :by) RETURNING id",
                {"file": report.file, "sha": report.sha256, "now": now, "rows": report.rows,
                 "finished": IN_PROGRESS if reserved else now, "first": first, "last": last, "by": acting_user(),
                 "skipped": report.skipped, "encoding": report.encoding, "delimiter": report.delimiter,
                 "options": json.dumps(recorded, ensure_ascii=False)}).scalar_one()


def finish_run(s: Session, run_id: int, report: ImportReport, first_id: int | None, last_id: int | None) -> None:
    _sql(s, "UPDATE import_run SET finished_at = :now, rows = :rows, created = :created, updated = :updated, "
            "skipped = :skipped, rejected = :rejected, first_lead_id = :first, last_lead_id = :last WHERE id = :id",
         {"now": now_iso(), "rows": report.rows, "created": report.created, "updated": report.updated,
          "skipped": report.skipped, "rejected": report.rejected, "first": first_id, "last": last_id, "id": run_id})


def record_repeat(s: Session, digest: str, options: ImportOptions, report: ImportReport) -> bool:
    """Recognise a file imported before, byte for byte and with the same options, under `skip`.

    Every row of it then already has its lead: the leads that run created still exist (only
    `import undo` deletes leads, and any undo since disqualifies the shortcut) and the rows it
    skipped matched leads that still exist. So the run is recorded without reading the rows again;
    `--reprocess` reads them anyway.
    """
    fingerprint = options.fingerprint()
    hit = None
    for run_id, rows, finished, recorded in _sql(
            s, "SELECT id, rows, finished_at, options FROM import_run WHERE sha256 = :sha AND undone_at IS NULL "
               "AND rejected = 0 AND finished_at <> :busy ORDER BY id DESC", {"sha": digest, "busy": IN_PROGRESS}):
        if json.loads(recorded or "{}").get("fingerprint") == fingerprint:
            hit = (run_id, rows, finished)
            break
    if hit is None:
        return False
    run_id, rows, finished = hit
    if _sql(s, "SELECT 1 FROM import_run WHERE undone_at >= :t LIMIT 1", {"t": finished}).first():
        return False
    report.sha256, report.rows, report.skipped, report.repeat_of = digest, rows, rows, run_id
    report.same_file_runs = [run_id]
    if not options.dry_run:
        report.run_id = start_run(s, report, options, now_iso(), {"repeat_of": run_id})
    return True


def list_runs(s: Session) -> list[dict[str, Any]]:
    out = []
    for values in _sql(s, f"SELECT {', '.join(_RUN_COLUMNS)} FROM import_run ORDER BY id DESC"):
        run = dict(zip(_RUN_COLUMNS, values, strict=True))
        run["file"] = run.pop("file_name")
        run["options"] = json.loads(run["options"] or "{}")
        out.append(run)
    return out


def undo_run(s: Session, run_id: int, force: bool = False) -> dict[str, Any]:
    """Delete the leads run `run_id` created and restore the fields it updated."""
    run = _sql(s, "SELECT id, first_lead_id, last_lead_id, finished_at, undone_at FROM import_run WHERE id = :id",
               {"id": run_id}).first()
    if run is None:
        raise NotFound(f"no import run {run_id}", hint="list them with `leadcli import runs`")
    _, first, last, finished, undone = run
    if undone:
        raise LeadcliError(f"import run {run_id} was already undone at {undone}")
    if finished == IN_PROGRESS:
        raise LeadcliError(f"import run {run_id} is still being written",
                           hint="wait for that import to finish (an interrupted one is rolled back by the "
                                "next command that writes)")
    _check_undoable(s, run_id, first, last, finished, force)
    restored = _restore_changed(s, run_id)
    # The activities the run made of its file's next/last activity dates (also on leads it matched).
    _sql(s, "DELETE FROM activity WHERE run_id = :run", {"run": run_id})
    deleted = 0
    if first is not None:
        deleted = _sql(s, "DELETE FROM lead WHERE id BETWEEN :first AND :last",
                       {"first": first, "last": last}).rowcount
    _sql(s, "UPDATE import_run SET undone_at = :now WHERE id = :id", {"now": now_iso(), "id": run_id})
    return {"run_id": run_id, "deleted": deleted, "restored": restored}


def _check_undoable(s: Session, run_id: int, first: int | None, last: int | None, finished: str,
                    force: bool) -> None:
    """Refuse when a later run changed this run's leads, or (without `force`) when they were edited since."""
    later = [r for (r,) in _sql(
        s, """SELECT DISTINCT c.run_id FROM import_change c JOIN import_run r ON r.id = c.run_id
              WHERE c.run_id > :run AND r.undone_at IS NULL AND (c.lead_id BETWEEN :first AND :last
                    OR c.lead_id IN (SELECT lead_id FROM import_change WHERE run_id = :run)) ORDER BY c.run_id DESC""",
        {"run": run_id, "first": first or 0, "last": last or -1})]
    if later:
        raise LeadcliError(f"later import runs changed leads of run {run_id}: {', '.join(map(str, later))}",
                           hint=f"undo those first: leadcli import undo {later[0]}")
    if first is None or force:
        return
    touched = _sql(s, "SELECT count(*) FROM lead WHERE id BETWEEN :first AND :last AND updated_at > :finished",
                   {"first": first, "last": last, "finished": finished}).scalar_one()
    if touched:
        raise LeadcliError(f"{touched} lead(s) created by run {run_id} were changed after the import",
                           hint=f"undoing deletes them anyway with: leadcli import undo {run_id} --force")


def _restore_changed(s: Session, run_id: int) -> int:
    """Put back the values, tags and status history of the existing leads the run changed.

    The log is read from the database, which may have been crafted: only the columns an import
    changes (RESTORABLE) are written back, named by this code and with bound values; a log naming
    any other column, or not shaped as the import writes it, refuses the undo before any change.
    """
    changes = [(lead_id, *_checked_change(run_id, lead_id, before, tags, history)) for lead_id, before, tags, history
               in _sql(s, "SELECT lead_id, before, tags_added, history_ids FROM import_change WHERE run_id = :run",
                       {"run": run_id}).all()]
    for lead_id, values, tags_added, history_ids in changes:
        if values:
            columns = [c for c in RESTORABLE if c in values]  # names from the whitelist, never from the log
            sets = ", ".join(f"{c} = :v{i}" for i, c in enumerate(columns))
            _sql(s, f"UPDATE lead SET {sets} WHERE id = :id",
                 {**{f"v{i}": values[c] for i, c in enumerate(columns)}, "id": lead_id})
        for tag in tags_added:
            _sql(s, "DELETE FROM lead_tag WHERE lead_id = :id AND tag = :tag", {"id": lead_id, "tag": tag})
        for change_id in history_ids:
            _sql(s, "DELETE FROM status_change WHERE id = :id AND lead_id = :lead", {"id": change_id, "lead": lead_id})
    return len(changes)


_SCALAR = (str, int, float, type(None))


def _checked_change(run_id: int, lead_id: int, before: Any, tags_added: Any,
                    history_ids: Any) -> tuple[dict[str, Any], list[str], list[int]]:
    """One `import_change` row decoded, or the undo refused: it is not what an import writes."""
    def refuse(what: str) -> LeadcliError:
        return LeadcliError(f"import run {run_id} cannot be undone: its change log for lead {lead_id} {what}; "
                            "nothing was changed",
                            hint="this database was not written by leadcli as it is; check it with "
                                 "`leadcli db check` and restore a backup")

    try:
        values = json.loads(before or "{}")
        tags = json.loads(tags_added or "[]")
        history = json.loads(history_ids or "[]")
    except (TypeError, ValueError):
        raise refuse("is not valid JSON") from None
    if not isinstance(values, dict) or not isinstance(tags, list) or not isinstance(history, list):
        raise refuse("is not shaped as an import writes it")
    unknown = sorted(str(k) for k in values if k not in RESTORABLE)
    if unknown:
        raise refuse("names columns an import never changes: " + ", ".join(repr(k[:40]) for k in unknown[:5]))
    if not all(isinstance(v, _SCALAR) for v in values.values()) or not all(isinstance(t, str) for t in tags) \
            or not all(isinstance(h, int) and not isinstance(h, bool) for h in history):
        raise refuse("holds values of the wrong type")
    return values, tags, history
