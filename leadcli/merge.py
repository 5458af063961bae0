"""Merging leads that are one person (`leadcli merge KEEP DUP...`) and undoing a merge.

The kept lead gains the others' status history, activities, score history, ownership history,
tags, empty fields and custom fields (or, with `prefer`, that lead's values win), and the deals,
contacts and companies they led to. A merged lead stays as a record with `merged_into` set to
the kept lead: lists and reports count the person once, as the kept lead.

Every row a merge touches is journalled in `merge_change` before it changes (its whole state as
stored, or NULL for a row the merge added), so `undo` writes each row back and removes the
journal: the database is as it was before the merge, byte for byte in a dump.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli.errors import InvalidTransition, NotFound, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

# Tables whose rows belong to a lead by `lead_id`, and their keys.
MOVED = {"status_change": ("id",), "activity": ("id",), "score_history": ("id",), "owner_change": ("id",),
         "deal": ("id",), "contact": ("id",), "company": ("id",)}
KEYS = {**MOVED, "lead": ("id",), "lead_tag": ("lead_id", "tag")}
# Lead columns filled from a merged lead when the kept one has none (or taken from `prefer`).
FILLED = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company", "title",
          "source", "owner", "value_cents", "currency", "external_id", "notes", "contact_id", "company_id",
          "deal_id")
# Columns that travel together: an e-mail with its key, a value with its currency.
_PAIRED = {"email": ("email", "email_key"), "phone": ("phone", "phone_key"), "value_cents": ("value_cents", "currency")}


@dataclass
class Plan:
    """What a merge does (or did): the ids, and per table how many rows move to the kept lead."""

    keep_id: int
    merged_ids: list[int]
    prefer_id: int | None = None
    filled: dict[str, Any] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    merge_id: int | None = None
    statuses: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"merge_id": self.merge_id, "keep_id": self.keep_id, "merged_ids": self.merged_ids,
                "prefer_id": self.prefer_id, "filled": sorted(self.filled), "moved": self.moved, "tags": self.tags}


class _Journal:
    def __init__(self, conn: Connection, merge_id: int) -> None:
        self.conn, self.merge_id, self.seq = conn, merge_id, 0

    def _write(self, table: str, key: dict[str, Any], before: dict[str, Any] | None) -> None:
        from sqlalchemy import text

        self.seq += 1
        self.conn.execute(text("INSERT INTO merge_change (merge_id, seq, table_name, row_key, before) "
                               "VALUES (:m, :q, :t, :k, :b)"),
                          {"m": self.merge_id, "q": self.seq, "t": table, "k": json.dumps(key),
                           "b": None if before is None else json.dumps(before)})

    def before(self, table: str, where: str, params: dict[str, Any]) -> int:
        """Journal the rows of `table` matching `where` as they are now; returns how many."""
        from sqlalchemy import text

        rows = self.conn.execute(text(f"SELECT * FROM {table} WHERE {where}"), params).mappings().all()
        for row in rows:
            self._write(table, {k: row[k] for k in KEYS[table]}, dict(row))
        return len(rows)

    def added(self, table: str, key: dict[str, Any]) -> None:
        self._write(table, key, None)


def _lead_rows(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    from sqlalchemy import bindparam, text

    stmt = text("SELECT * FROM lead WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
    return {row["id"]: dict(row) for row in conn.execute(stmt, {"ids": list(ids)}).mappings()}


def _check(leads: dict[int, dict[str, Any]], keep_id: int, merged: Sequence[int], prefer: int | None,
           force: bool) -> None:
    for lead_id in (keep_id, *merged):
        if lead_id not in leads:
            raise NotFound(f"no lead with id {lead_id}", hint="see `leadcli duplicates` or `leadcli list`")
        target = leads[lead_id]["merged_into"]
        if target is not None:
            raise InvalidTransition(f"lead #{lead_id} was already merged into #{target}",
                                    hint=f"merge into #{target} instead, or `leadcli merge undo` that merge first")
    if keep_id in merged or len(set(merged)) != len(merged):
        raise UsageError("a lead is named twice", hint="give the kept lead once, then each other lead once")
    if prefer is not None and prefer not in merged:
        raise UsageError(f"--prefer {prefer} is not one of the leads merged", hint="name one of the DUP ids")
    keep = leads[keep_id]
    if keep["status"] != "converted" and not force:
        converted = [i for i in merged if leads[i]["status"] == "converted"]
        if converted:
            raise InvalidTransition(
                f"lead #{converted[0]} is converted and #{keep_id} is not: an open lead cannot absorb it",
                hint=f"keep the converted one (`leadcli merge {converted[0]} {keep_id}`) or add --force")


def _fill(keep: dict[str, Any], others: list[dict[str, Any]], prefer: int | None) -> dict[str, Any]:
    """The kept lead's new values: its empty columns filled (the preferred lead's values first)."""
    changes: dict[str, Any] = {}
    ordered = sorted(others, key=lambda r: r["id"] != prefer)
    current = dict(keep)
    for column in FILLED:
        if column in ("email_key", "phone_key", "currency"):
            continue
        group = _PAIRED.get(column, (column,))
        for other in ordered:
            if other[column] in (None, ""):
                continue
            if current[column] in (None, "") or (other["id"] == prefer and current[column] != other[column]):
                for col in group:
                    if current[col] != other[col]:
                        current[col] = changes[col] = other[col]
            break
    fields = json.loads(keep["fields"] or "{}")
    merged_fields = dict(fields)
    for other in ordered:
        for key, value in json.loads(other["fields"] or "{}").items():
            if value in (None, ""):
                continue
            if key not in merged_fields or merged_fields[key] in (None, "") or other["id"] == prefer:
                merged_fields[key] = value
    if merged_fields != fields:
        changes["fields"] = json.dumps(merged_fields, ensure_ascii=False)
    return changes


def merge(s: Session, keep_id: int, merged_ids: Sequence[int], *, prefer: int | None = None, force: bool = False,
          dry_run: bool = False) -> Plan:
    """Merge `merged_ids` into `keep_id` in the session's transaction; with `dry_run` only plan it."""
    from sqlalchemy import text

    from leadcli.store import now_iso

    conn = s.connection()
    merged = list(merged_ids)
    leads = _lead_rows(conn, [keep_id, *merged])
    _check(leads, keep_id, merged, prefer, force)
    plan = Plan(keep_id, merged, prefer, _fill(leads[keep_id], [leads[i] for i in merged], prefer),
                statuses={i: leads[i]["status"] for i in merged})
    params = {f"m{n}": lead_id for n, lead_id in enumerate(merged)}
    among = "lead_id IN (" + ", ".join(f":{k}" for k in params) + ")"
    for table in MOVED:
        plan.moved[table] = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {among}"), params).scalar_one()
    plan.tags = [t for (t,) in conn.execute(text(
        f"SELECT min(tag) FROM lead_tag WHERE {among} AND lower(tag) NOT IN "
        "(SELECT lower(tag) FROM lead_tag WHERE lead_id = :keep) GROUP BY lower(tag) ORDER BY 1"),
        {**params, "keep": keep_id})]
    if dry_run:
        return plan
    at = now_iso()
    plan.merge_id = conn.execute(text(
        "INSERT INTO merge_run (keep_id, merged_ids, prefer_id, at) VALUES (:k, :m, :p, :at) RETURNING id"),
        {"k": keep_id, "m": json.dumps(merged), "p": prefer, "at": at}).scalar_one()
    journal = _Journal(conn, plan.merge_id)
    journal.before("lead", "id = :keep OR " + among.replace("lead_id", "id"), {**params, "keep": keep_id})
    for table in MOVED:
        journal.before(table, among, params)
        conn.execute(text(f"UPDATE {table} SET lead_id = :keep WHERE {among}"), {**params, "keep": keep_id})
    seen: set[str] = set()
    for tag in plan.tags:
        if tag.lower() in seen:
            continue
        seen.add(tag.lower())
        conn.execute(text("INSERT INTO lead_tag (lead_id, tag) VALUES (:keep, :tag)"), {"keep": keep_id, "tag": tag})
        journal.added("lead_tag", {"lead_id": keep_id, "tag": tag})
    updates = {**plan.filled, "updated_at": at}
    conn.execute(text("UPDATE lead SET " + ", ".join(f"{c} = :{c}" for c in updates) + " WHERE id = :keep"),
                 {**updates, "keep": keep_id})
    conn.execute(text(f"UPDATE lead SET merged_into = :keep, updated_at = :at WHERE {among.replace('lead_id', 'id')}"),
                 {**params, "keep": keep_id, "at": at})
    return plan


