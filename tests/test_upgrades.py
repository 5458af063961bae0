"""Every earlier schema version upgrades to the current one with nothing lost.

Each `tests/fixtures/schema_vN.sql` is a database frozen as version N wrote it. A new migration
needs a new fixture of the version before it (tests/fixtures/make_fixtures.py), which the first test
insists on.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from leadcli import store
from leadcli.store.migrations import LATEST, MIGRATIONS

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only

FIXTURES = Path(__file__).parent / "fixtures"
# Versions need not be consecutive (two branches may each add one); every released one is covered.
OLD_VERSIONS = [v for v, _, _ in MIGRATIONS if v < LATEST]


def test_a_fixture_exists_for_every_earlier_version():
    missing = [v for v in OLD_VERSIONS if not (FIXTURES / f"schema_v{v}.sql").exists()]
    assert not missing, f"freeze them with: python tests/fixtures/make_fixtures.py N  (missing {missing})"


def _load(version: int, path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / f"schema_v{version}.sql").read_text())
    con.close()


def _snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = {}
    for table in tables:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        out[table] = (columns, rows)
    con.close()
    return out


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_fixture_upgrades_without_loss(version, tmp_path, cli):
    path = tmp_path / f"v{version}.db"
    _load(version, path)
    before = _snapshot(path)
    assert sum(len(rows) for _, rows in before.values()) > 0
    applied = store.migrate(path)
    assert len(applied) == sum(1 for v, _, _ in MIGRATIONS if v > version)

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    for table, (columns, rows) in before.items():
        if table == "schema_migration":
            continue
        kept = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        assert kept == rows, table
    con.close()

    # The upgraded database works end to end.
    leads = json.loads(cli.ok("--db", str(path), "-f", "json", "list", "--archived").stdout)
    assert {lead["id"] for lead in leads} == {row[0] for row in before["lead"][1]}
    card = json.loads(cli.ok("--db", str(path), "-f", "json", "show", "1").stdout)
    assert card["email"] == "ana@acme.io" and card["fields"]["Industry"] == "Retail"
    assert card["history"] and card["history"][-1]["to"] == card["status"]
    report = json.loads(cli.ok("--db", str(path), "-f", "json", "report", "conversion", "--all-time").stdout)
    assert sum(row["total"] for row in report) == len(before["lead"][1])
    added = cli.ok("--db", str(path), "-q", "add", "New Person", "--email", "new@person.io").stdout.strip()
    if "score_model" in before:
        model = json.loads(cli.ok("--db", str(path), "-f", "json", "score", "model").stdout)
        score = json.loads(cli.ok("--db", str(path), "-f", "json", "show", added).stdout)["score"]
        # An old model still scores; one the newer trust check refuses scores nothing, and says so.
        assert (score is not None) == model.get("trusted", True)


def test_upgrade_is_idempotent_and_a_newer_program_is_required_for_newer_files(tmp_path, cli):
    path = tmp_path / "v1.db"
    _load(1, path)
    store.migrate(path)
    assert store.migrate(path) == []
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.commit()
    con.close()
    result = cli("--db", str(path), "list")
    assert result.exit_code == 1 and "newer than this leadcli" in result.stderr
