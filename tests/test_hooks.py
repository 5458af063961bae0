"""Hooks run after the transaction commits; a failing or hanging hook never undoes the command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leadcli import hooks, leads, store

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hooks" / "on-lead-created"


@pytest.fixture(autouse=True)
def hook_dir(tmp_path, monkeypatch):
    folder = tmp_path / "hooks"
    folder.mkdir()
    monkeypatch.setenv("LEADCLI_HOOKS", str(folder))
    for var in ("LEADCLI_NO_HOOKS", "LEADCLI_HOOK_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    yield folder


def _hook(folder: Path, event: str, body: str, mode: int = 0o755) -> Path:
    path = folder / event
    path.write_text(f"#!{sys.executable}\n" + body)
    path.chmod(mode)
    return path


# Reads the database the way a user's script would: its own connection, after the command.
COUNT_LEADS = """
import json, os, sqlite3, sys
event = json.load(sys.stdin)
con = sqlite3.connect(os.environ["LEADCLI_DB"])
n = con.execute("SELECT count(*) FROM lead WHERE id = ?", (event["lead_id"],)).fetchone()[0]
with open(os.environ["OUT"], "a") as out:
    out.write(f"{event['event']} {event['lead']['name']} seen={n}\\n")
"""


def _add(s, name="Ana Silva"):
    lead = leads.add_lead(s, leads.LeadInput(name=name, email=f"{name.split()[0].lower()}@acme.io"))
    return leads.lead_dict(lead)


@pytest.mark.sqlite_only
def test_a_hook_sees_the_committed_change(hook_dir, tmp_path, monkeypatch):
    out = tmp_path / "out.txt"
    monkeypatch.setenv("OUT", str(out))
    _hook(hook_dir, "on-lead-created", COUNT_LEADS)
    events = hooks.Batch()
    with store.session(write=True) as s:
        record = _add(s)
        events.add("on-lead-created", hooks.lead_created(record, via="add"))
        # Run inside the transaction, the same hook could not see the lead: why hooks wait.
        hooks.fire("on-lead-created", hooks.lead_created(record))
    assert events.fire() == []
    assert out.read_text().splitlines() == ["on-lead-created Ana Silva seen=0", "on-lead-created Ana Silva seen=1"]


def test_the_payload_is_one_json_object(hook_dir, tmp_path, monkeypatch, isolated_db):
    out = tmp_path / "payload.json"
    monkeypatch.setenv("OUT", str(out))
    _hook(hook_dir, "on-status-change", "import os, sys\nopen(os.environ['OUT'], 'w').write(sys.stdin.read())\n")
    assert hooks.fire("on-status-change", hooks.status_changed(4, "Bo", "new", "contacted"),
                      database=isolated_db)[0].ok
    payload = json.loads(out.read_text())
    assert payload["event"] == "on-status-change" and payload["database"] == str(isolated_db)
    assert payload["lead_id"] == 4 and payload["from"] == "new" and payload["to"] == "contacted"
    assert payload["at"].endswith("Z")


def test_a_failing_hook_is_a_warning_and_the_work_stays(hook_dir):
    _hook(hook_dir, "on-lead-created", "import sys\nprint('boom: chat is down', file=sys.stderr)\nsys.exit(3)\n")
    _hook(hook_dir, "on-import-finished", "raise RuntimeError('crashed hook')\n")
    events = hooks.Batch()
    with store.session(write=True) as s:
        record = _add(s)
        events.add("on-lead-created", hooks.lead_created(record))
        events.add("on-import-finished", hooks.import_finished({"created": 1}))
    warnings = events.fire()
    assert len(warnings) == 2
    assert "failed (exit 3): boom: chat is down" in warnings[0]
    assert "failed (exit 1): RuntimeError: crashed hook" in warnings[1]
    with store.session() as s:
        assert leads.get_lead(s, record["id"]).name == "Ana Silva"


def test_a_hook_that_is_not_executable_is_reported(hook_dir):
    _hook(hook_dir, "on-lead-created", "print('hi')\n", mode=0o644)
    (outcome,) = hooks.fire("on-lead-created", {"lead_id": 1})
    assert not outcome.ok and "not executable" in outcome.warning and "chmod +x" in outcome.warning


def test_a_hook_that_cannot_start_is_reported(hook_dir):
    path = hook_dir / "on-lead-created"
    path.write_bytes(b"\x7fELF not really a program")
    path.chmod(0o755)
    (outcome,) = hooks.fire("on-lead-created", {"lead_id": 1})
    assert not outcome.ok and "could not start" in outcome.warning


def test_a_hanging_hook_and_its_children_are_killed(hook_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("LEADCLI_HOOK_TIMEOUT", "1")
    pidfile = tmp_path / "child.pid"
    _hook(hook_dir, "on-lead-created", f"""