def undo(s: Session, merge_id: int) -> dict[str, Any]:
    """Put back every row merge `merge_id` changed, remove what it added, and forget the merge."""
    from sqlalchemy import text

    conn = s.connection()
    run = conn.execute(text("SELECT * FROM merge_run WHERE id = :m"), {"m": merge_id}).mappings().first()
    if run is None:
        raise NotFound(f"no merge with id {merge_id}", hint="`leadcli merge list` shows the merges that can be undone")
    mine = {run["keep_id"], *json.loads(run["merged_ids"])}
    for later in conn.execute(text("SELECT id, keep_id, merged_ids FROM merge_run WHERE id > :m ORDER BY id DESC"),
                              {"m": merge_id}):
        if mine & {later.keep_id, *json.loads(later.merged_ids)}:
            raise InvalidTransition(f"merge {later.id} came later and involves the same leads",
                                    hint=f"undo it first: `leadcli merge undo {later.id}`")
    changes = conn.execute(text("SELECT table_name, row_key, before FROM merge_change WHERE merge_id = :m "
                                "ORDER BY seq DESC"), {"m": merge_id}).all()
    columns: dict[str, set[str]] = {}
    for table, row_key, before in changes:
        key, row = _journal_entry(conn, merge_id, table, row_key, before, columns)
        _restore(conn, table, key, row)
    conn.execute(text("DELETE FROM merge_change WHERE merge_id = :m"), {"m": merge_id})
    conn.execute(text("DELETE FROM merge_run WHERE id = :m"), {"m": merge_id})
    return {"merge_id": merge_id, "keep_id": run["keep_id"], "merged_ids": json.loads(run["merged_ids"]),
            "rows": len(changes)}


