"""What a script sees: bad option values exit 2 with error:/hint: lines, prompts, dates, help text."""

from __future__ import annotations

import datetime as _dt
import json
import os
import signal
import sys

import pytest
import typer.main

from leadcli import validate
from leadcli.cli import build

PYTHON_WORDS = ("list[", "Input should be", "Value error", "<int", "<str", "<float", "Traceback", "pydantic",
                "{lead_id}", "{LEAD_ID}")
EDGE_NUMBERS = ["nan", "NaN", "inf", "-Infinity", "1e400", "99999999d", "99999999999999999999999",
                "-99999999999999999999999"]


def _leaves(command, path):
    subs = getattr(command, "commands", None)
    if isinstance(subs, dict):
        for name, sub in subs.items():
            yield from _leaves(sub, [*path, name])
    else:
        yield path, command


def _numeric_options():
    root = typer.main.get_command(build())
    found = []
    for path, command in _leaves(root, []):
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if annotation in (int, float) and param.param_type_name == "option":
                found.append((path, param.opts[0]))
    return found


NUMERIC = _numeric_options()
# Options that take numbers as text (amounts, durations, dates), parsed by leadcli itself.
TEXT_NUMBERS = [["add", "X", "--value"], ["edit", "1", "--value"], ["convert", "1", "--dry-run", "--deal-value"],
                ["log", "1", "call", "hi", "--duration"], ["list", "--since"], ["list", "--until"],
                ["report", "conversion", "--since"], ["report", "conversion", "--as-of"], ["export", "--since"],
                ["add", "X", "--created"]]


