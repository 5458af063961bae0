"""SQL-looking and odd text in every text option is stored and matched as plain text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NASTY = [
    "'; DROP TABLE lead; --",
    "\" OR 1=1 --",
    "Robert'); DELETE FROM status_change; --",
    "%",
    "_",
    "\\",
    "a%b_c\\d",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "line\nbreak",
]


@pytest.mark.parametrize("text", NASTY)
def test_sql_looking_text_in_options_is_plain_data(cli, text):
    lead_id = cli.ok("-q", "add", text, "--company", text, "--source", text, "--owner", text, "--title", text,
                     "--tag", text, "--field", f"k={text}", "--note", text).stdout.strip()
    lead = json.loads(cli.ok("-f", "json", "show", lead_id).stdout)
    assert lead["name"] == text.strip() or lead["name"] == " ".join(text.split())
    assert lead["company"] == text.strip() and lead["source"] == text.strip()
    assert lead["fields"]["k"] == text.strip()
    for option in ("--source", "--owner", "--tag", "--search"):
        found = json.loads(cli.ok("-f", "json", "list", option, text).stdout)
        assert [r["id"] for r in found] == [int(lead_id)], option
    cli.ok("edit", lead_id, "--company", text + "x", "--note", text)
    tables = json.loads(cli.ok("-f", "json", "db", "check").stdout)
    assert all(row["ok"] for row in tables)


def test_like_wildcards_do_not_match_everything(cli):
    cli.ok("-q", "add", "Ana", "--company", "Acme")
    cli.ok("-q", "add", "Bo", "--company", "100% Juice")
    for pattern, expected in (("%", ["Bo"]), ("_", []), ("100%", ["Bo"])):
        names = [r["name"] for r in json.loads(cli.ok("-f", "json", "list", "--search", pattern).stdout)]
        assert names == expected, pattern


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               min_size=1, max_size=40).filter(lambda t: t.strip()))
def test_any_search_text_never_errors(cli, text):
    result = cli("-f", "json", "list", "--search", text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) is not None


HUGE = "99999999999999999999"


@pytest.mark.parametrize("args, code", [
    (["show", HUGE], 2), (["list", "--limit", HUGE], 2), (["archive", HUGE], 2), (["contact", HUGE], 2),
    (["deals", "won", HUGE], 2), (["import", "undo", HUGE], 2),
    (["add", "X", "--value", "1e400"], 2), (["add", "X", "--value", "9" * 40], 2),
])
def test_out_of_range_numbers_are_messages_not_tracebacks(cli, args, code):
    result = cli(*args)
    assert result.exit_code == code, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_a_wrong_encoding_option_is_a_message(cli, tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("Name,Email\nAna,ana@example.com\n")
    for args, stdin in ((["import", str(path), "--encoding", "utf-16"], None),
                        (["import", "-", "--encoding", "utf-16"], path.read_bytes())):
        result = cli(*args, input=stdin)
        assert result.exit_code == 1 and result.stderr.startswith("error: "), result.stderr
        assert "does not start with BOM" in result.stderr


def test_unreachable_files_are_messages_not_tracebacks(cli, tmp_path, monkeypatch):
    from pathlib import Path

    from leadcli.ingest import csvfile as csvread

    source = tmp_path / "leads.csv"
    source.write_text("Name,Email\nAna,bad-address\nBo,bo@example.com\n")
    result = cli("import", str(source), "--rejects", str(tmp_path / "missing" / "rejects.csv"), "--max-rejects", "5")
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot write the rejects file")
    assert cli("-f", "json", "list").stdout.strip() in ("", "[]")  # nothing imported

    real_open = open

    def no_read(path, *args, **kwargs):
        if str(path) == str(source):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(csvread, "open", no_read, raising=False)
    result = cli("import", str(source))
    assert result.exit_code == 1 and "permission denied" in result.stderr and "Traceback" not in result.stderr
    monkeypatch.undo()

    locked = tmp_path / "locked" / "leads.db"
    real_exists = Path.exists

    def no_entry(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", no_entry)
    result = cli("--db", str(locked), "list")
    assert result.exit_code == 1 and "a folder on the way is not open to you" in result.stderr
