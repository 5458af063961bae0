"""add / list / show / edit / archive / restore, end to end through the CLI."""

from __future__ import annotations

import csv
import io
import json


def add(cli, *args):
    return int(cli.ok("-q", "add", *args).stdout.strip())


def test_add_prints_only_the_id_on_stdout(cli):
    result = cli.ok("add", "Ana Silva", "--email", "Ana.Silva@ACME.io")
    assert result.stdout.strip() == "1"
    assert "added lead #1" in result.stderr
    quiet = cli.ok("-q", "add", "Bo Chen")
    assert quiet.stdout == "2\n" and quiet.stderr == ""


def test_add_normalises_email_phone_value_currency(cli):
    lead_id = add(cli, "Ana Silva", "--email", "  Ana.Silva@ACME.IO ", "--phone", "+44 20 7946 0958",
                  "--value", "1,500.50", "--currency", "eur", "--tag", "vip", "--tag", "vip",
                  "--field", "Industry=Retail")
    lead = json.loads(cli.ok("--format", "json", "show", str(lead_id)).stdout)
    assert lead["email"] == "Ana.Silva@acme.io"
    assert lead["phone"] == "+442079460958"
    assert lead["value"] == 1500.5 and lead["currency"] == "EUR"
    assert lead["tags"] == ["vip"]
    assert lead["fields"] == {"Industry": "Retail"}
    assert lead["first_name"] == "Ana" and lead["last_name"] == "Silva"
    assert lead["status"] == "new"
    assert lead["history"][0]["to"] == "new"
    assert lead["created_at"].endswith("Z")


def test_phone_without_country_code_is_kept_or_parsed_with_region(cli, monkeypatch):
    a = add(cli, "A", "--phone", "(415) 555-0100")
    assert json.loads(cli.ok("-f", "json", "show", a).stdout)["phone"] == "(415) 555-0100"
    monkeypatch.setenv("LEADCLI_REGION", "US")
    b = add(cli, "B", "--phone", "(415) 555-0101")
    assert json.loads(cli.ok("-f", "json", "show", b).stdout)["phone"] == "+14155550101"


def test_json_keys_follow_the_contract(cli):
    add(cli, "Ana")
    (lead,) = json.loads(cli.ok("--format", "json", "list").stdout)
    for key in ("id", "name", "first_name", "last_name", "email", "phone", "company", "title", "source", "owner",
                "value", "currency", "status", "score", "grade", "trend", "tags", "fields", "external_id",
                "created_at", "updated_at", "converted_at"):
        assert key in lead


def test_duplicate_email_or_phone_is_refused_with_a_hint(cli):
    add(cli, "Ana", "--email", "ana@x.io", "--phone", "+1 415 555 0100")
    result = cli("add", "Other", "--email", "ANA@X.IO")
    assert result.exit_code == 1
    assert "already has the e-mail" in result.stderr and "--allow-duplicate" in result.stderr
    assert result.stdout == ""
    assert cli("add", "Other", "--phone", "+14155550100").exit_code == 1
    assert add(cli, "Other", "--email", "ana@x.io", "--allow-duplicate") == 2


def test_invalid_values_name_the_field_and_change_nothing(cli, isolated_db):
    cases = [
        (["--email", "not-an-email"], "email"),
        (["--phone", "call me"], "phone"),
        (["--currency", "EURO"], "currency"),
        (["--value", "-10"], "value"),
        (["--value", "lots"], "value"),
        (["--created", "2024-02-30"], "created"),
        (["--field", "novalue"], "field"),
    ]
    for extra, field in cases:
        result = cli("add", "X", *extra)
        assert result.exit_code == 2, extra  # a bad option value is a usage error
        assert result.stderr.startswith(f"error: --{field}:"), result.stderr
        assert "hint:" in result.stderr
        assert "Traceback" not in result.stderr
    assert json.loads(cli.ok("-f", "json", "list").stdout) == []


def test_a_lead_needs_something_to_identify_it(cli):
    result = cli("add")
    assert result.exit_code == 2 and "needs a name" in result.stderr
    lead_id = add(cli, "--company", "Initech")
    assert json.loads(cli.ok("-f", "json", "show", lead_id).stdout)["company"] == "Initech"
    table = cli.ok("-f", "table", "list").stdout
    assert f"Lead #{lead_id}" in table


