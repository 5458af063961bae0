"""On PostgreSQL a large import into an empty lead table drops the plain indexes and builds them again after
the insert; into a table with leads (or while another user holds the table) they are updated in place.
Either way the data and the schema come out the same.

Needs a PostgreSQL server: skipped on the SQLite pass (SQLite's own choice is tested in test_hostile_lock).
"""

from __future__ import annotations

import dbshim
import pytest

from leadcli.store import postgres_bulk

INDEXES = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
           "AND tablename IN ('lead', 'status_change', 'lead_tag') ORDER BY indexname")


@pytest.fixture
def pg_db(db_backend, isolated_db, monkeypatch):
    if db_backend != "postgres":
        pytest.skip("a PostgreSQL test (LEADCLI_TEST_DB=postgres)")
    monkeypatch.setattr(postgres_bulk, "_REBUILD_FROM", 5)
    return str(isolated_db)


def _csv(tmp_path, n: int, start: int = 0):
    path = tmp_path / f"leads{start}.csv"
    rows = ["name,email,source,status,tags"] + [
        f"Person {i},p{i}@example.com,{'Web' if i % 2 else 'Fair'},{'Qualified' if i % 3 else 'New'},vip"
        for i in range(start, start + n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _watch_drops(monkeypatch) -> list:
    """The indexes the import drops (filled in as it runs)."""
    dropped: list = []
    real = postgres_bulk.PgBulkWriter._drop_indexes_if_empty
    monkeypatch.setattr(postgres_bulk.PgBulkWriter, "_drop_indexes_if_empty",
                        lambda self, created: dropped.extend(real(self, created)) or dropped)
    return dropped


def _state(url: str):
    with dbshim.connect(url) as con:
        indexes = con.execute(INDEXES).fetchall()
        leads = con.execute("SELECT count(*), count(DISTINCT email) FROM lead").fetchone()
        history = con.execute("SELECT count(*) FROM status_change").fetchone()[0]
        tags = con.execute("SELECT count(*) FROM lead_tag").fetchone()[0]
    return indexes, tuple(leads), history, tags


def test_rebuild_into_an_empty_table_keeps_every_index_and_row(cli, pg_db, tmp_path, monkeypatch):
    before, *_ = _state(pg_db)
    dropped = _watch_drops(monkeypatch)
    cli.ok("import", str(_csv(tmp_path, 40)))
    assert dropped, "an empty lead table: the plain indexes are dropped for the insert"
    indexes, leads, history, tags = _state(pg_db)
    assert indexes == before
    assert leads == (40, 40) and tags == 40
    assert history == 40 + sum(1 for i in range(40) if i % 3)


def test_into_a_table_with_leads_indexes_stay(cli, pg_db, tmp_path, monkeypatch):
    cli.ok("add", "Someone", "--email", "someone@example.com")
    before, *_ = _state(pg_db)
    dropped = _watch_drops(monkeypatch)
    cli.ok("import", str(_csv(tmp_path, 40)))
    indexes, leads, *_ = _state(pg_db)
    assert not dropped, "indexes dropped under other people's leads"
    assert indexes == before and leads == (41, 41)


def test_a_held_table_is_not_waited_for(cli, pg_db, tmp_path, monkeypatch):
    """Another user reading the empty table at that moment: the import updates the indexes in place."""
    before, *_ = _state(pg_db)
    holder = dbshim.connect(pg_db)
    holder.execute("SELECT count(*) FROM lead").fetchone()  # holds ACCESS SHARE until it ends
    dropped = _watch_drops(monkeypatch)
    try:
        cli.ok("import", str(_csv(tmp_path, 40)))
    finally:
        holder.close()
    indexes, leads, *_ = _state(pg_db)
    assert not dropped
    assert indexes == before and leads == (40, 40)
