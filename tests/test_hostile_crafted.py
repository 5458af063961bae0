"""Crafted input and crafted databases: NUL bytes, stray BOMs and rows of control characters never
become data; a stored scoring model is validated before use and refused with one message; a merge
journal can only write known columns of known tables back."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from leadcli import scoring
from leadcli.errors import BadModel
from leadcli.scoring_model import FORMAT, model_from_payload

pytestmark = pytest.mark.sqlite_only  # the database is crafted with sqlite3 directly

MODEL_MESSAGE = "scoring model #1 cannot be read: "
MODEL_HINT = "train a new one with `leadcli score train`"


def _rows(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _execute(db: Path, sql: str, args: tuple = ()) -> None:
    con = sqlite3.connect(db)
    try:
        con.execute(sql, args)
        con.commit()
    finally:
        con.close()


def _digest(db: Path) -> str:
    return hashlib.sha256(Path(db).read_bytes()).hexdigest()


# ---------------------------------------------------------------- NUL bytes, BOMs, control-only rows


def test_nul_bytes_and_stray_boms_are_removed_on_import(cli, tmp_path, isolated_db):
    path = tmp_path / "nul.csv"
    path.write_bytes("Name,Email,Company,Notes\n"
                     "An\x00a Silva,ana@acme.io,Ac\ufeffme,first\ufeff line\x00\n".encode())
    cli.ok("-q", "import", str(path))
    assert _rows(isolated_db, "SELECT name, company, notes FROM lead") == [("Ana Silva", "Acme", "first line")]


def test_a_row_of_control_characters_is_no_lead(cli, tmp_path, isolated_db):
    path = tmp_path / "controls.csv"
    rejects = tmp_path / "rejects.csv"
    path.write_text("Name,Email,Company\nAna,ana@acme.io,Acme\n\x07,\x1b, \x08\x7f\n\t\x0b,,\u200b\n")
    result = cli.ok("import", str(path), "--rejects", str(rejects), "--json")
    summary = json.loads(result.stdout)
    assert summary["created"] == 1 and summary["rejected"] == 2
    assert _rows(isolated_db, "SELECT name FROM lead") == [("Ana",)]
    assert rejects.read_text().count("only control characters") == 2


def test_a_row_of_spaces_only_is_a_blank_row(cli, tmp_path, isolated_db):
    path = tmp_path / "spaces.csv"
    path.write_text("Name,Email\nAna,ana@acme.io\n  ,   \n")
    summary = json.loads(cli.ok("import", str(path), "--json").stdout)
    assert summary["created"] == 1 and summary["rejected"] == 0


def test_nul_and_bom_are_removed_from_add_edit_and_log(cli, isolated_db):
    lead = int(cli.ok("-q", "add", "Bo\x00 Chen", "--email", "bo@globex.com", "--company", "\ufeffGlobex",
                      "--note", "met at\x00 the fair", "--field", "Size\ufeff=Big\x00").stdout)
    cli.ok("edit", str(lead), "--title", "C\x00TO\ufeff")
    cli.ok("log", str(lead), "note", "\ufeffcalled\x00 back")
    assert _rows(isolated_db, "SELECT name, company, notes, title FROM lead") == [
        ("Bo Chen", "Globex", "met at the fair", "CTO")]
    assert json.loads(_rows(isolated_db, "SELECT fields FROM lead")[0][0]) == {"Size": "Big"}
    assert _rows(isolated_db, "SELECT text FROM activity WHERE type = 'note'") == [("called back",)]


def test_a_name_of_control_characters_is_no_name(cli, isolated_db):
    result = cli("add", "\x07\x1b")
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert _rows(isolated_db, "SELECT count(*) FROM lead") in ([(0,)], [])


def test_intake_removes_nul_and_bom(cli, isolated_db):
    payload = json.dumps({"name": "Cy\u0000 Park\ufeff", "email": "cy@initech.com"})
    cli.ok("-q", "intake", input=payload)
    assert _rows(isolated_db, "SELECT name FROM lead") == [("Cy Park",)]


# ---------------------------------------------------------------- crafted model payloads


def _good_payload() -> dict:
    return {"format": FORMAT, "kind": "logistic", "intercept": -0.5, "created_at": "2026-01-01T00:00:00Z",
            "features": [
                {"name": "source", "type": "category", "from": "lead", "key": "source",
                 "weights": {"referral": 1.2, "web": -0.3}, "other": 0.0, "missing": -0.1},
                {"name": "value", "type": "number", "from": "lead", "key": "value", "fill": 0.0, "center": 10.0,
                 "scale": 5.0, "coef": 0.4, "missing": 0.0, "clip": [0.0, 100.0], "edges": [1.0, 50.0],
                 "bins": [0.0, 0.1, 0.2]}]}


def _deep(depth: int) -> str:
    return '{"format": 1, "kind": "logistic", "intercept": 0, "x": ' + "[" * depth + "]" * depth + "}"


def _payload_with(**changes) -> str:
    payload = _good_payload()
    for key, value in changes.items():
        if key.startswith("f0_"):
            payload["features"][0][key[3:]] = value
        elif key.startswith("f1_"):
            payload["features"][1][key[3:]] = value
        else:
            payload[key] = value
    return json.dumps(payload)


CRAFTED = {
    "nested 10,000 deep": _deep(10_000),
    "nested 40 deep": _deep(40),
    "NaN intercept": _payload_with(intercept=0).replace('"intercept": 0', '"intercept": NaN'),
    "Infinity weight": _payload_with().replace("1.2", "Infinity"),
    "a string for a number": _payload_with(intercept="1.5"),
    "a string weight": _payload_with(f0_weights={"web": "x"}),
    "huge edges": _payload_with(f1_edges=list(range(100_000)), f1_bins=list(range(100_001))),
    "bins not matching edges": _payload_with(f1_bins=[0.0]),
    "unsorted edges": _payload_with(f1_edges=[50.0, 1.0]),
    "too many features": json.dumps({**_good_payload(), "features": _good_payload()["features"] * 1500}),
    "a huge name": _payload_with(f0_name="n" * 5000),
    "features not a list": _payload_with(features={"a": 1}),
    "counts of the wrong type": _payload_with(counts="many"),
    "not JSON": "{not json",
    "a list": "[1, 2, 3]",
    "a huge text": _payload_with(why="w" * 100_000),
    "too big": '{"format": 1, "pad": "' + "x" * (17 << 20) + '"}',
}


@pytest.mark.parametrize("payload", list(CRAFTED.values()), ids=list(CRAFTED))
def test_a_crafted_model_is_refused_with_one_message(payload, cli, isolated_db):
    lead = int(cli.ok("-q", "add", "Ana Silva", "--email", "ana@acme.io", "--source", "web").stdout)
    _execute(isolated_db, "INSERT INTO score_model (id, kind, created_at, active, payload) "
                          "VALUES (1, 'logistic', '2026-01-01T00:00:00Z', 1, ?)", (payload,))
    before = _digest(isolated_db)
    for args in (["score", "run", "--all"], ["score", "explain", str(lead)], ["score", "model"]):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: " + MODEL_MESSAGE), (args, result.stderr)
        assert MODEL_HINT in result.stderr and "Traceback" not in result.stderr
    assert _digest(isolated_db) == before
    _execute(isolated_db, "UPDATE lead SET score = 50, grade = 'B'")
    shown = json.loads(cli.ok("show", str(lead), "--format", "json").stdout)  # shown, without reasons
    assert shown["score"] == 50
    listed = cli.ok("score", "model", "--list", "--format", "json")
    assert json.loads(listed.stdout)[0]["verdict"] == "unreadable"
    cli.ok("list", "--sort", "score")
    added = cli.ok("add", "Bo Chen", "--email", "bo@globex.com", "--source", "referral")
    assert "warning: " + MODEL_MESSAGE in added.stderr and "left unscored" in added.stderr
    assert _rows(isolated_db, "SELECT score FROM lead WHERE email = 'bo@globex.com'") == [(None,)]


def test_a_well_formed_model_is_used(cli, isolated_db):
    cli.ok("-q", "add", "Ana Silva", "--email", "ana@acme.io", "--source", "referral")
    payload = _good_payload() | {"readiness": {"trusted": True}}
    _execute(isolated_db, "INSERT INTO score_model (id, kind, created_at, active, payload) "
                          "VALUES (1, 'logistic', '2026-01-01T00:00:00Z', 1, ?)", (json.dumps(payload),))
    cli.ok("score", "run", "--all")
    assert _rows(isolated_db, "SELECT score IS NOT NULL FROM lead") == [(1,)]
    added = cli.ok("add", "Bo Chen", "--email", "bo@globex.com", "--source", "web")
    assert "warning" not in added.stderr


def test_payload_validation_on_its_own():
    model_from_payload(_good_payload(), 7)
    for payload in (json.loads(_payload_with(f1_clip=[5.0, 1.0])), {"format": FORMAT, "kind": "logistic",
                                                                    "intercept": 0, "features": [{"name": 3}]}):
        with pytest.raises(BadModel, match="scoring model #7 cannot be read"):
            model_from_payload(payload, 7)
    with pytest.raises(BadModel, match="nested too deep"):
        scoring._loads(_deep(100_000), 7)


# ---------------------------------------------------------------- crafted merge journals


def _merged(cli) -> int:
    keep = int(cli.ok("-q", "add", "Ana Silva", "--email", "ana@acme.io").stdout)
    dup = int(cli.ok("-q", "add", "Ana Silva", "--phone", "+14155550100", "--company", "Acme").stdout)
    return int(cli.ok("merge", str(keep), str(dup)).stdout.strip())


JOURNALS = {
    "a column name holding SQL": ("lead", '{"id": 1}', '{"name = \'pwned\', notes": "x"}'),
    "a column the table lacks": ("lead", '{"id": 1}', '{"is_admin": 1}'),
    "an unknown table": ("sqlite_master", '{"id": 1}', None),
    "a key column holding SQL": ("lead", '{"id = 1 OR 1": 1}', None),
    "a key of the wrong columns": ("lead", '{"email": "ana@acme.io"}', None),
    "a value that is an object": ("lead", '{"id": 1}', '{"name": {"x": 1}}'),
    "a row that is not JSON": ("lead", '{"id": 1}', "{nope"),
    "a row that is a list": ("lead", '{"id": 1}', "[1, 2]"),
}


@pytest.mark.parametrize(("table", "key", "before"), list(JOURNALS.values()), ids=list(JOURNALS))
def test_a_crafted_merge_journal_cannot_write_elsewhere(table, key, before, cli, isolated_db):
    merge_id = _merged(cli)
    seq = _rows(isolated_db, "SELECT max(seq) FROM merge_change WHERE merge_id = ?", (merge_id,))[0][0]
    _execute(isolated_db, "INSERT INTO merge_change (merge_id, seq, table_name, row_key, before) "
                          "VALUES (?, ?, ?, ?, ?)", (merge_id, seq + 1, table, key, before))
    digest = _digest(isolated_db)
    result = cli("merge", "undo", str(merge_id))
    assert result.exit_code == 1 and "journal is damaged" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(isolated_db) == digest
    assert _rows(isolated_db, "SELECT count(*) FROM lead WHERE name = 'pwned' OR notes = 'x'") == [(0,)]