def _journal_entry(conn: Connection, merge_id: int, table: Any, row_key: Any, before: Any,
                   columns: dict[str, set[str]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One journalled row, checked before anything is written back: a known table, its key columns
    exactly, only columns the table has, plain values. A database crafted to write elsewhere (a
    column name holding SQL, another table) is refused and the undo changes nothing."""
    from leadcli.errors import DatabaseError

    def damaged(why: str) -> DatabaseError:
        return DatabaseError(f"merge {merge_id} cannot be undone: its journal is damaged ({why}); nothing was "
                             "changed", hint="check the database with `leadcli db check`, or restore a backup")

    if not isinstance(table, str) or table not in KEYS:
        raise damaged(f"unknown table {str(table)[:60]!r}")
    if table not in columns:
        from sqlalchemy import inspect

        columns[table] = {c["name"] for c in inspect(conn).get_columns(table)}
    try:
        key = json.loads(row_key)
        row = None if before is None else json.loads(before)
    except (TypeError, ValueError, RecursionError):
        raise damaged("a row is not valid JSON") from None
    if not isinstance(key, dict) or sorted(key) != sorted(KEYS[table]):
        raise damaged(f"a {table} row key is not {', '.join(KEYS[table])}")
    if row is not None and (not isinstance(row, dict) or not row or not set(row) <= columns[table]):
        raise damaged(f"a {table} row names columns the table does not have")
    plain = (str, int, float, type(None))
    if not all(isinstance(v, plain) for v in [*key.values(), *(row or {}).values()]):
        raise damaged(f"a {table} row holds a value that is not plain text or a number")
    return key, row


def _restore(conn: Connection, table: str, key: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Write one checked journal row back (`_journal_entry`): names from the whitelist, values bound."""
    from sqlalchemy import text

    if table not in KEYS:
        raise ValueError(f"a merge journal names an unknown table {table!r}")
    where = " AND ".join(f"{c} = :k_{c}" for c in key)
    keys = {f"k_{c}": v for c, v in key.items()}
    if before is None:
        conn.execute(text(f"DELETE FROM {table} WHERE {where}"), keys)
        return
    sets = ", ".join(f"{c} = :v_{c}" for c in before)
    values = {f"v_{c}": v for c, v in before.items()}
    if conn.execute(text(f"UPDATE {table} SET {sets} WHERE {where}"), {**values, **keys}).rowcount == 0:
        conn.execute(text(f"INSERT INTO {table} ({', '.join(before)}) VALUES ({', '.join(':v_' + c for c in before)})"),
                     values)


def runs(s: Session) -> list[dict[str, Any]]:
    """The merges that can be undone, newest first."""
    from sqlalchemy import text

    rows = s.connection().execute(text("SELECT id, keep_id, merged_ids, prefer_id, at FROM merge_run ORDER BY id DESC"))
    return [{"merge_id": r.id, "keep_id": r.keep_id, "merged_ids": json.loads(r.merged_ids), "prefer_id": r.prefer_id,
             "at": r.at} for r in rows]