def _assert_usage(result, option):
    assert result.exit_code == 2, (option, result.exit_code, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "\nhint: " in result.stderr
    for words in PYTHON_WORDS:
        assert words not in result.stderr, (words, result.stderr)


def test_the_sweep_finds_the_numeric_options():
    assert len(NUMERIC) >= 8 and (["list"], "--limit") in NUMERIC


@pytest.mark.parametrize("path,option", NUMERIC, ids=[" ".join(p) + " " + o for p, o in NUMERIC])
def test_edge_numbers_in_every_numeric_option_are_usage_errors(cli, path, option):
    cli.ok("-q", "add", "Ana", "--value", "10")
    for value in EDGE_NUMBERS + ["abc"]:
        result = cli(*path, option, value)
        if value.startswith("9") and result.exit_code == 0:
            continue  # a large but valid count (--limit 999...): accepted
        _assert_usage(result, f"{option} {value}")


@pytest.mark.parametrize("args", TEXT_NUMBERS, ids=[" ".join(a) for a in TEXT_NUMBERS])
def test_edge_numbers_in_text_options_are_usage_errors(cli, args):
    cli.ok("-q", "add", "Ana", "--value", "10")
    for value in ["nan", "Infinity", "1e400", "99999999d", "notanumber"]:
        _assert_usage(cli(*args, value), f"{args} {value}")


@pytest.mark.parametrize("args", [["list", "--status", "nope"], ["show", "abc"], ["list", "--bogus"],
                                  ["--format", "xml", "list"], ["list", "--limit", "-1"],
                                  ["report", "conversion", "--date-field", "x"], ["add", "x", "--value", "abc"]])
def test_click_and_leadcli_usage_errors_look_the_same(cli, args):
    _assert_usage(cli(*args), args)


@pytest.mark.parametrize("value", ["nan", "1e400", "-3", "99999999999999999999"])
def test_spend_file_numbers_are_errors_not_tracebacks(cli, tmp_path, value):
    spend = tmp_path / "spend.csv"
    spend.write_text(f"source,spend\nweb,{value}\n")
    result = cli("report", "cost", "--spend", str(spend), "--all-time")
    assert result.exit_code == 1 and result.stderr.startswith("error: spend file line 2")


@pytest.mark.parametrize("rate", ["EUR=nan", "EUR=inf", "EUR=1e400", "EUR=-1"])
def test_rates_at_the_edges_are_usage_errors(cli, rate):
    _assert_usage(cli("report", "rates", "set", rate), rate)


def test_help_has_no_python_types_and_one_env_note(cli):
    for args in (["--help"], ["add", "--help"], ["list", "--help"], ["edit", "--help"], ["export", "--help"],
                 ["report", "conversion", "--help"], ["score", "run", "--help"]):
        text = cli.ok(*args, env={"COLUMNS": "200"}).stdout
        for words in PYTHON_WORDS:
            assert words not in text, (args, words)
    root = cli.ok("--help", env={"COLUMNS": "200"}).stdout
    assert root.count("LEADCLI_DB") == 1 and root.count("LEADCLI_FORMAT") == 1


def test_edit_help_describes_edit(cli):
    text = cli.ok("edit", "--help", env={"COLUMNS": "200"}).stdout
    assert "Change a lead" in text and "Add a lead" not in text
    assert "--name" in text and "--remove-tag" in text and "Add even if" not in text


# ---------------------------------------------------------------- add --created


def test_a_creation_date_in_the_future_needs_allow_future(cli):
    future = (_dt.date.today() + _dt.timedelta(days=400)).isoformat()
    refused = cli("add", "Ana", "--created", future)
    _assert_usage(refused, "--created")
    assert "--allow-future" in refused.stderr
    assert json.loads(cli.ok("-f", "json", "list").stdout) == []
    lead_id = cli.ok("-q", "add", "Ana", "--created", future, "--allow-future").stdout.strip()
    assert json.loads(cli.ok("-f", "json", "show", lead_id).stdout)["created_at"].startswith(future)
    cli.ok("add", "Bo", "--created", "2020-01-01")


# ---------------------------------------------------------------- --since / --until keywords


def _local(day):
    from leadcli import when

    return when.to_iso(when.local_day_start(_dt.datetime(day.year, day.month, day.day, 12, tzinfo=when.local_zone())))


@pytest.mark.parametrize("now,word,since,until", [
    ("2026-05-14T12:00:00Z", "today", "2026-05-14", "2026-05-14"),
    ("2026-05-14T12:00:00Z", "this-week", "2026-05-11", "2026-05-17"),
    ("2026-05-14T12:00:00Z", "this-month", "2026-05-01", "2026-05-31"),
    ("2026-05-14T12:00:00Z", "last-month", "2026-04-01", "2026-04-30"),
    ("2026-01-14T12:00:00Z", "last-month", "2025-12-01", "2025-12-31"),
    ("2026-05-14T12:00:00Z", "this-quarter", "2026-04-01", "2026-06-30"),
    ("2026-12-14T12:00:00Z", "this-quarter", "2026-10-01", "2026-12-31"),
    ("2026-05-14T12:00:00Z", "ytd", "2026-01-01", "2026-05-14"),
    ("2026-05-14T12:00:00Z", "30d", "2026-04-14", "2026-04-14"),
])
def test_period_keywords(monkeypatch, now, word, since, until):
    monkeypatch.setenv("LEADCLI_NOW", now)
    monkeypatch.setenv("TZ", "UTC")
    start = _dt.date.fromisoformat(since)
    end = _dt.date.fromisoformat(until) + _dt.timedelta(days=1)
    assert validate.user_date(word, "since") == _local(start)
    last = _dt.datetime.fromisoformat(_local(end).replace("Z", "+00:00")) - _dt.timedelta(seconds=1)
    assert validate.user_date(word, "until", end_of_day=True) == last.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("word", ["today", "this-week", "this-month", "last-month", "this-quarter", "ytd", "30d"])
@pytest.mark.parametrize("command", [["list"], ["export"], ["report", "conversion"], ["report", "funnel"],
                                     ["report", "time-to-convert"], ["report", "lost-reasons"]])
def test_every_since_until_takes_the_keywords(cli, command, word):
    cli.ok("-q", "add", "Ana")
    cli.ok("-f", "json", *command, "--since", word)
    cli.ok("-f", "json", *command, "--until", word)


# ---------------------------------------------------------------- prompts


def _spawn(db, *args):
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "LEADCLI_DB": str(db), "COLUMNS": "100"}
    # A test run started in the background by a non-interactive shell ignores SIGINT, and a child inherits
    # that: restore the default, as on a terminal, so Ctrl-C reaches leadcli.
    return pexpect, pexpect.spawn(sys.executable, ["-m", "leadcli", *args], env=env, encoding="utf-8",
                                  dimensions=(24, 100), timeout=60,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_prompts_no_exits_1_and_ctrl_c_exits_130(cli, isolated_db):
    cli.ok("-q", "add", "Ana")
    pexpect, child = _spawn(isolated_db, "contact", "--status", "new")
    child.expect(r"\[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "nothing changed" in child.before
    pexpect, child = _spawn(isolated_db, "contact", "--status", "new")
    child.expect(r"\[y/N\]")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and "Traceback" not in child.before
    assert json.loads(cli.ok("-f", "json", "list").stdout)[0]["status"] == "new"


def test_import_undo_asks_on_a_terminal_and_needs_yes_in_a_script(cli, tmp_path, isolated_db):
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("name,email\nAna,ana@x.io\n")
    cli.ok("import", str(csv_file))
    refused = cli("import", "undo", "1")
    _assert_usage(refused, "undo")
    assert "--yes" in refused.stderr
    pexpect, child = _spawn(isolated_db, "import", "undo", "1")
    child.expect(r"\[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and len(json.loads(cli.ok("-f", "json", "list").stdout)) == 1
    cli.ok("import", "undo", "1", "--yes")
    assert json.loads(cli.ok("-f", "json", "list").stdout) == []


# ---------------------------------------------------------------- --date-field converted


def test_date_field_converted_is_conversions_per_lead_created_never_a_rate_over_100(cli):
    old = [cli.ok("-q", "add", f"Old {n}", "--source", "web", "--created", "2020-01-0" + str(n + 1)).stdout.strip()
           for n in range(3)]
    cli.ok("-q", "add", "New", "--source", "web")
    for lead_id in old:
        cli.ok("-q", "convert", lead_id)
    since = "this-month"
    window_start = validate.user_date(since, "since")
    leads = json.loads(cli.ok("-f", "json", "list", "--archived").stdout)
    created = sum(1 for lead in leads if lead["created_at"] >= window_start)
    converted = sum(1 for lead in leads if (lead["converted_at"] or "") >= window_start)
    assert (created, converted) == (1, 3)
    rows = json.loads(cli.ok("-f", "json", "report", "conversion", "--date-field", "converted",
                             "--since", since).stdout)
    assert [(r["total"], r["converted"], r["rate"], r["per_lead_created"]) for r in rows] == \
        [(created, converted, None, round(converted / created, 2))]
    table = cli.ok("-f", "table", "report", "conversion", "--date-field", "converted", "--since", since,
                   env={"COLUMNS": "100"}).stdout
    assert "300.00%" not in table and "%" not in table.split("not a rate")[0].split("\n", 1)[1]
    assert "per lead created" in table
    card = json.loads(cli.ok("-f", "json", "report", "conversion", "--date-field", "converted", "--since", since,
                             "--scorecard").stdout)[0]
    assert card["rate"] is None and card["per_lead_created"] == 3.0


def test_arguments_read_as_names_in_help_and_errors(cli):
    usage = cli.ok("edit", "--help", env={"COLUMNS": "120"}).stdout.splitlines()[0]
    assert usage == "Usage: leadcli edit [OPTIONS] LEAD_ID"
    missing = cli("show")
    _assert_usage(missing, "show")
    assert missing.stderr.startswith("error: missing argument LEAD_ID")


@pytest.mark.parametrize(("args", "helped"), [
    (["disqualify", "1", "--reason"], "leadcli disqualify --help"),
    (["score", "train", "--no-such-option"], "leadcli score train --help"),
    (["--db"], "leadcli --help"),
])
def test_a_parse_error_names_the_help_of_the_command_it_is_in(cli, args, helped):
    result = cli(*args)
    assert result.exit_code == 2
    assert f"hint: see `{helped}`" in result.stderr
