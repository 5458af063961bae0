"""The database file: location, pragmas, permissions, migrations and version checks."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from leadcli import store
from leadcli.store.migrations import LATEST, MIGRATIONS

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only

FIXTURES = Path(__file__).parent / "fixtures"


def test_db_path_precedence(cli, tmp_path, monkeypatch):
    assert cli.ok("db", "path").stdout.strip() == str(tmp_path / "leads.db")
    assert cli.ok("--db", str(tmp_path / "x.db"), "db", "path").stdout.strip() == str(tmp_path / "x.db")
    monkeypatch.delenv("LEADCLI_DB")
    assert cli.ok("db", "path").stdout.strip() == str(tmp_path / "default" / "leads.db")


def test_new_database_is_private_and_its_folder_created(cli, tmp_path):
    target = tmp_path / "deep" / "er" / "crm.db"
    cli.ok("--db", str(target), "add", "Ana")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    wal = target.with_name("crm.db-wal")
    if wal.exists():
        assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0


def test_pragmas_wal_busy_timeout_foreign_keys(isolated_db):
    with store.session() as s:
        raw = store.raw_connection(s)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_session_rolls_back_everything_on_error(isolated_db):
    from leadcli import leads

    with pytest.raises(RuntimeError):
        with store.session(write=True) as s:
            leads.add_lead(s, leads.LeadInput(name="Ana"))
            raise RuntimeError("boom")
    with store.session() as s:
        assert leads.list_leads(s, leads.LeadFilter()) == []


def test_migrations_are_recorded_with_user_version(isolated_db):
    store.migrate()
    con = sqlite3.connect(isolated_db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    names = [r[0] for r in con.execute("SELECT name FROM schema_migration ORDER BY version")]
    assert names == [name for _, name, _ in MIGRATIONS]
    assert store.migrate() == []


def test_cli_migrate_reports_state(cli):
    assert "applied 1 migration(s): m001_foundation" in cli.ok("db", "migrate").stderr or LATEST > 1
    assert "up to date" in cli.ok("db", "migrate").stderr


def test_newer_database_is_refused_and_left_untouched(cli, isolated_db):
    con = sqlite3.connect(isolated_db)
    con.execute(f"PRAGMA user_version = {LATEST + 5}")
    con.commit()
    con.close()
    before = isolated_db.read_bytes()
    result = cli("list")
    assert result.exit_code == 1
    assert "newer than this leadcli" in result.stderr and "hint:" in result.stderr
    assert isolated_db.read_bytes() == before


def test_not_a_database_is_a_clear_error(cli, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = cli("--db", str(junk), "list")
    assert result.exit_code == 1
    assert "not a readable leadcli database" in result.stderr
    assert "Traceback" not in result.stderr


def test_unsupported_url_scheme(cli):
    result = cli("--db", "mysql://u@h/db", "list")
    assert result.exit_code == 1 and "not supported" in result.stderr


def test_an_unreachable_server_is_an_error_with_a_hint(cli):
    pytest.importorskip("psycopg")
    result = cli("--db", "postgresql+psycopg://u:secret@/db?host=/nonexistent-leadcli-socket", "list")
    assert result.exit_code == 1 and "cannot reach the PostgreSQL database" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_without_the_driver_a_url_says_which_extra_to_install(cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    store.dispose_all()
    result = cli("--db", "postgresql://u@h/db", "list")
    assert result.exit_code == 1 and "pip install 'leadcli[postgres]'" in result.stderr


def test_sqlmodel_tables_match_the_migrated_schema(isolated_db):
    from sqlmodel import SQLModel

    import leadcli.models

    leadcli.models.load_all()

    store.migrate()
    con = sqlite3.connect(isolated_db)
    for table in SQLModel.metadata.sorted_tables:
        columns = {row[1] for row in con.execute(f"PRAGMA table_info({table.name})")}
        assert columns, f"{table.name} missing from migrations"
        assert {c.name for c in table.columns} <= columns, table.name


def test_v1_fixture_upgrades_without_loss(tmp_path):
    """A database frozen at schema v1 (tests/fixtures/schema_v1.sql) opens, upgrades and keeps its rows."""
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / "schema_v1.sql").read_text())
    con.close()
    before = sqlite3.connect(path).execute("SELECT id, name, email, status FROM lead ORDER BY id").fetchall()
    store.migrate(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert con.execute("SELECT id, name, email, status FROM lead ORDER BY id").fetchall() == before
    assert con.execute("SELECT count(*) FROM status_change").fetchone()[0] >= len(before)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
