"""The import's bulk writes on SQLite: a staging table, set-based matching, index rebuilds.

`bulk_writer(path)` opens one connection for a whole import and gives a `SqliteBulkWriter`, the
dialect's side of the pipeline in `leadcli.ingest`: the pipeline decides what to write (records,
which rows are the same person, what a merge changes); this class knows how SQLite does it fast.

How a run keeps the database safe and other commands responsive:

1. *Stage* (no write lock): rows are written in chunks with `executemany` into a TEMP table on the
   run's own connection. Temp tables live outside the database file, so an interactive `add`
   can write meanwhile.
2. *Write* (one BEGIN IMMEDIATE transaction, `transaction()`): matches against existing leads
   are found set-based on the indexed keys; new leads, their status history and tags are
   inserted with INSERT ... SELECT, with ids assigned from the stage's row order; for a large
   import into a small table the indexes are dropped and rebuilt in the same transaction.
   A crash, Ctrl-C or kill -9 at any moment leaves the database exactly as it was.
3. *Batches* (a large run, `batched()`): the matching runs in a read transaction (no write lock);
   the run is recorded as in progress with the id range it reserves, and its new leads are written
   top id first in batches of about _BATCH_SECONDS each, with a pause between them so a waiting
   `add` gets the lock. Into a table larger than the run, indexes are updated in place; into a
   smaller one they are dropped first and built again after the batches, one per transaction.
   Merges and the run's end are one last transaction. A run killed half-way is rolled back by the
   next command that writes (`sqlite_runs`), so no partial run ever passes for a finished one.

A PostgreSQL writer would offer the same methods (COPY into a temporary table, the same
set-based statements).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from leadcli.store import sqlite_runs
from leadcli.store.session_common import match_existing_sql, session_in_transaction
from leadcli.store.sqlite import BUSY_TIMEOUT_MS, engine, translate_error

if TYPE_CHECKING:
    from sqlmodel import Session

# The lead columns an import fills, in the order of its INSERT.
_LEAD_INSERT_COLUMNS = ("id", "name", "first_name", "last_name", "email", "email_key", "phone", "phone_key",
                        "company", "title", "source", "owner", "value_cents", "currency", "status", "status_reason",
                        "fields", "notes", "external_id", "score", "grade", "trend", "created_at", "updated_at",
                        "converted_at", "archived_at")
# A WAL longer than this (bytes) is truncated between batches, waiting at most _WAL_TRUNCATE_WAIT_MS for readers.
_WAL_TRUNCATE_FROM = 256 * 1024 * 1024
_WAL_TRUNCATE_WAIT_MS = 1000
# ... and only when at most this many of its frames (pages) are still to be copied into the database.
_WAL_TRUNCATE_PENDING = 4096
# SQLite's own memory during an import (page caches, bound values), in bytes: a soft limit.
_SQLITE_HEAP_LIMIT = 64 * 1024 * 1024
# Below this many new leads, updating the indexes row by row beats rebuilding them.
_REBUILD_INDEXES_FROM = 20_000
# An import of this many rows or more commits in batches into a database of _BATCH_INTO leads or
# more, or when the leads after it would be more than _ONE_UP_TO (one transaction that rebuilds
# the indexes would hold the lock for seconds); otherwise it is one transaction, the fastest.
_BATCH_FROM = 20_000
_BATCH_INTO = 50_000
_ONE_UP_TO = 100_000
# Up to this many leads after a batched run into a smaller table, its indexes are dropped and built
# again after the batches, one per transaction. A build grows with the table: at 1,000,000 leads each
# of the lead table's indexes took 0.2-1.3 s on an idle machine (3-12 s at load average 10), so a
# million-lead file into an empty database keeps the rebuild (twice as fast as updating the indexes
# row by row); beyond this, too long a lock, so larger runs update in place.
_DROP_UP_TO = 1_200_000
# A batch's target duration (s), its first size and the least one (rows).
# The first batch is small (a cold cache over a big table may write only a few thousand rows a
# second); each next one at most doubles.
_BATCH_SECONDS = 0.75
_FIRST_BATCH = 500
_MIN_BATCH = 200
_FIRST_FREE_ID = ("SELECT max(coalesce((SELECT max(id) FROM lead), 0), "
                  "coalesce((SELECT max(last_lead_id) FROM import_run), 0)) + 1")


def _forced_batch_rows() -> int | None:
    """LEADCLI_IMPORT_BATCH_ROWS=N: batches of N rows for any run of more than N (tests, tuning)."""
    value = os.environ.get("LEADCLI_IMPORT_BATCH_ROWS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def activity_inserts(ids: NewIds, stage: str, now: str, run: str) -> list[str]:
    """INSERT ... SELECT statements (both dialects) making the staged next/last activity dates of the
    new leads into activities: the next one open and planned, the last one done."""
    head = "INSERT INTO activity (lead_id, type, text, at, due_at, done_at, owner, created_at, run_id) "
    return [head + f"SELECT {ids.expr}, 'task', '{NEXT_TEXT}', NULL, s.next_activity_at, NULL, s.owner, {now}, {run} "
            f"FROM {stage} s WHERE {ids.where} AND s.next_activity_at IS NOT NULL",
            head + f"SELECT {ids.expr}, 'note', '{LAST_TEXT}', s.last_activity_at, NULL, s.last_activity_at, s.owner, "
            f"{now}, {run} FROM {stage} s WHERE {ids.where} AND s.last_activity_at IS NOT NULL"]


# The texts of the activities an import makes of a file's next and last activity dates.
NEXT_TEXT = "next activity (imported)"
LAST_TEXT = "last activity (imported)"


@dataclass
class NewIds:
    """How a staged row's new lead id is read: `expr` (on the stage aliased `s`), for the rows `where`."""

    first: int
    expr: str = "s.new_id"
    where: str = "s.new_id IS NOT NULL"


