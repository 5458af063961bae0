"""The import's bulk writes on PostgreSQL: the `BulkWriter` of `ingest/bulk.py` with COPY into a staging table.

The pipeline is the same as on SQLite (`sqlite_bulk.py`); what differs here:
- rows reach the staging table (a TEMP table on the run's connection) with COPY, numbered in Python;
- new lead ids are reserved from the lead table's identity sequence in a short transaction of their own,
  under a lock that waits for concurrent inserts, so `add`s running beside an import never collide with it
  and the run's ids stay consecutive (`import undo` works on ranges);
- leads without any key are matched on `name_key` computed in Python (no user functions in the server);
- indexes are dropped and built again only when a large import fills an empty lead table (building an index
  once from all the rows is several times faster than updating it row by row); that takes the table's
  exclusive lock to the commit, so it is done only when the lock is free at once and nobody has leads yet —
  into a table with leads, indexes are updated in place and every other user keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from leadcli.store.postgres import engine, is_driver_error, translate_error
from leadcli.store.session_common import match_existing_sql, session_in_transaction
from leadcli.store.sqlite_bulk import _LEAD_INSERT_COLUMNS, NewIds, activity_inserts

if TYPE_CHECKING:
    from sqlmodel import Session

_TYPES = {"value_cents": "BIGINT", "score": "INTEGER", "line": "INTEGER"}
# From this many new leads into an empty lead table, its indexes are dropped and built again after the insert.
_REBUILD_FROM = 100_000
# The plain indexes (not the primary keys, not unique ones, not a constraint's) of the tables an import fills.
_PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname IN ('lead', 'status_change') AND t.relnamespace = current_schema()::regnamespace
  AND NOT i.indisprimary AND NOT i.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1"""


@contextmanager
def bulk_writer(url: str) -> Iterator[PgBulkWriter]:
    """One connection for a whole import."""
    try:
        with engine(url).connect() as conn:
            yield PgBulkWriter(conn, url)
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise translate_error(exc, url) from exc