def test_list_filters_sorting_and_limit(cli):
    add(cli, "Old", "--source", "Web", "--owner", "maria", "--created", "2025-01-10", "--value", "100")
    add(cli, "Mid", "--source", "referral", "--owner", "maria", "--created", "2025-06-10", "--tag", "vip",
        "--value", "900")
    add(cli, "New", "--source", "web", "--owner", "li", "--created", "2025-09-01", "--email", "new@corp.io")

    def names(*args):
        return [r["name"] for r in json.loads(cli.ok("-f", "json", "list", *args).stdout)]

    assert names() == ["New", "Mid", "Old"]
    assert names("--source", "WEB") == ["New", "Old"]
    assert names("--owner", "maria", "--limit", "1") == ["Mid"]
    assert names("--tag", "vip") == ["Mid"]
    assert names("--search", "corp.io") == ["New"]
    assert names("--since", "2025-06-10", "--until", "2025-06-10") == ["Mid"]
    assert names("--sort", "name") == ["Mid", "New", "Old"]
    assert names("--sort", "value") == ["Mid", "Old", "New"]
    assert names("--sort", "created", "--asc") == ["Old", "Mid", "New"]
    assert names("--status", "new", "--status", "qualified") == ["New", "Mid", "Old"]
    assert names("--status", "qualified") == []


def test_list_rejects_bad_options_with_usage_exit(cli):
    assert cli("list", "--sort", "shoe size").exit_code == 2
    assert cli("list", "--grade", "Z").exit_code == 2
    assert cli("list", "--status", "won").exit_code == 2
    assert cli("list", "--since", "last tuesday").exit_code == 2  # a bad option value is a usage error


def test_list_csv_in_a_pipe_is_clean_and_neutralises_formulas(cli):
    add(cli, "=HYPERLINK(\"http://x\")", "--phone", "+1 415 555 0100", "--value", "5")
    out = cli.ok("list").stdout  # CliRunner's stdout is not a terminal: auto means CSV
    assert "\x1b[" not in out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["name"].startswith("'=")
    assert rows[0]["phone"] == "'+14155550100"
    assert rows[0]["value"] == "5"


def test_every_format_renders_without_ansi(cli):
    add(cli, "Ana", "--tag", "a|b")
    for fmt in ("table", "csv", "json", "jsonl", "markdown"):
        out = cli.ok("--format", fmt, "list").stdout
        assert "Ana" in out and "\x1b[" not in out, fmt
    md = cli.ok("--format", "markdown", "list").stdout.splitlines()
    assert md[0].startswith("| id |") and md[1].startswith("|---")
    assert "a\\|b" in md[2]
    assert json.loads(cli.ok("--format", "jsonl", "list").stdout.splitlines()[0])["name"] == "Ana"


def test_format_from_environment(cli, monkeypatch):
    add(cli, "Ana")
    monkeypatch.setenv("LEADCLI_FORMAT", "json")
    assert json.loads(cli.ok("list").stdout)[0]["name"] == "Ana"


def test_show_card_and_missing_lead(cli):
    lead_id = add(cli, "Ana Silva", "--company", "Acme", "--field", "Industry=Retail", "--note", "met at expo")
    card = cli.ok("--format", "table", "show", lead_id).stdout
    for text in ("Lead #1: Ana Silva", "Acme", "Industry", "Retail", "met at expo", "Timeline", "created"):
        assert text in card
    missing = cli("show", "999")
    assert missing.exit_code == 1 and "no lead with id 999" in missing.stderr


def test_edit_fields_tags_custom_fields_and_notes(cli):
    lead_id = add(cli, "Ana", "--tag", "old", "--field", "A=1", "--field", "B=2", "--note", "first")
    cli.ok("edit", lead_id, "--name", "Ana Silva", "--company", "Acme", "--tag", "new", "--remove-tag", "old",
           "--field", "A=", "--field", "C=3", "--note", "second", "--value", "10")
    lead = json.loads(cli.ok("-f", "json", "show", lead_id).stdout)
    assert lead["name"] == "Ana Silva" and lead["last_name"] == "Silva"
    assert lead["company"] == "Acme" and lead["value"] == 10
    assert lead["tags"] == ["new"]
    assert lead["fields"] == {"B": "2", "C": "3"}
    assert lead["notes"].startswith("first\n[") and lead["notes"].endswith("second")
    # `edit --note` dates every note it appends, the first one too.
    other = add(cli, "Bo")
    cli.ok("edit", other, "--note", "called")
    notes = json.loads(cli.ok("-f", "json", "show", other).stdout)["notes"]
    assert notes.startswith("[20") and notes.endswith("] called")


def test_edit_status_records_history_and_refuses_bad_moves(cli):
    lead_id = add(cli, "Ana")
    cli.ok("edit", lead_id, "--status", "qualified")
    bad = cli("edit", lead_id, "--status", "disqualified")
    assert bad.exit_code == 2 and "needs a reason" in bad.stderr
    cli.ok("edit", lead_id, "--status", "disqualified", "--reason", "no budget")
    back = cli("edit", lead_id, "--status", "new")
    assert back.exit_code == 1 and "reopen" in back.stderr
    lead = json.loads(cli.ok("-f", "json", "show", lead_id).stdout)
    assert [(h["from"], h["to"]) for h in lead["history"]] == [
        (None, "new"), ("new", "qualified"), ("qualified", "disqualified")]
    assert lead["history"][-1]["reason"] == "no budget"


