"""On PostgreSQL a command whose transaction the server cancels (serialization failure, deadlock) runs again
by itself: the user sees success and one effect, hooks fire once. Each conflict here is a real one: another
SERIALIZABLE transaction changes the same lead while the command waits for it.

Needs a PostgreSQL server: skipped on the SQLite pass (writers queue there, nothing to retry).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import dbshim
import pytest

from leadcli.store import postgres_session


@pytest.fixture
def pg_db(db_backend, isolated_db):
    if db_backend != "postgres":
        pytest.skip("a PostgreSQL test (LEADCLI_TEST_DB=postgres)")
    return str(isolated_db)


def _holder(url: str, lead_id: int):
    """A SERIALIZABLE transaction that has changed the lead and not committed yet."""
    con = dbshim.connect(url)
    con.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
    con.execute("UPDATE lead SET notes = 'changed meanwhile' WHERE id = ?", (lead_id,))
    return con


def _wait_until_blocked(url: str, timeout: float = 30.0) -> None:
    """Until a backend of this database waits for a row lock (the command, behind the holder)."""
    deadline = time.monotonic() + timeout
    with dbshim.connect(url) as probe:
        while time.monotonic() < deadline:
            probe.commit()
            waiting = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock'").fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the command never waited for the other transaction")


def _run_blocked(cli, url: str, lead_id: int, *args: str):
    """`leadcli ARGS` in a thread while another transaction holds the lead; that one commits first."""
    holder = _holder(url, lead_id)
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(result=cli(*args)))
    worker.start()
    try:
        _wait_until_blocked(url)
    finally:
        holder.commit()
        holder.close()
    worker.join(60)
    return out["result"]


def test_a_cancelled_transaction_runs_again_and_fires_its_hook_once(cli, pg_db, tmp_path, monkeypatch):
    hooks, seen = tmp_path / "hooks", tmp_path / "events.txt"
    hooks.mkdir()
    hook = hooks / "on-status-change"
    hook.write_text(f"#!{sys.executable}\nimport json, sys\nevent = json.load(sys.stdin)\n"
                    f"open({str(seen)!r}, 'a').write(event['to'] + '\\n')\n")
    hook.chmod(0o755)
    monkeypatch.setenv("LEADCLI_HOOKS", str(hooks))
    monkeypatch.delenv("LEADCLI_NO_HOOKS", raising=False)
    lead = int(cli.ok("-q", "add", "Ana", "--email", "ana@acme.io").stdout)
    result = _run_blocked(cli, pg_db, lead, "contact", str(lead))
    assert result.exit_code == 0, result.stderr
    assert "busy" not in result.stderr
    card = json.loads(cli.ok("-f", "json", "show", str(lead)).stdout)
    assert card["status"] == "contacted" and card["notes"] == "changed meanwhile"  # both writes kept
    assert [h["to"] for h in card["history"]] == ["new", "contacted"]  # the move made once
    assert seen.read_text().split() == ["contacted"]  # the hook fired once


def test_without_retries_the_same_conflict_is_shown_and_nothing_kept(cli, pg_db, monkeypatch):
    monkeypatch.setattr(postgres_session, "ATTEMPTS", 1)
    lead = int(cli.ok("-q", "add", "Bo", "--email", "bo@acme.io").stdout)
    result = _run_blocked(cli, pg_db, lead, "contact", str(lead))
    assert result.exit_code == 1 and "busy with other writers" in result.stderr
    assert "run the command again" in result.stderr
    assert json.loads(cli.ok("-f", "json", "show", str(lead)).stdout)["status"] == "new"


def test_a_lead_converted_twice_at_once_converts_once(cli, pg_db):
    lead = int(cli.ok("-q", "add", "Cy", "--email", "cy@acme.io", "--company", "Acme").stdout)
    cli.ok("qualify", str(lead))
    env_cmd = [sys.executable, "-m", "leadcli", "--db", pg_db, "--no-hooks", "-q", "convert", str(lead)]
    runs = [subprocess.Popen(env_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(120), p.stderr.read()) for p in runs]
    assert sorted(code for code, _ in results) in ([0, 0], [0, 1]), results
    assert not any("busy" in err or "Traceback" in err for _, err in results), results
    with dbshim.connect(pg_db) as con:
        assert con.execute("SELECT count(*) FROM deal WHERE lead_id = ?", (lead,)).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM status_change WHERE lead_id = ? AND to_status = 'converted'",
                           (lead,)).fetchone()[0] == 1


def test_two_adds_of_one_email_at_once_make_one_lead(cli, pg_db):
    """Each checks for the e-mail, finds none and inserts: the server lets only one of them commit."""
    import psycopg

    other = dbshim.connect(pg_db)
    other.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
    assert other.execute("SELECT count(*) FROM lead WHERE email_key = 'dee@acme.io'").fetchone()[0] == 0
    other.execute("INSERT INTO lead (name, email, email_key, status, fields, created_at, updated_at) "
                  "VALUES ('Dee', 'dee@acme.io', 'dee@acme.io', 'new', '{}', '2026', '2026')")
    cli.ok("-q", "add", "Dee", "--email", "dee@acme.io")  # commits first
    with pytest.raises(psycopg.errors.SerializationFailure):
        other.commit()
    other.close()
    again = cli("-q", "add", "Dee", "--email", "DEE@acme.io")  # as the cancelled one, run again, sees it
    assert again.exit_code == 1 and "already has the e-mail" in again.stderr
    with dbshim.connect(pg_db) as con:
        assert con.execute("SELECT count(*) FROM lead WHERE email_key = 'dee@acme.io'").fetchone()[0] == 1
