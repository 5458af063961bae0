"""`leadcli score ...` end to end, and scores in add / list / show."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dbshim
import pytest
import scoring_data


@pytest.fixture
def history_db():
    scoring_data.load(scoring_data.make(900, seed=21))


def test_train_says_which_model_and_why(cli, history_db):
    result = cli.ok("score", "train")
    assert "trained model #1: a logistic regression (calibrated)" in result.stderr
    assert "enough for a calibrated logistic regression" in result.stderr
    row = next(iter(__import__("csv").DictReader(result.stdout.splitlines())))
    assert row["kind"] == "logistic" and float(row["auc"]) > 0.7 and row["verdict"] in ("ready", "usable")


def test_train_on_few_outcomes_uses_naive_bayes(cli):
    scoring_data.load(scoring_data.make(30, seed=22))
    result = cli.ok("score", "train")
    assert "naive-Bayes frequency model" in result.stderr and "needs 40 of each" in result.stderr
    model = json.loads(cli.ok("-f", "json", "score", "model").stdout)
    # Six leads held out cannot vouch for it: the model says why and scores nothing, rather than grade all alike.
    assert model["kind"] == "naive_bayes" and model["readiness"]["verdict"] == "not ready"
    assert model["trusted"] is False and "scores nothing" in model["readiness"]["why"]
    lead = cli.ok("-q", "add", "Ana", "--source", "referral").stdout.strip()
    run = cli("score", "run", "--all")
    assert run.exit_code == 1 and "cannot be trusted, so no lead was scored" in run.stderr and "AUC" in run.stderr
    shown = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    assert shown["score"] is None and shown["grade"] is None
    explained = cli.ok("-f", "table", "score", "explain", lead, env={"COLUMNS": "200"}).stdout
    assert "not scored" in explained


def test_train_without_outcomes_is_a_clear_error(cli):
    cli.ok("add", "Ana")
    result = cli("score", "train")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: no converted or disqualified leads to learn from")
    assert "hint:" in result.stderr and "leadcli convert ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_and_explain_need_a_model(cli):
    lead = cli.ok("-q", "add", "Ana").stdout.strip()
    for args in (["score", "run", "--all"], ["score", "explain", lead], ["score", "model"]):
        result = cli(*args)
        assert result.exit_code == 1 and "no scoring model has been trained yet" in result.stderr
        assert "leadcli score train" in result.stderr


def test_run_needs_ids_or_all(cli, history_db):
    cli.ok("score", "train")
    assert cli("score", "run").exit_code == 2
    assert cli("score", "run", "1", "--all").exit_code == 2


def test_run_on_an_unknown_id_scores_the_others_and_exits_1(cli, history_db):
    cli.ok("score", "train")
    lead = cli.ok("-q", "add", "Ana", "--source", "referral").stdout.strip()
    result = cli("-f", "json", "score", "run", lead, "1", "999999")
    assert result.exit_code == 1 and "error: no lead with id 999999" in result.stderr
    assert "not scored (closed: only open leads get scores): 1" in result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == [int(lead)]


def test_model_shows_metrics_influence_and_unused_fields(cli, history_db):
    cli.ok("score", "train")
    model = json.loads(cli.ok("-f", "json", "score", "model").stdout)
    assert model["metrics"]["auc"] and model["metrics"]["brier"] and model["backtest"]["calibration"]
    assert model["counts"]["closed"] == 900
    assert model["influence"][0]["field"] in ("source", "Industry", "Employees", "Newsletter")
    skipped = {s["field"] for s in model["skipped"]}
    assert {"Lead code", "Comment"} <= skipped
    table = cli.ok("-f", "table", "score", "model", env={"COLUMNS": "140"}).stdout
    for text in ("random split (20 %)", "backtest by time", "AUC", "readiness", "Most influential fields",
                 "Calibration", "Fields not used"):
        assert text in table


def test_leaky_field_is_flagged_at_train_and_in_model(cli):
    scoring_data.load(scoring_data.make(900, seed=23, leak=True))
    result = cli.ok("score", "train")
    assert "warning: Call outcome looks like a leak" in result.stderr and '--exclude "Call outcome"' in result.stderr
    table = cli.ok("-f", "table", "score", "model", env={"COLUMNS": "160"}).stdout
    assert "probable leaks" in table and "Call outcome" in table and "--exclude" in table
    clean = cli.ok("score", "train", "--exclude", "Call outcome")
    assert "leak" not in clean.stderr


def test_unknown_field_names_are_usage_errors(cli, history_db):
    result = cli("score", "train", "--exclude", "Nope")
    assert result.exit_code == 2 and "no field called 'Nope'" in result.stderr and "Industry" in result.stderr
    assert cli.ok("score", "train", "--fields", "source,Industry").exit_code == 0
    model = json.loads(cli.ok("-f", "json", "score", "model").stdout)
    assert [f["field"] for f in model["features"]] == ["source", "Industry"]


def test_run_all_scores_open_leads_and_list_sorts_by_score(cli, history_db):
    cli.ok("score", "train")
    scoring_data.load(scoring_data.make(40, seed=24, open_share=1.0))
    result = cli.ok("-f", "json", "score", "run", "--all")
    assert "scored 40 open lead(s) with model #1" in result.stderr
    grades = json.loads(result.stdout)
    assert sum(g["leads"] for g in grades) == 40
    listed = json.loads(cli.ok("-f", "json", "list", "--status", "new", "--sort", "score").stdout)
    scores = [lead["score"] for lead in listed]
    assert scores == sorted(scores, reverse=True) and all(0 <= x <= 100 for x in scores)
    assert all(lead["trend"] == "not enough info" and lead["grade"] in "ABCD" for lead in listed)
    closed = json.loads(cli.ok("-f", "json", "list", "--status", "converted", "--limit", "3").stdout)
    assert all(lead["score"] is None for lead in closed)  # outcomes are never scored
    top = listed[0]["grade"]
    by_grade = json.loads(cli.ok("-f", "json", "list", "--grade", top).stdout)
    assert by_grade and all(lead["grade"] == top for lead in by_grade)


def test_add_scores_a_new_lead_at_once(cli, history_db):
    cli.ok("score", "train")
    lead = cli.ok("-q", "add", "Hot", "--source", "referral", "--field", "Industry=Software",
                  "--field", "Employees=2000", "--field", "Newsletter=Yes").stdout.strip()
    cold = cli.ok("-q", "add", "Cold", "--source", "cold call", "--field", "Industry=Public").stdout.strip()
    hot_card = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    cold_card = json.loads(cli.ok("-f", "json", "show", cold).stdout)
    assert hot_card["score"] > cold_card["score"] and hot_card["trend"] == "not enough info"
    assert hot_card["grade"] in "AB" and cold_card["grade"] in "CD"
    assert hot_card["score_reasons"]["for"] and any("referral" in r for r in hot_card["score_reasons"]["for"])
    added = json.loads(cli.ok("-f", "json", "add", "Json", "--source", "referral").stdout)
    assert added["score"] is not None and added["grade"] is not None


def test_add_with_a_model_imports_no_heavy_library(cli, history_db, isolated_db):
    cli.ok("score", "train")
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "leadcli", "-q", "add", "Ana", "--source", "web"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert not modules & {"sklearn", "pandas", "scipy", "numpy"}
    lead_id = proc.stdout.strip()
    assert json.loads(subprocess.run([sys.executable, "-m", "leadcli", "-f", "json", "show", lead_id],
                                     capture_output=True, text=True, env=env, timeout=60).stdout)["score"] is not None


def test_explain_lists_reasons_with_evidence(cli, history_db):
    cli.ok("score", "train")
    lead = cli.ok("-q", "add", "Ana", "--source", "referral", "--field", "Industry=Public").stdout.strip()
    data = json.loads(cli.ok("-f", "json", "score", "explain", lead).stdout)
    assert data["score"] == data["stored_score"] and data["grade"] in "ABCD"
    assert any(r["text"].startswith("source is referral: ") and "referral leads converted: " in r["text"]
               for r in data["for"])
    assert any(r["field"] == "Industry" for r in data["against"])
    table = cli.ok("-f", "table", "score", "explain", lead, env={"COLUMNS": "160"}).stdout
    assert "Reasons for" in table and "Reasons against" in table and "% overall" in table
    assert cli("score", "explain", "999").exit_code == 1


def test_edit_rescores_the_lead_and_trend_follows(cli, history_db):
    cli.ok("score", "train")
    lead = cli.ok("-q", "add", "Ana", "--source", "cold call", "--field", "Industry=Public").stdout.strip()
    cold = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    cli.ok("edit", lead, "--source", "referral", "--field", "Industry=Software", "--field", "Employees=3000")
    hot = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    # The edit itself scores the lead again: no stale score until the next `score run`.
    assert hot["score"] > cold["score"] and hot["trend"] == "improving"
    assert any("referral" in r for r in hot["score_reasons"]["for"])
    cli.ok("edit", lead, "--source", "cold call", "--field", "Industry=Public", "--field", "Employees=")
    again = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    assert again["score"] == cold["score"] and again["trend"] == "declining"
    # An edit that changes no feature leaves score and trend alone.
    cli.ok("edit", lead, "--note", "called, no answer")
    assert json.loads(cli.ok("-f", "json", "show", lead).stdout)["trend"] == "declining"
    history = json.loads(cli.ok("-f", "json", "score", "explain", lead).stdout)["history"]
    assert [h["score"] for h in history][:3] == [cold["score"], hot["score"], cold["score"]][::-1]
    rows = json.loads(cli.ok("-f", "json", "score", "run", lead).stdout)
    assert rows[0]["previous"] == rows[0]["score"] and rows[0]["trend"] == "declining"


def test_import_update_and_reopen_rescore_the_leads(cli, history_db, tmp_path):
    cli.ok("score", "train")
    lead = cli.ok("-q", "add", "Bo", "--email", "bo@example.org", "--source", "cold call",
                  "--field", "Industry=Public").stdout.strip()
    before = json.loads(cli.ok("-f", "json", "show", lead).stdout)["score"]
    path = tmp_path / "update.csv"
    path.write_text("Email,Lead Source,Industry,Employees\nbo@example.org,referral,Software,3000\n")
    cli.ok("import", str(path), "--on-duplicate", "update")
    after = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    assert after["source"] == "referral" and after["score"] > before and after["trend"] == "improving"
    # Closed, it is not scored; a model trained meanwhile scores it again once it is reopened.
    cli.ok("disqualify", lead, "--reason", "no budget")
    cli.ok("score", "train", "--exclude", "source")
    cli.ok("reopen", lead)
    explained = json.loads(cli.ok("-f", "json", "score", "explain", lead).stdout)
    assert explained["stored_score"] == explained["score"] != after["score"]


def test_grades_show_set_and_regrade(cli, history_db):
    assert json.loads(cli.ok("-f", "json", "score", "grades").stdout)[0] == {"grade": "A", "from": 75, "to": 100}
    cli.ok("score", "train")
    scoring_data.load(scoring_data.make(30, seed=25, open_share=1.0))
    cli.ok("score", "run", "--all")
    result = cli.ok("-f", "json", "score", "grades", "--a", "60", "--b", "40", "--c", "20")
    assert "re-graded" in result.stderr
    bands = json.loads(result.stdout)
    assert [b["from"] for b in bands] == [60, 40, 20, 0]
    for lead in json.loads(cli.ok("-f", "json", "list", "--status", "new").stdout):
        expected = "A" if lead["score"] >= 60 else "B" if lead["score"] >= 40 else "C" if lead["score"] >= 20 else "D"
        assert lead["grade"] == expected
    bad = cli("score", "grades", "--a", "30", "--b", "40")
    assert bad.exit_code == 2 and "A > B > C" in bad.stderr
    assert cli("score", "grades", "--a", "101").exit_code == 2


def test_model_list_keeps_older_models(cli, history_db):
    cli.ok("score", "train")
    cli.ok("score", "train", "--exclude", "Newsletter")
    models = json.loads(cli.ok("-f", "json", "score", "model", "--list").stdout)
    assert [(m["id"], m["active"]) for m in models] == [(2, True), (1, False)]
    old = json.loads(cli.ok("-f", "json", "score", "model", "1").stdout)
    assert old["active"] is False and "Newsletter" in [f["field"] for f in old["features"]]


def test_score_file_scores_a_csv_without_touching_the_database(cli, history_db, tmp_path, isolated_db):
    import csv

    cli.ok("score", "train")
    src = tmp_path / "prospects.csv"
    src.write_text("Name,Email,Lead Source,Industry,Employees,Newsletter\n"
                   "Hot,hot@x.io,referral,Software,3000,Yes\n"
                   "Cold,cold@x.io,cold call,Public,3,No\n"
                   "Broken,not-an-email,web,Retail,10,No\n", encoding="utf-8")
    before = dbshim.connect(isolated_db).execute("SELECT count(*), max(updated_at) FROM lead").fetchone()
    out = tmp_path / "scored.csv"
    result = cli.ok("score", "file", str(src), "--output", str(out))
    assert "scored 2 row(s)" in result.stderr and "1 row(s) could not be read" in result.stderr
    assert out.stat().st_mode & 0o777 == 0o600  # like export --output: readable by its owner only
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["Name"] for r in rows] == ["Hot", "Cold", "Broken"]
    assert int(rows[0]["score"]) > int(rows[1]["score"]) and rows[0]["grade"] in "AB"
    assert rows[0]["top reason for"].startswith(("source is referral", "Industry is Software", "Employees is"))
    assert rows[2]["score"] == "" and rows[2]["top reason for"].startswith("not scored: Email: ")
    assert dbshim.connect(isolated_db).execute("SELECT count(*), max(updated_at) FROM lead").fetchone() == before
    piped = cli.ok("score", "file", str(src)).stdout.splitlines()
    assert piped[0] == "Name,Email,Lead Source,Industry,Employees,Newsletter,score,grade,top reason for," \
                       "top reason against"
    assert len(piped) == 4


def test_train_is_brief_and_prints_the_model_card_with_verbose(cli, history_db):
    brief = cli.ok("-f", "table", "score", "train", env={"COLUMNS": "160"})
    assert brief.stdout == "" and "trained model #1" in brief.stderr
    assert "readiness: " in brief.stderr and "`leadcli score model`" in brief.stderr
    for flag in ("-v", "--verbose"):
        card = cli.ok("-f", "table", "score", "train", flag, env={"COLUMNS": "160"}).stdout
        assert "Scoring model #" in card and "backtest by time" in card and "Most influential fields" in card
    as_json = json.loads(cli.ok("-f", "json", "score", "train", "-v").stdout)
    assert as_json["id"] == 4 and as_json["trained_at"]