@contextmanager
def bulk_writer(path: Path) -> Iterator[SqliteBulkWriter]:
    """One connection for a whole import, with a bigger page cache and checkpoints left to the import."""
    from sqlalchemy.exc import DatabaseError as SADatabaseError

    try:
        with engine(path).connect() as conn:
            raw = cast(sqlite3.Connection, conn.connection.driver_connection)
            # A bigger page cache for the bulk work; bounded so memory stays flat at any size.
            raw.execute("PRAGMA cache_size = -65536")
            raw.execute("PRAGMA temp.cache_size = -32768")
            # All of SQLite's memory in this process stays near that too: a field tens of MB long is copied
            # when bound and again when its row is written, and the caches give way instead of adding up.
            raw.execute(f"PRAGMA soft_heap_limit = {_SQLITE_HEAP_LIMIT}")
            # The commit does not checkpoint: `checkpoint()` does it right after (see there).
            raw.execute("PRAGMA wal_autocheckpoint = 0")
            sqlite_runs.recover(raw, path)  # an import killed between its batches is rolled back first
            try:
                yield SqliteBulkWriter(conn, raw, path)
            finally:
                raw.execute("PRAGMA wal_autocheckpoint = 1000")
                if not raw.in_transaction:
                    raw.execute("DROP TABLE IF EXISTS temp.import_stage")
    except SADatabaseError as exc:
        orig = getattr(exc, "orig", None)
        if isinstance(orig, sqlite3.DatabaseError):
            raise translate_error(orig, path) from exc
        raise
    except sqlite3.DatabaseError as exc:
        raise translate_error(exc, path) from exc