import subprocess, time
child = subprocess.Popen(["sleep", "60"])
open({str(pidfile)!r}, "w").write(str(child.pid))
time.sleep(60)
""")
    events = hooks.Batch()
    with store.session(write=True) as s:
        record = _add(s)
        events.add("on-lead-created", hooks.lead_created(record))
    started = time.monotonic()
    (warning,) = events.fire()
    assert time.monotonic() - started < 8
    assert "stopped after 1 s" in warning and "LEADCLI_HOOK_TIMEOUT" in warning
    child = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)
    with store.session() as s:
        assert leads.get_lead(s, record["id"]) is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its (dead) parent is a zombie: gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_nothing_fires_when_the_transaction_fails(hook_dir, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    _hook(hook_dir, "on-lead-created", f"open({str(marker)!r}, 'w').write('x')\n")
    events = hooks.Batch()
    with pytest.raises(RuntimeError), store.session(write=True) as s:
        events.add("on-lead-created", hooks.lead_created(_add(s)))
        raise RuntimeError("the command failed after adding")
    assert not marker.exists()
    with store.session() as s:
        assert leads.count_leads(s, leads.LeadFilter()) == 0


def test_no_hooks_option_and_env(cli, hook_dir, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    _hook(hook_dir, "on-lead-created", f"open({str(marker)!r}, 'w').write('x')\n")
    assert not hooks.Batch(enabled=False).enabled and not hooks.enabled(False)
    batch = hooks.Batch(enabled=False)
    batch.add("on-lead-created", {"lead_id": 1})
    assert batch.fire() == [] and not marker.exists()
    assert hooks.fire("on-lead-created", {"lead_id": 1}, enabled_=False) == [] and not marker.exists()
    assert hooks.enabled()
    monkeypatch.setenv("LEADCLI_NO_HOOKS", "1")
    assert hooks.fire("on-lead-created", {"lead_id": 1}) == [] and not marker.exists()
    monkeypatch.setenv("LEADCLI_NO_HOOKS", "0")
    assert hooks.fire("on-lead-created", {"lead_id": 1})[0].ok and marker.exists()


def test_hooks_dir_defaults_beside_the_default_database(monkeypatch):
    monkeypatch.delenv("LEADCLI_HOOKS")
    assert hooks.hooks_dir() == store.default_path().parent / "hooks"
    assert hooks.fire("on-activity-due", hooks.activity_due({"id": 1})) == []  # no hook there: nothing runs
    with pytest.raises(ValueError):
        hooks.fire("on-lunch", {})


@pytest.mark.skipif(shutil.which("python3") is None, reason="the example hook runs python3")
def test_example_chat_hook_posts_the_lead(tmp_path):
    """The example builds the chat message and calls curl (a stand-in here: nothing leaves the machine)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_curl = bin_dir / "curl"
    fake_curl.write_text(f"#!{sys.executable}\nimport sys\nopen({str(tmp_path / 'curl.args')!r}, 'w')"
                         ".write('\\n'.join(sys.argv[1:]))\n")
    fake_curl.chmod(0o755)
    event = {"event": "on-lead-created", "lead_id": 7,
             "lead": {"id": 7, "name": "Ana Silva", "company": "Acme", "email": "ana@acme.io", "source": "web"}}
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "LEADCLI_CHAT_WEBHOOK_URL": "https://chat.invalid/hook"}
    done = subprocess.run([str(EXAMPLE)], input=json.dumps(event), text=True, env=env, capture_output=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    args = (tmp_path / "curl.args").read_text().splitlines()
    assert args[-1] == "https://chat.invalid/hook"
    body = json.loads(args[args.index("--data") + 1])
    assert body["text"] == "New lead #7: Ana Silva (Acme, ana@acme.io) from web"
    unset = subprocess.run([str(EXAMPLE)], input=json.dumps(event), text=True, capture_output=True, timeout=30,
                           env={k: v for k, v in env.items() if k != "LEADCLI_CHAT_WEBHOOK_URL"})
    assert unset.returncode == 0 and "not set" in unset.stderr
