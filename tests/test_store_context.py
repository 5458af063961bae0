"""The database a command uses comes from its own --db (no process-wide setting), and text filters
match in any case through lower(), read from an index."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from leadcli import store
from leadcli.models import Lead, table_of
from leadcli.query import LeadFilter, order_by

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.csv"


def test_db_option_applies_to_that_command_only(cli, tmp_path, isolated_db):
    other = tmp_path / "other.db"
    cli.ok("--db", str(other), "-q", "add", "Elsewhere", "--email", "e@x.io")
    assert json.loads(cli.ok("-f", "json", "list").stdout) == []
    assert [r["name"] for r in json.loads(cli.ok("--db", str(other), "-f", "json", "list").stdout)] == ["Elsewhere"]
    assert cli.ok("--db", str(other), "db", "path").stdout.strip() == str(other)
    assert cli.ok("db", "path").stdout.strip() == str(isolated_db)


def test_import_writes_to_the_db_option(cli, tmp_path, isolated_db):
    other = tmp_path / "imported.db"
    out = json.loads(cli.ok("--db", str(other), "import", str(EXAMPLE), "--json").stdout)
    assert out["created"] > 0
    assert len(json.loads(cli.ok("--db", str(other), "-f", "json", "list", "--limit", "0").stdout)) > 0
    assert json.loads(cli.ok("-f", "json", "list").stdout) == []


def test_a_bad_db_url_fails_only_the_commands_that_open_it(cli):
    assert cli.ok("--db", "mysql://x/y", "import", "--help").stdout
    failed = cli("--db", "mysql://x/y", "list")
    assert failed.exit_code == 1 and "not supported" in failed.stderr and "Traceback" not in failed.stderr


def test_text_filters_match_in_any_case(cli):
    cli.ok("-q", "add", "Ana", "--source", "Web", "--owner", "Maria", "--tag", "VIP", "--tag", "vip")
    cli.ok("-q", "add", "Bo", "--source", "referral", "--owner", "li")
    for option, value in (("--source", "WEB"), ("--owner", "maria"), ("--tag", "Vip")):
        names = [r["name"] for r in json.loads(cli.ok("-f", "json", "list", option, value).stdout)]
        assert names == ["Ana"], option
    shown = json.loads(cli.ok("-f", "json", "show", "1").stdout)
    assert shown["tags"] == ["VIP"]  # one tag whatever its case; the first spelling is kept
    cli.ok("edit", "1", "--tag", "vip")
    assert json.loads(cli.ok("-f", "json", "show", "1").stdout)["tags"] == ["VIP"]


def test_sorting_by_text_ignores_case(cli):
    for name, source in (("A", "beta"), ("B", "Alpha"), ("C", "alpha2")):
        cli.ok("-q", "add", name, "--source", source)
    rows = json.loads(cli.ok("-f", "json", "list", "--sort", "source").stdout)
    assert [r["source"] for r in rows] == ["Alpha", "alpha2", "beta"]


@pytest.mark.sqlite_only
def test_source_and_owner_filters_read_an_index(isolated_db):
    from sqlalchemy import select
    from sqlalchemy.dialects import sqlite

    store.migrate(isolated_db)
    con = sqlite3.connect(isolated_db)
    for flt, index in ((LeadFilter(source="Web"), "ix_lead_source_lower"),
                       (LeadFilter(owner="Ana"), "ix_lead_owner_lower")):
        stmt = select(table_of(Lead).c.id).where(*flt.clauses()).order_by(*order_by(None, None)).limit(20)
        sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + sql))
        assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
    con.close()
