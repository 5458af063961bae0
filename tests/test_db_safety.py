"""The database file's safety: backups, checks, permissions."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading

import pytest

from leadcli import store

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only


def _add_many(cli, n):
    for i in range(n):
        cli.ok("-q", "add", f"Lead {i}", "--email", f"l{i}@x.io")


def test_backup_is_a_private_consistent_copy(cli, tmp_path):
    _add_many(cli, 3)
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    result = cli.ok("db", "backup", str(target))
    assert "backed up" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    names = [r["name"] for r in json.loads(cli.ok("--db", str(target), "-f", "json", "list").stdout)]
    assert sorted(names) == ["Lead 0", "Lead 1", "Lead 2"]
    assert not (tmp_path / "backups" / "copy.db.part").exists()


def test_backup_refuses_to_overwrite_without_force(cli, tmp_path):
    _add_many(cli, 1)
    target = tmp_path / "copy.db"
    target.write_text("precious")
    result = cli("db", "backup", str(target))
    assert result.exit_code == 1 and "--force" in result.stderr
    assert target.read_text() == "precious"
    cli.ok("db", "backup", str(target), "--force")
    assert sqlite3.connect(target).execute("select count(*) from lead").fetchone()[0] == 1


def test_backup_while_another_connection_writes(isolated_db, tmp_path):
    from leadcli import leads

    with store.session(write=True) as s:
        for i in range(50):
            leads.add_lead(s, leads.LeadInput(name=f"L{i}"))
    stop = threading.Event()

    def writer():
        con = sqlite3.connect(isolated_db, timeout=15)
        i = 0
        while not stop.is_set():
            con.execute("INSERT INTO lead (name, status, fields, created_at, updated_at) "
                        "VALUES (?, 'new', '{}', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')", (f"W{i}",))
            con.commit()
            i += 1
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        for n in range(3):
            target = tmp_path / f"b{n}.db"
            store.backup(target)
            copies.append(target)
    finally:
        stop.set()
        thread.join()
    for target in copies:
        con = sqlite3.connect(target)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM lead").fetchone()[0] >= 50


def test_check_reports_healthy_database(cli):
    _add_many(cli, 2)
    rows = json.loads(cli.ok("-f", "json", "db", "check").stdout)
    assert {r["check"] for r in rows} == {"schema version", "integrity", "foreign keys", "file mode"}
    assert all(r["ok"] for r in rows)


def test_check_finds_a_readable_database_file(cli, isolated_db):
    _add_many(cli, 1)
    isolated_db.chmod(0o644)
    result = cli("-f", "json", "db", "check")
    assert result.exit_code == 1
    assert "file mode" in result.stderr
    isolated_db.chmod(0o600)


def test_check_finds_corruption(cli, isolated_db):
    from leadcli import leads

    with store.session(write=True) as s:
        for i in range(200):
            leads.add_lead(s, leads.LeadInput(name=f"Lead {i}", email=f"l{i}@x.io"))
    store.dispose_all()
    con = sqlite3.connect(isolated_db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_lead_email_key'").fetchone()[0]
    con.close()
    data = bytearray(isolated_db.read_bytes())
    # Scribble over an index's root page (its b-tree header and cell pointers); the file header stays valid.
    start = (root - 1) * page_size
    for i in range(start, start + 64):
        data[i] = 0x55
    isolated_db.write_bytes(bytes(data))
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "problems" in result.stderr or "not a readable" in result.stderr


def test_check_without_database(cli, tmp_path):
    result = cli("--db", str(tmp_path / "none.db"), "db", "check")
    assert result.exit_code == 1 and "no database" in result.stderr