class SqliteBulkWriter:
    """The staging table `temp.import_stage` (seq = row position + 1) and the writes made from it."""

    def __init__(self, conn: Any, raw: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.raw = raw
        self.path = path
        self._seq_offset: int | None = None  # new id = seq + this, when every staged row is a new lead
        self._id_shift = 0  # otherwise new id = new_id + this (ids moved up by `reserve_ids`)
        self._without_indexes = False  # a batched run into a small table: indexes built after the batches
        self._dropped: list[str] = []  # the definitions of the indexes such a run dropped

    # ------------------------------------------------------------ staging (no write lock)

    def start_stage(self, record: Sequence[str]) -> None:
        """An empty stage with the record's columns, and the staging transaction (temp database only)."""
        self.raw.execute("DROP TABLE IF EXISTS temp.import_stage")
        self.raw.execute("CREATE TEMP TABLE import_stage (seq INTEGER PRIMARY KEY, line INTEGER, "
                         + ", ".join(record) + ", root INTEGER, target INTEGER, new_id INTEGER)")
        self.raw.execute("BEGIN")

    def stage(self, names: Sequence[str], lines: Sequence[int], columns: Sequence[Sequence[Any]]) -> None:
        """Append rows given as columns (`names[k]` is `columns[k]`), with their line numbers."""
        self.raw.executemany(f"INSERT INTO temp.import_stage (line, {', '.join(names)}) "
                             f"VALUES ({', '.join('?' * (len(names) + 1))})", zip(lines, *columns, strict=True))

    def end_stage(self, ok: bool) -> None:
        self.raw.execute("COMMIT" if ok else "ROLLBACK")

    def staged_rows(self, seqs: Sequence[int], keys: Sequence[str]) -> list[tuple]:
        """(seq, email_key, external_id, lower(name), *keys) of the staged rows `seqs`, by seq."""
        raw = self.raw
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS import_candidate (seq INTEGER PRIMARY KEY)")
        raw.execute("DELETE FROM temp.import_candidate")
        raw.executemany("INSERT INTO temp.import_candidate (seq) VALUES (?)", [(c,) for c in sorted(seqs)])
        rows = raw.execute(f"SELECT s.seq, s.email_key, s.external_id, lower(s.name), "
                           f"{', '.join('s.' + k for k in keys)} FROM temp.import_stage s "
                           "JOIN temp.import_candidate c ON c.seq = s.seq ORDER BY s.seq").fetchall()
        raw.execute("DROP TABLE temp.import_candidate")
        return rows

    def set_roots(self, pairs: Sequence[tuple[int, int]]) -> None:
        """(root, seq): row `seq` is the same person as the earlier row `root`."""
        self.raw.executemany("UPDATE temp.import_stage SET root = ? WHERE seq = ?", pairs)

    # ------------------------------------------------------------ the write transaction

    @contextmanager
    def transaction(self, dry_run: bool) -> Iterator[Session]:
        """The one write transaction, with a Session on it for the domain's hooks; rolled back on a dry run."""
        self.conn.execution_options(leadcli_begin="DEFERRED" if dry_run else "IMMEDIATE")
        with session_in_transaction(self.conn, keep=not dry_run) as s:
            yield s

    def match_existing(self, keys: Sequence[str], veto: Callable[[str, str, str], str]) -> bool:
        """`target` = the first existing lead each first-of-its-keys row is the same person as.

        `veto(key, existing, incoming)` gives the SQL condition that must not hold for a match
        on `key` (`duplicates.veto_sql`). Keys are tried in order. False when there are no leads.
        """
        raw = self.raw
        if raw.execute("SELECT 1 FROM lead LIMIT 1").fetchone() is None:
            return False  # a first import: no look-up per row while the write lock is held
        raw.execute(match_existing_sql("temp.import_stage", keys, veto))
        return True

    def match_keyless(self, name_key: Callable[[str | None, str | None], str | None]) -> None:
        """`target` for rows with no key: the first lead without keys whose `name_key` is theirs."""
        raw = self.raw
        if raw.execute("SELECT 1 FROM temp.import_stage WHERE name_key IS NOT NULL AND root IS NULL "
                       "LIMIT 1").fetchone() is None:
            return
        raw.create_function("leadcli_name_key", 2, name_key, deterministic=True)
        raw.execute("DROP TABLE IF EXISTS temp.import_keyless")
        raw.execute("CREATE TEMP TABLE import_keyless AS SELECT id, leadcli_name_key(name, company) AS k FROM lead "
                    "WHERE email_key IS NULL AND phone_key IS NULL AND external_id IS NULL AND name IS NOT NULL")
        raw.execute("CREATE INDEX temp.ix_import_keyless ON import_keyless (k, id)")
        raw.execute("UPDATE temp.import_stage SET target = (SELECT min(id) FROM temp.import_keyless k "
                    "WHERE k.k = import_stage.name_key) WHERE root IS NULL AND target IS NULL AND name_key IS NOT NULL")
        raw.execute("DROP TABLE temp.import_keyless")

    def assign_ids(self) -> NewIds:
        """Ids for the new leads, consecutive and above every id an earlier run used (undo works on ranges)."""
        raw = self.raw
        first_id = raw.execute(_FIRST_FREE_ID).fetchone()[0]
        creatable = "root IS NULL AND target IS NULL"
        self._seq_offset, self._id_shift = None, 0
        others = [seq for (seq,) in raw.execute(
            f"SELECT seq FROM temp.import_stage WHERE NOT ({creatable}) ORDER BY seq LIMIT 20001")]
        if not others:
            # Every row makes a new lead: its id is its position, so no stage row is rewritten (that
            # would be a second pass over the whole stage while the write lock is held).
            self._seq_offset = int(first_id) - 1
            return NewIds(first_id, expr=f"(s.seq + {int(first_id) - 1})", where="1")
        if len(others) <= 20_000:
            # The rows between two rows that create nothing get ids by plain arithmetic on seq.
            last = raw.execute("SELECT coalesce(max(seq), 0) FROM temp.import_stage").fetchone()[0]
            previous = 0
            for k, seq in enumerate(others + [last + 1]):
                if seq - 1 >= previous + 1:
                    raw.execute("UPDATE temp.import_stage SET new_id = seq + ? WHERE seq BETWEEN ? AND ?",
                                (first_id - 1 - k, previous + 1, seq - 1))
                previous = seq
        else:
            raw.execute(f"""UPDATE temp.import_stage SET new_id = ? - 1 + m.rn FROM (
                               SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM temp.import_stage
                               WHERE {creatable}) AS m
                           WHERE m.seq = import_stage.seq""", (first_id,))
        # Later rows with the same keys act on what their first row became (a match or a new lead).
        raw.execute("""UPDATE temp.import_stage SET target = (
                           SELECT coalesce(r.target, r.new_id) FROM temp.import_stage r WHERE r.seq = import_stage.root)
                       WHERE root IS NOT NULL""")
        return NewIds(first_id)

    def count_new(self, ids: NewIds) -> int:
        return self.raw.execute(f"SELECT count(*) FROM temp.import_stage s WHERE {ids.where}").fetchone()[0]

    def new_id_range(self, ids: NewIds) -> tuple[int | None, int | None]:
        return self.raw.execute(f"SELECT min({ids.expr}), max({ids.expr}) FROM temp.import_stage s "
                                f"WHERE {ids.where}").fetchone()

    def insert_leads(self, now: str, created: int, ids: NewIds) -> None:
        """The new leads, their first status changes and tags; indexes rebuilt when that is faster."""
        raw = self.raw
        existing = raw.execute("SELECT count(*) FROM lead").fetchone()[0]
        indexes: list[tuple[str, str]] = []
        if created >= _REBUILD_INDEXES_FROM and created > existing:
            # Filling a mostly empty table: building each index once from sorted data is about twice
            # as fast as updating every index row by row. Same transaction, same index definitions
            # (whatever migrations created), so a crash still leaves the database as it was.
            indexes = raw.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                  "AND tbl_name IN ('lead', 'status_change', 'lead_tag')").fetchall()
            for name, _ in indexes:
                raw.execute(f'DROP INDEX main."{name}"')
        self._insert_rows(now, ids)
        if indexes:
            self._rebuild(indexes)

    def _rebuild(self, indexes: list[tuple[str, str]]) -> None:
        # The index builds are most of the write lock's time. SQLite sorts each index in pieces the
        # size of the page cache: pieces of 4 MB (they fit the CPU caches), sorted by two helper
        # threads and then merged, build the indexes of a 1,000,000-row import in 6.3 s instead of
        # 9.8 s with the 64 MB cache of the rest of the run (8 MB: 7.0 s), and with less memory.
        raw = self.raw
        cache_size = raw.execute("PRAGMA main.cache_size").fetchone()[0]
        raw.execute("PRAGMA main.cache_size = -4096")
        raw.execute("PRAGMA threads = 2")
        try:
            for _, sql in indexes:
                raw.execute(sql)
        finally:
            raw.execute("PRAGMA threads = 0")
            raw.execute(f"PRAGMA main.cache_size = {int(cache_size)}")

    def _insert_rows(self, now: str, ids: NewIds) -> None:
        raw = self.raw
        new_id, where = ids.expr, ids.where
        select = ", ".join(
            {"id": new_id, "created_at": "coalesce(created_at, :now)", "updated_at": "coalesce(updated_at, :now)",
             "converted_at": "CASE WHEN status = 'converted' THEN converted_at END"}.get(c, c)
            for c in _LEAD_INSERT_COLUMNS)
        # new_id grows with seq, the stage's rowid, so a plain scan is already in id order (no sort).
        raw.execute(f"INSERT INTO lead ({', '.join(_LEAD_INSERT_COLUMNS)}) SELECT {select} "
                    f"FROM temp.import_stage s WHERE {where}", {"now": now})
        # Every lead starts with its creation entry, as `add` writes it; a lead imported past `new`
        # also gets the move to its status, dated by the file where it can be (a converted lead
        # whose file does not say when keeps converted_at unknown: the import time is no answer).
        raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                    f"SELECT {new_id}, NULL, 'new', coalesce(created_at, :now), 'imported' FROM temp.import_stage s "
                    f"WHERE {where}", {"now": now})
        raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) "
                    f"SELECT {new_id}, 'new', status, coalesce(status_at, created_at, :now), "
                    "coalesce(status_reason, 'imported') "
                    f"FROM temp.import_stage s WHERE {where} AND status <> 'new'", {"now": now})
        raw.execute(f"INSERT OR IGNORE INTO lead_tag (lead_id, tag) SELECT {new_id}, j.value "
                    f"FROM temp.import_stage s, json_each(s.tags) j WHERE {where} AND s.tags IS NOT NULL")

    def insert_activities(self, run_id: int, now: str, ids: NewIds) -> None:
        """The new leads' next and last activity dates as activities of the run (one INSERT ... SELECT each)."""
        for sql in activity_inserts(ids, "temp.import_stage", ":now", ":run"):
            self.raw.execute(sql, {"now": now, "run": run_id})

    # ------------------------------------------------------------ rows that act on existing leads

    def matched_rows(self, record: Sequence[str]) -> Iterator[dict[str, Any]]:
        """The staged rows with a target lead (`target` plus the record), by target then row order."""
        cols = ("target", *record)
        cur = self.raw.cursor()
        cur.execute(f"SELECT {', '.join(cols)} FROM temp.import_stage WHERE target IS NOT NULL ORDER BY target, seq")
        while chunk := cur.fetchmany(2000):
            for values in chunk:
                yield dict(zip(cols, values, strict=True))

    def lead_columns(self) -> list[str]:
        return [r[1] for r in self.raw.execute("PRAGMA main.table_info(lead)")]

    def read_lead(self, columns: Sequence[str], lead_id: int) -> dict[str, Any] | None:
        row = self.raw.execute(f"SELECT {', '.join(columns)} FROM lead WHERE id = ?", (lead_id,)).fetchone()
        return None if row is None else dict(zip(columns, row, strict=True))

    def lead_tags(self, lead_id: int) -> set[str]:
        return {t for (t,) in self.raw.execute("SELECT tag FROM lead_tag WHERE lead_id = ?", (lead_id,))}

    def update_lead(self, lead_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.raw.execute(f"UPDATE lead SET {sets} WHERE id = ?", (*values.values(), lead_id))

    def add_status_change(self, lead_id: int, from_status: str, to_status: str, at: str, reason: str) -> int:
        return self.raw.execute(
            "INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)",
            (lead_id, from_status, to_status, at, reason)).lastrowid or 0

    def add_tags(self, lead_id: int, tags: Sequence[str]) -> None:
        self.raw.executemany("INSERT OR IGNORE INTO lead_tag (lead_id, tag) VALUES (?, ?)",
                             [(lead_id, t) for t in tags])

    def log_change(self, run_id: int | None, lead_id: int, before: dict[str, Any], tags_added: Sequence[str],
                   history_ids: Sequence[int]) -> None:
        """What a run changed on an existing lead, for `import undo`."""
        self.raw.execute("INSERT INTO import_change (run_id, lead_id, before, tags_added, history_ids) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (run_id, lead_id, json.dumps(before, ensure_ascii=False),
                          json.dumps(list(tags_added), ensure_ascii=False), json.dumps(list(history_ids))))

    # ------------------------------------------------------------ a large import: batches

    def batched(self, staged: int) -> bool:
        """Whether a run of `staged` rows commits its new leads in batches, each its own short
        transaction (`ingest.write` then uses the methods below), rather than in one."""
        forced = _forced_batch_rows()
        existing = self.raw.execute("SELECT coalesce(max(id), 0) FROM lead").fetchone()[0]
        # Into a table smaller than the import, the indexes are dropped first and built again after
        # the batches, each in its own transaction; into a larger one they are updated in place. One
        # index build cannot be split: over _DROP_UP_TO leads it would hold the lock for seconds.
        self._without_indexes = staged > existing and existing + staged <= _DROP_UP_TO
        if forced:
            return staged > forced
        if staged < _BATCH_FROM:
            return False  # one short transaction
        return existing >= _BATCH_INTO or existing + staged > _ONE_UP_TO

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads the database (no write lock) and keeps what it wrote to the
        stage (a temp table): the matching of a batched run, while other commands write."""
        self.conn.execution_options(leadcli_begin="DEFERRED")
        with session_in_transaction(self.conn, keep=True) as s:
            yield s
        if self._seq_offset is None:
            # Batches read the stage by id range.
            self.raw.execute("CREATE INDEX IF NOT EXISTS temp.ix_import_stage_new_id ON import_stage (new_id)")

    def running(self) -> AbstractContextManager[None]:
        """Held while a batched run is in progress: how a later command tells an abandoned run."""
        return sqlite_runs.running(self.path)

    def reserve_ids(self, ids: NewIds) -> NewIds:
        """In the run's first write transaction: `ids` moved above every id used now (leads added
        since the rows were matched took the next ids). The run's leads keep consecutive ids."""
        first = self.raw.execute(_FIRST_FREE_ID).fetchone()[0]
        delta = int(first) - ids.first
        if delta == 0:
            return ids
        # Later rows of a person the run creates act on that new lead: their target moves too.
        self.raw.execute("UPDATE temp.import_stage SET target = target + ? WHERE root IS NOT NULL AND target >= ?",
                         (delta, ids.first))
        if self._seq_offset is not None:
            self._seq_offset += delta
            return NewIds(first, expr=f"(s.seq + {self._seq_offset})", where=ids.where)
        self._id_shift += delta
        return NewIds(first, expr=f"(s.new_id + {self._id_shift})", where=ids.where)

    def begin_batches(self, run_id: int) -> None:
        """In the run's first transaction: the indexes dropped when the run builds them after its
        batches, their definitions kept (`sqlite_runs`) so that a rollback of the run builds them too."""
        if not self._without_indexes:
            return
        indexes = self.raw.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                   "AND sql NOT LIKE 'CREATE UNIQUE%' "
                                   "AND tbl_name IN ('lead', 'status_change', 'lead_tag')").fetchall()
        self._dropped = [sql for _, sql in indexes]
        sqlite_runs.keep_indexes(self.raw, run_id, self._dropped)
        for name, _ in indexes:
            self.raw.execute(f'DROP INDEX main."{name}"')

    def end_batches(self, run_id: int) -> None:
        """After the last batch: the dropped indexes built again, each in its own transaction."""
        if self._dropped:
            self._pause()
            sqlite_runs.build_indexes(self.raw, run_id, self._dropped)
            self._dropped = []

    def batches(self, count: int) -> Iterator[tuple[int, int]]:
        """Positions (0-based, inclusive) of the run's `count` new leads, batch by batch, from the
        last down: a lead added meanwhile takes the id after the highest written, never one of the
        run's. Each batch is sized to take about _BATCH_SECONDS from the time the last one took;
        after each, a pause lets a waiting writer in (see _pause)."""
        forced = _forced_batch_rows()
        size = forced or _FIRST_BATCH
        high = count - 1
        while high >= 0:
            low = max(0, high - size + 1)
            started = time.perf_counter()
            yield low, high
            took = time.perf_counter() - started
            high = low - 1
            if not forced:
                size = max(_MIN_BATCH, min(int(size * _BATCH_SECONDS / max(took, 0.001)), size * 2))
            if high >= 0:
                self._pause()

    def _pause(self) -> None:
        # SQLite's busy handler sleeps up to 100 ms between tries: a lock released and taken again
        # at once is never seen free by a waiting `add`. The pause checkpoints this batch's pages
        # (so no later commit inherits a long checkpoint) and lasts at least a full sleep. A
        # second checkpoint just before the next batch folds in what others wrote meanwhile: a
        # writer that starts on a fully checkpointed WAL rewinds it, so it does not grow by every
        # batch (gigabytes over a large run).
        started = time.perf_counter()
        self.raw.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
        self._truncate_long_wal()
        time.sleep(max(0.0, sqlite_runs.PAUSE - (time.perf_counter() - started)))
        self.raw.execute("PRAGMA main.wal_checkpoint(PASSIVE)")

    def _truncate_long_wal(self) -> None:
        """Readers that never pause (a dashboard refreshing reports) keep the WAL from rewinding, and every
        batch would add its pages to it (tens of GB over a million leads into a million). Past
        _WAL_TRUNCATE_FROM bytes, wait up to a second for the readers of older snapshots and truncate it;
        writers wait that second at most, and if the readers are still there the next pause tries again."""
        try:
            size = os.path.getsize(f"{self.path}-wal")
        except OSError:
            return
        if size < _WAL_TRUNCATE_FROM:
            return
        # Truncating first copies what the checkpoints could not yet (the frames readers of older snapshots
        # still see), holding other writers meanwhile: only when that is little, so they wait a second at most.
        _, frames, copied = self.raw.execute("PRAGMA main.wal_checkpoint(PASSIVE)").fetchone()
        if frames - copied > _WAL_TRUNCATE_PENDING:
            return
        self.raw.execute(f"PRAGMA busy_timeout = {_WAL_TRUNCATE_WAIT_MS}")
        try:
            self.raw.execute("PRAGMA main.wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            self.raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def insert_batch(self, now: str, run_id: int, ids: NewIds, low: int, high: int) -> tuple[int, int]:
        """The new leads at positions low..high of the run (ids `ids.first + position`), with their
        history, tags and activities, in the caller's transaction; their id range."""
        key, shift = ("s.seq", self._seq_offset) if self._seq_offset is not None else ("s.new_id", self._id_shift)
        first, last = ids.first + low, ids.first + high
        part = NewIds(first, expr=ids.expr, where=f"{ids.where} AND {key} BETWEEN {first - shift} AND {last - shift}")
        self._insert_rows(now, part)
        self.insert_activities(run_id, now, part)
        return first, last

    def checkpoint(self) -> None:
        """What SQLite's automatic checkpoint would do inside the commit, done after it, so an
        import's summary can tell it apart from the time the write lock was held."""
        self.raw.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