class PgBulkWriter:
    """The staging table `import_stage` (seq = row position + 1) and the writes made from it."""

    def __init__(self, conn: Any, url: str) -> None:
        from psycopg.types.string import TextLoader

        self.conn, self.url = conn, url
        self.raw: Any = conn.connection.driver_connection
        self.cur = self.raw.cursor()
        for name in ("json", "jsonb"):
            self.cur.adapters.register_loader(name, TextLoader)  # raw rows read as on SQLite: JSON as text
        self.seq = 0

    def _one(self, sql: str, params: Any = None) -> Any:
        return self.cur.execute(sql, params).fetchone()

    # ------------------------------------------------------------ staging

    def start_stage(self, record: Sequence[str]) -> None:
        self.seq = 0
        self.cur.execute("DROP TABLE IF EXISTS import_stage")
        self.cur.execute("CREATE TEMP TABLE import_stage (seq BIGINT PRIMARY KEY, line INTEGER, "
                         + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in record)
                         + ", root BIGINT, target BIGINT, new_id BIGINT)")

    def stage(self, names: Sequence[str], lines: Sequence[int], columns: Sequence[Sequence[Any]]) -> None:
        first = self.seq + 1
        self.seq += len(lines)
        with self.cur.copy(f"COPY import_stage (seq, line, {', '.join(names)}) FROM STDIN") as copy:
            for row in zip(range(first, self.seq + 1), lines, *columns, strict=True):
                copy.write_row(row)

    def end_stage(self, ok: bool) -> None:
        if ok:
            self.raw.commit()
        else:
            self.raw.rollback()

    def staged_rows(self, seqs: Sequence[int], keys: Sequence[str]) -> list[tuple]:
        cols = ", ".join("s." + k for k in keys)
        return self.cur.execute(f"SELECT s.seq, s.email_key, s.external_id, lower(s.name), {cols} "
                                "FROM import_stage s WHERE s.seq = ANY(%s) ORDER BY s.seq", (list(seqs),)).fetchall()

    def set_roots(self, pairs: Sequence[tuple[int, int]]) -> None:
        if pairs:
            self.cur.executemany("UPDATE import_stage SET root = %s WHERE seq = %s", list(pairs))

    # ------------------------------------------------------------ the write transaction

    @contextmanager
    def transaction(self, dry_run: bool) -> Iterator[Session]:
        with session_in_transaction(self.conn, keep=not dry_run) as s:
            yield s

    def match_existing(self, keys: Sequence[str], veto: Callable[[str, str, str], str]) -> bool:
        if self._one("SELECT 1 FROM lead LIMIT 1") is None:
            return False
        self.cur.execute(match_existing_sql("import_stage", keys, veto))
        return True

    def match_keyless(self, name_key: Callable[[str | None, str | None], str | None]) -> None:
        if self._one("SELECT 1 FROM import_stage WHERE name_key IS NOT NULL AND root IS NULL LIMIT 1") is None:
            return
        leads = self.cur.execute("SELECT id, name, company FROM lead WHERE email_key IS NULL AND phone_key IS NULL "
                                 "AND external_id IS NULL AND name IS NOT NULL").fetchall()
        self.cur.execute("DROP TABLE IF EXISTS import_keyless")
        self.cur.execute("CREATE TEMP TABLE import_keyless (id BIGINT, k TEXT)")
        with self.cur.copy("COPY import_keyless (id, k) FROM STDIN") as copy:
            for lead_id, name, company in leads:
                copy.write_row((lead_id, name_key(name, company)))
        self.cur.execute("CREATE INDEX ix_import_keyless ON import_keyless (k, id)")
        self.cur.execute("UPDATE import_stage SET target = (SELECT min(id) FROM import_keyless k "
                         "WHERE k.k = import_stage.name_key) WHERE root IS NULL AND target IS NULL "
                         "AND name_key IS NOT NULL")
        self.cur.execute("DROP TABLE import_keyless")

    def _reserve(self, n: int) -> int:
        """The first of `n` consecutive new lead ids, above every id in use or used by a run; taken from the
        identity sequence in a transaction of its own (a sequence never goes back, even on rollback)."""
        from sqlalchemy import text

        with engine(self.url).begin() as other:
            # Waits for inserts in flight (they hold ROW EXCLUSIVE) and holds new ones back until the commit.
            other.execute(text("LOCK TABLE lead IN SHARE ROW EXCLUSIVE MODE"))
            seq = other.execute(text("SELECT pg_get_serial_sequence('lead', 'id')")).scalar()
            first: Any = other.execute(text(
                "SELECT GREATEST((SELECT coalesce(max(id), 0) FROM lead), "
                "(SELECT coalesce(max(last_lead_id), 0) FROM import_run), "
                f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq})) + 1")).scalar()
            if n:
                other.execute(text("SELECT setval(:s, :last)"), {"s": seq, "last": int(first) + n - 1})
        return int(first)

    def assign_ids(self) -> NewIds:
        creatable = "root IS NULL AND target IS NULL"
        n = self._one(f"SELECT count(*) FROM import_stage WHERE {creatable}")[0]
        first_id = self._reserve(n)
        others = self._one(f"SELECT count(*) FROM import_stage WHERE NOT ({creatable})")[0]
        if not others:
            return NewIds(first_id, expr=f"(s.seq + {first_id - 1})", where="true")
        self.cur.execute(f"""UPDATE import_stage SET new_id = %s - 1 + m.rn FROM (
                               SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM import_stage
                               WHERE {creatable}) AS m
                             WHERE m.seq = import_stage.seq""", (first_id,))
        self.cur.execute("""UPDATE import_stage SET target = (
                               SELECT coalesce(r.target, r.new_id) FROM import_stage r WHERE r.seq = import_stage.root)
                            WHERE root IS NOT NULL""")
        return NewIds(first_id)

    def count_new(self, ids: NewIds) -> int:
        return int(self._one(f"SELECT count(*) FROM import_stage s WHERE {ids.where}")[0])

    def new_id_range(self, ids: NewIds) -> tuple[int | None, int | None]:
        row = self._one(f"SELECT min({ids.expr}), max({ids.expr}) FROM import_stage s WHERE {ids.where}")
        return row[0], row[1]

    def _drop_indexes_if_empty(self, created: int) -> list[tuple[str, str]]:
        """The plain indexes of lead and status_change, dropped (their definitions returned) when this run
        fills an empty lead table with many leads and the tables' lock is free at once; else none."""
        from psycopg.errors import LockNotAvailable

        if created < _REBUILD_FROM or self._one("SELECT EXISTS (SELECT 1 FROM lead)")[0]:
            return []
        self.cur.execute("SAVEPOINT leadcli_rebuild")
        try:
            self.cur.execute("LOCK TABLE lead, status_change IN ACCESS EXCLUSIVE MODE NOWAIT")
        except LockNotAvailable:
            self.cur.execute("ROLLBACK TO SAVEPOINT leadcli_rebuild")
            return []
        if self._one("SELECT EXISTS (SELECT 1 FROM lead)")[0]:
            return []
        indexes = [(name, sql) for name, sql in self.cur.execute(_PLAIN_INDEXES).fetchall()]
        for name, _ in indexes:
            self.cur.execute(f"DROP INDEX {name}")
        return indexes

    def insert_leads(self, now: str, created: int, ids: NewIds) -> None:
        indexes = self._drop_indexes_if_empty(created)
        self._insert_leads(now, ids)
        for _, definition in indexes:
            self.cur.execute(definition)

    def _insert_leads(self, now: str, ids: NewIds) -> None:
        new_id, where, p = ids.expr, ids.where, {"now": now}
        select = ", ".join(
            {"id": new_id, "created_at": "coalesce(created_at, %(now)s)", "updated_at": "coalesce(updated_at, %(now)s)",
             "fields": "CAST(fields AS json)",
             "converted_at": "CASE WHEN status = 'converted' THEN converted_at END"}.get(c, c)
            for c in _LEAD_INSERT_COLUMNS)
        self.cur.execute(f"INSERT INTO lead ({', '.join(_LEAD_INSERT_COLUMNS)}) SELECT {select} "
                         f"FROM import_stage s WHERE {where} ORDER BY s.seq", p)
        self.cur.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                         f"SELECT {new_id}, NULL, 'new', coalesce(created_at, %(now)s), 'imported' "
                         f"FROM import_stage s WHERE {where} ORDER BY s.seq", p)
        self.cur.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                         f"SELECT {new_id}, 'new', status, coalesce(status_at, created_at, %(now)s), "
                         f"coalesce(status_reason, 'imported') FROM import_stage s WHERE {where} AND status <> 'new' "
                         "ORDER BY s.seq", p)
        self.cur.execute(f"INSERT INTO lead_tag (lead_id, tag) SELECT {new_id}, j.value "
                         f"FROM import_stage s, json_array_elements_text(CAST(s.tags AS json)) AS j(value) "
                         f"WHERE {where} AND s.tags IS NOT NULL ON CONFLICT DO NOTHING")

    def insert_activities(self, run_id: int, now: str, ids: NewIds) -> None:
        """The new leads' next and last activity dates as activities of the run (one INSERT ... SELECT each)."""
        for sql in activity_inserts(ids, "import_stage", "%(now)s", "%(run)s"):
            self.cur.execute(sql, {"now": now, "run": run_id})

    # ------------------------------------------------------------ rows that act on existing leads

    def matched_rows(self, record: Sequence[str]) -> Iterator[dict[str, Any]]:
        cols = ("target", *record)
        rows = self.cur.execute(f"SELECT {', '.join(cols)} FROM import_stage WHERE target IS NOT NULL "
                                "ORDER BY target, seq").fetchall()
        for values in rows:
            yield dict(zip(cols, values, strict=True))

    def lead_columns(self) -> list[str]:
        return [r[0] for r in self.cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'lead' ORDER BY ordinal_position").fetchall()]

    def read_lead(self, columns: Sequence[str], lead_id: int) -> dict[str, Any] | None:
        row = self._one(f"SELECT {', '.join(columns)} FROM lead WHERE id = %s", (lead_id,))
        return None if row is None else dict(zip(columns, row, strict=True))

    def lead_tags(self, lead_id: int) -> set[str]:
        return {t for (t,) in self.cur.execute("SELECT tag FROM lead_tag WHERE lead_id = %s", (lead_id,)).fetchall()}

    def update_lead(self, lead_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = CAST(%s AS json)" if k == "fields" else f"{k} = %s" for k in values)
        self.cur.execute(f"UPDATE lead SET {sets} WHERE id = %s", (*values.values(), lead_id))

    def add_status_change(self, lead_id: int, from_status: str, to_status: str, at: str, reason: str) -> int:
        row = self._one("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                        "VALUES (%s, %s, %s, %s, %s) RETURNING id", (lead_id, from_status, to_status, at, reason))
        return int(row[0])

    def add_tags(self, lead_id: int, tags: Sequence[str]) -> None:
        if tags:
            self.cur.executemany("INSERT INTO lead_tag (lead_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                 [(lead_id, t) for t in tags])

    def log_change(self, run_id: int | None, lead_id: int, before: dict[str, Any], tags_added: Sequence[str],
                   history_ids: Sequence[int]) -> None:
        self.cur.execute("INSERT INTO import_change (run_id, lead_id, before, tags_added, history_ids) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         (run_id, lead_id, json.dumps(before, ensure_ascii=False),
                          json.dumps(list(tags_added), ensure_ascii=False), json.dumps(list(history_ids))))

    def checkpoint(self) -> None:
        """Nothing to do: the server writes its log itself."""
