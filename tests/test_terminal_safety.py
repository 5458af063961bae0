"""Text from the database never reaches a terminal raw; outputs are written whole or not at all."""

from __future__ import annotations

import errno
import json
import os
import stat
import sys

import pytest

from leadcli import output

HOSTILE_NAME = "Eve\x1b]0;pwned\x07 \x1b[2J\u202eevil\u2066x"
HOSTILE_COMPANY = "Co\x9b31m\x08\x7f"


def _visible(text: str) -> None:
    for raw in ("\x1b", "\x07", "\x9b", "\x08", "\x7f", "\u202e", "\u2066"):
        assert raw not in text, repr(raw)


@pytest.mark.parametrize("text,shown", [
    ("\x1b]0;x\x07", "\\e]0;x\\x07"), ("a\u202eb", "a\\u202eb"), ("\u2066\u2069", "\\u2066\\u2069"),
    ("c1\x9b", "c1\\x9b"), ("tab\tand\nline", "tab\tand\nline"), ("plain é 😀", "plain é 😀"),
])
def test_safe_escapes_what_a_terminal_would_act_on(text, shown):
    assert output.safe(text) == shown


def test_tables_cards_messages_and_errors_escape_but_csv_json_keep_data(cli):
    lead_id = cli.ok("-q", "add", HOSTILE_NAME, "--company", HOSTILE_COMPANY, "--note", "n\x1b[31m",
                     "--field", "k=v\x1b[5m").stdout.strip()
    for args in (["-f", "table", "list"], ["-f", "table", "show", lead_id], ["-f", "markdown", "list"],
                 ["-f", "table", "report", "conversion", "--by", "company", "--all-time"]):
        result = cli.ok(*args)
        _visible(result.stdout + result.stderr)
    shown = cli.ok("-f", "table", "show", lead_id).stdout
    assert "\\e]0;pwned\\x07" in shown and "\\u202e" in shown
    edited = cli.ok("edit", lead_id, "--tag", "x")
    _visible(edited.stderr)
    assert "\\e]0;pwned" in edited.stderr
    record = json.loads(cli.ok("-f", "json", "show", lead_id).stdout)
    assert record["company"] == HOSTILE_COMPANY and record["fields"]["k"] == "v\x1b[5m"
    assert HOSTILE_COMPANY in cli.ok("-f", "csv", "list").stdout


def test_errors_escape_user_text(cli):
    result = cli("list", "--since", "\x1b]0;t\x07")
    assert result.exit_code == 2
    _visible(result.stderr)
    assert "error: " in result.stderr and ("\\e]0;t" in result.stderr or "\\x1b]0;t" in result.stderr)


def test_a_pty_screen_is_left_untouched(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "LEADCLI_DB": str(tmp_path / "p.db"), "COLUMNS": "100", "TERM": "xterm"}
    add = pexpect.spawn(sys.executable, ["-m", "leadcli", "-q", "add", HOSTILE_NAME, "--company", HOSTILE_COMPANY],
                        env=env, encoding="utf-8", dimensions=(30, 100))
    add.expect(pexpect.EOF)
    for args in (["list"], ["show", "1"]):
        child = pexpect.spawn(sys.executable, ["-m", "leadcli", *args], env=env, encoding="utf-8",
                              dimensions=(30, 100))
        child.expect(pexpect.EOF)
        screen = child.before
        assert "\x1b]0;" not in screen and "\x1b[2J" not in screen and "\u202e" not in screen
        assert "\\e]0;" in screen
        if args == ["show", "1"]:
            assert "\\e]0;pwned\\x07" in screen and "\\u202eevil" in screen


# ---------------------------------------------------------------- writing files


def test_export_refuses_an_existing_file_without_force(cli, tmp_path):
    cli.ok("-q", "add", "Ana", "--phone", "+1 831 555 0100")
    target = tmp_path / "out.csv"
    target.write_text("keep me")
    refused = cli("export", "--output", str(target))
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert target.read_text() == "keep me"
    cli.ok("export", "--output", str(target), "--force")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "'+18315550100" in target.read_text()
    cli.ok("export", "--output", str(target), "--force", "--raw")
    assert ",+18315550100," in target.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_export_over_a_symlink_replaces_the_link_not_its_target(cli, tmp_path):
    cli.ok("-q", "add", "Ana")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "link.csv").symlink_to(victim)
    cli.ok("export", "--output", str(tmp_path / "link.csv"), "--force")
    assert victim.read_text() == "precious"


def test_a_full_disk_leaves_no_truncated_file(cli, tmp_path, monkeypatch):
    cli.ok("-q", "add", "Ana")
    target = tmp_path / "out.csv"
    target.write_text("old complete export")

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = cli("export", "--output", str(target), "--force")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write") and "Traceback" not in result.stderr
    assert target.read_text() == "old complete export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "leads.db" and not p.name.startswith("leads.db"))\
        == ["out.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_and_closed_pipes_are_messages(tmp_path):
    import subprocess

    env = {**os.environ, "LEADCLI_DB": str(tmp_path / "p.db")}
    subprocess.run([sys.executable, "-m", "leadcli", "-q", "add", "Ana"], env=env, check=True, capture_output=True)
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "leadcli", "export"], env=env, stdout=full,
                             stderr=subprocess.PIPE, text=True)
    assert run.returncode == 1 and run.stderr.startswith("error: cannot write") and "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "leadcli", "export", "--output", "/dev/full"], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    subprocess.run([sys.executable, "-m", "leadcli", "-q", "add", "Bo", "--note", "x" * 100_000], env=env,
                   check=True, capture_output=True)
    reader = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sys.executable} -m leadcli export | head -c 1"],
                            env=env, capture_output=True, text=True)
    assert reader.returncode == 0, reader.stderr
    assert reader.stderr == "" or "Traceback" not in reader.stderr and "Exception" not in reader.stderr


def test_an_argument_that_is_not_utf8_is_a_usage_error(tmp_path):
    import subprocess

    env = {**os.environ, "LEADCLI_DB": str(tmp_path / "p.db")}
    run = subprocess.run([sys.executable, "-m", "leadcli", "add", b"Ana \x9b\xff"], env=env, capture_output=True)
    assert run.returncode == 2 and run.stderr.startswith(b"error: an argument is not valid UTF-8")
    assert b"Traceback" not in run.stderr and b"\x9b" not in run.stderr