def test_edit_duplicate_email_refused(cli):
    add(cli, "Ana", "--email", "ana@x.io")
    bo = add(cli, "Bo")
    assert cli("edit", bo, "--email", "ana@x.io").exit_code == 1
    cli.ok("edit", bo, "--email", "ana@x.io", "--allow-duplicate")


def test_archive_hides_from_list_and_restore_brings_back(cli):
    a = add(cli, "Ana")
    add(cli, "Bo")
    cli.ok("archive", a)
    assert [r["name"] for r in json.loads(cli.ok("-f", "json", "list").stdout)] == ["Bo"]
    assert len(json.loads(cli.ok("-f", "json", "list", "--archived").stdout)) == 2
    again = cli.ok("archive", a)
    assert "already archived" in again.stderr
    cli.ok("restore", a)
    assert len(json.loads(cli.ok("-f", "json", "list").stdout)) == 2
    assert cli("archive", "42").exit_code == 1


def test_every_command_help_has_a_summary_and_an_example(cli):
    from typer.main import get_command

    from leadcli.cli import app

    root = get_command(app)

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, prefix + [name])
            else:
                yield prefix + [name]

    paths = list(walk(root, []))
    assert len(paths) >= 7
    for path in paths:
        out = cli.ok(*path, "--help").stdout
        assert "Example" in out, path
        assert "Usage: leadcli" in out or "Usage: root" in out


def test_command_table_summaries_match_the_help(cli):
    """The root --help lists commands from cli.COMMANDS without importing them: keep both equal."""
    from leadcli import cli as cli_module

    for entry in cli_module.COMMANDS:
        assert cli_module._summary(cli_module._target(entry)) == entry[3], entry[0]
    listing = cli.ok("--help").stdout
    fast = cli_module._command_in(["--db", "x.db", "-f", "json", "list", "--limit", "3"])
    assert fast == "list"
    assert cli_module._command_in(["--help"]) is None
    for entry in cli_module.COMMANDS:
        assert entry[0] in listing


def test_format_and_quiet_also_follow_the_command(cli):
    lead = cli.ok("add", "Ana", "--source", "web", "-q")
    assert lead.stderr == "" and lead.stdout.strip().isdigit()
    listed = json.loads(cli.ok("list", "--format", "json").stdout)
    assert [x["name"] for x in listed] == ["Ana"]
    assert cli.ok("report", "conversion", "--all-time", "-f", "markdown").stdout.startswith("| group |")
    assert json.loads(cli.ok("deals", "list", "--format", "json").stdout) == []
    # After the command it wins over the global one; export keeps its own --format (csv, json, jsonl).
    assert cli.ok("-f", "csv", "show", lead.stdout.strip(), "--format", "json").stdout.lstrip().startswith("{")
    assert cli.ok("export", "--format", "jsonl").stdout.startswith('{"id": ')
    assert cli("export", "--format", "markdown").exit_code == 2  # export's own choices still apply
    bad = cli("list", "--format", "yaml")
    assert bad.exit_code == 2 and "yaml" in bad.stderr
    assert "--format" in cli.ok("report", "funnel", "--help").stdout


def test_a_terminal_table_shows_the_first_50_and_says_how_many(cli, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Lead {i},lead{i}@example.com\n" for i in range(60)))
    cli.ok("-q", "import", str(path))
    table = cli.ok("-f", "table", "list", env={"COLUMNS": "200"}).stdout
    assert table.count("@example.com") == 50 and "the first 50 of 60 leads" in table
    assert cli.ok("-f", "table", "list", "--limit", "0", env={"COLUMNS": "200"}).stdout.count("@example.com") == 60
    assert cli.ok("-f", "table", "list", "-n", "5", env={"COLUMNS": "200"}).stdout.count("@example.com") == 5
    # Anything else (a pipe, a file, JSON) gets every lead.
    assert len(json.loads(cli.ok("-f", "json", "list").stdout)) == 60
    assert len(cli.ok("list").stdout.splitlines()) == 61


def test_since_after_until_is_a_usage_error(cli):
    for args in (["list"], ["report", "conversion"], ["export"]):
        result = cli(*args, "--since", "2026-12-01", "--until", "2026-01-01")
        assert result.exit_code == 2 and "--since (2026-12-01) is after --until (2026-01-01)" in result.stderr


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LEADCLI_DB": str(tmp_path / "pipe.db")}
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Lead {i},lead{i}@example.com\n" for i in range(5000)))
    subprocess.run([sys.executable, "-m", "leadcli", "-q", "import", str(path)], env=env, check=True, timeout=120)
    pipe = subprocess.run(f"'{sys.executable}' -m leadcli export | head -1; exit ${{PIPESTATUS[0]}}", shell=True,
                          executable="/bin/bash", env=env, capture_output=True, text=True, timeout=120)
    assert pipe.returncode == 0 and pipe.stdout.startswith("id,name") and pipe.stderr == ""
