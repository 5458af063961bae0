"""A PostgreSQL database written by an earlier schema version upgrades with nothing lost (the SQLite side:
tests/test_upgrades.py and its frozen files). The version-11 database is written by the version-11
migrations with rows as that version's commands left them, including a tag in two spellings, which
version 12 makes one per lead.

Needs a PostgreSQL server (LEADCLI_TEST_PG_URL, or one started from the PostgreSQL binaries here);
skips, saying why, when none can be had.
"""

from __future__ import annotations

import json

import dbshim
import pytest

from leadcli import store

T = "2025-03-01T09:00:00Z"


@pytest.fixture
def v11_database(pg_databases):
    name = f"{pg_databases.prefix}_v11"
    url = pg_databases.create(name)
    yield url
    store.dispose_all()
    pg_databases.drop(name)


def test_version_11_upgrades_to_12_with_nothing_lost(cli, v11_database):
    url = v11_database
    assert store.migrate(url, upto=11)[-1] == "m011_merges"
    store.dispose_all()
    with dbshim.connect(url) as con:
        con.execute("INSERT INTO lead (id, name, owner, source, status, fields, created_at, updated_at) "
                    "VALUES (1, 'Ana', 'maria', 'web', 'new', '{\"Industry\": \"Retail\"}', ?, ?)", (T, T))
        con.executemany("INSERT INTO lead_tag (lead_id, tag) VALUES (1, ?)", [("VIP",), ("vip",), ("b2b",)])
        con.execute("INSERT INTO activity (lead_id, type, at, done_at, owner, created_at) "
                    "VALUES (1, 'call', ?, ?, 'maria', ?)", (T, T, T))
        con.execute("INSERT INTO import_run (file_name, started_at, finished_at, options) VALUES ('a.csv', ?, ?, '{}')",
                    (T, T))
    assert store.migrate(url) == ["m012_who_did_it"]
    with dbshim.connect(url) as con:
        assert con.execute("SELECT name, owner, created_by FROM lead").fetchall() == [("Ana", "maria", None)]
        assert con.execute("SELECT owner, created_by FROM activity").fetchall() == [("maria", None)]
        assert con.execute("SELECT file_name, by FROM import_run").fetchall() == [("a.csv", None)]
        assert sorted(t for (t,) in con.execute("SELECT tag FROM lead_tag")) == ["VIP", "b2b"]
        assert con.execute("SELECT max(version) FROM schema_migration").fetchone()[0] == 12
    card = json.loads(cli.ok("--db", url, "-f", "json", "show", "1").stdout)
    assert card["fields"] == {"Industry": "Retail"} and card["created_by"] is None
    # One spelling per lead from now on, whichever path adds it.
    cli.ok("--db", url, "edit", "1", "--tag", "Vip", "--tag", "B2B")
    assert sorted(json.loads(cli.ok("--db", url, "-f", "json", "show", "1").stdout)["tags"]) == ["VIP", "b2b"]
