"""Scores a salesperson can trust: backtested by time, calibrated, current, and pinned by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scoring_data

from leadcli import scoring, scoring_health, scoring_train, store


def _model(cli) -> dict:
    return json.loads(cli.ok("-f", "json", "score", "model").stdout)


def test_drifting_sources_backtest_by_time_lower_than_random_and_verdict_follows(cli):
    scoring_data.load_dated(scoring_data.make_drifting(3000))
    cli.ok("score", "train")
    m = _model(cli)
    bt, random_split = m["backtest"], m["random_split"]
    assert bt["method"] == "time" and bt["holdout_since"].startswith("2024-10")
    assert bt["auc"] < random_split["auc"] - 0.02  # a random split flatters a model of a drifting world
    assert m["metrics"]["auc"] == bt["auc"] and m["metrics"]["split"] == "time"
    assert m["metrics"]["random_auc"] == random_split["auc"]
    assert "time-split" in m["readiness"]["why"] and f"{bt['auc']:.3f}" in m["readiness"]["why"]
    assert {"trained_at", "outcomes", "stale", "stale_reasons", "metrics", "backtest"} <= set(m)
    assert m["outcomes"] == 3000 and m["stale"] is False and m["stale_reasons"] == []
    deciles = bt["calibration"]
    assert len(deciles) == 10 and sum(d["n"] for d in deciles) == bt["holdout"]
    assert all({"predicted", "observed", "n"} <= set(d) for d in deciles)
    table = cli.ok("-f", "table", "score", "model", env={"COLUMNS": "160"}).stdout
    assert "backtest by time" in table and "random split (20 %)" in table and "Calibration on the time-split" in table
    calibration = cli.ok("-f", "csv", "score", "model", "--calibration").stdout
    rows = list(__import__("csv").DictReader(calibration.splitlines()))
    assert len(rows) == 10 and set(rows[0]) == {"decile", "predicted", "observed", "n"}


def test_holdout_since_is_honoured(cli):
    scoring_data.load_dated(scoring_data.make_drifting(3000))
    cli.ok("score", "train", "--holdout-since", "2024-07-01")
    bt = _model(cli)["backtest"]
    assert bt["method"] == "time" and bt["holdout_since"].startswith("2024-07-01")
    assert 1300 < bt["holdout"] < 1700  # half the year


def test_outcomes_without_dates_fall_back_to_the_random_split_and_say_so(cli):
    # Disqualified leads without a status change: their outcome date is not known.
    scoring_data.load(scoring_data.make(900, seed=31))
    cli.ok("score", "train")
    m = _model(cli)
    assert m["backtest"]["method"] == "random" and m["backtest"]["holdout_since"] is None
    assert "random split" in m["backtest"]["note"] and "random-split" in m["readiness"]["why"]
    table = cli.ok("-f", "table", "score", "model", env={"COLUMNS": "200"}).stdout
    assert "backtest by time" in table and "none:" in table


def test_dates_stamped_by_an_import_are_not_known(cli, tmp_path):
    rows = ["name,email,source,status"] + [
        f"P{i},p{i}@example.org,{'referral' if i % 3 == 0 else 'web'},{'Won' if i % 3 == 0 or i % 7 == 0 else 'Lost'}"
        for i in range(300)]
    path = tmp_path / "past.csv"
    path.write_text("\n".join(rows) + "\n")
    cli.ok("import", str(path), "--status-map", "Won=converted", "--status-map", "Lost=disqualified")
    cli.ok("score", "train")
    bt = _model(cli)["backtest"]
    assert bt["method"] == "random" and bt["undated"] == 300


def test_untrusted_model_scores_nothing_and_says_why(cli):
    rng = np.random.default_rng(3)
    leads = [{"name": f"N{i}", "email": f"n{i}@x.org", "phone": f"+1777{i:06d}", "fields": {"Colour": str(rng.choice(
        ["red", "blue", "green"]))}, "source": str(rng.choice(["web", "ads"])),
        "status": str(rng.choice(["converted", "disqualified"]))} for i in range(600)]
    scoring_data.load(leads)
    lead = cli.ok("-q", "add", "Ana", "--source", "web").stdout.strip()
    cli.ok("score", "train")
    m = _model(cli)
    assert m["readiness"]["verdict"] == "not ready" and m["trusted"] is False
    result = cli("score", "run", "--all")
    assert result.exit_code == 1 and "cannot be trusted, so no lead was scored" in result.stderr
    assert "under 0.65" in result.stderr and "hint:" in result.stderr
    assert json.loads(cli.ok("-f", "json", "show", lead).stdout)["grade"] is None


def test_pinned_score_survives_training_and_runs_until_released(cli):
    scoring_data.load(scoring_data.make(900, seed=21, open_share=0.2))
    cli.ok("score", "train")
    cli.ok("score", "run", "--all")
    lead = cli.ok("-q", "add", "Cold Carl", "--source", "cold call", "--field", "Industry=Public").stdout.strip()
    model_score = json.loads(cli.ok("-f", "json", "show", lead).stdout)["score"]
    result = cli.ok("score", "set", lead, "90", "--reason", "met the CFO", env={"LEADCLI_USER": "maria"})
    assert "pinned at 90" in result.stderr and "maria" in result.stderr
    cli.ok("score", "train")
    cli.ok("score", "run", "--all")
    cli.ok("score", "run", lead)
    shown = json.loads(cli.ok("-f", "json", "show", lead).stdout)
    assert shown["score"] == 90 and shown["grade"] == "A"
    card = json.loads(cli.ok("-f", "json", "score", "explain", lead).stdout)
    assert card["score"] == 90 and card["pinned"]["reason"] == "met the CFO" and card["pinned"]["who"] == "maria"
    assert card["model_score"] == model_score
    table = cli.ok("-f", "table", "score", "explain", lead, env={"COLUMNS": "200"}).stdout
    assert "pinned by maria" in table and "met the CFO" in table
    assert cli("score", "set", lead, "101", "--reason", "x").exit_code == 2
    assert cli("score", "set", "99999", "50", "--reason", "x").exit_code == 1
    released = cli.ok("score", "unset", lead)
    assert f"the model scores it {model_score}" in released.stderr
    assert json.loads(cli.ok("-f", "json", "show", lead).stdout)["score"] == model_score
    assert cli("score", "unset", lead).exit_code != 0


def test_score_run_twice_changes_nothing_the_second_time(cli):
    scoring_data.load(scoring_data.make(900, seed=21, open_share=0.3))
    cli.ok("score", "train")
    cli.ok("score", "run", "--all")
    before = json.loads(cli.ok("-f", "json", "list", "--limit", "1000").stdout)
    with store.session() as s:
        history = store.raw_connection(s).execute("SELECT count(*) FROM score_history").fetchone()[0]
    cli.ok("score", "run", "--all")
    after = json.loads(cli.ok("-f", "json", "list", "--limit", "1000").stdout)
    assert before == after
    with store.session() as s:
        assert store.raw_connection(s).execute("SELECT count(*) FROM score_history").fetchone()[0] == history


def test_stale_by_age_warns_in_model_list_and_explain_and_if_stale_retrains(cli):
    scoring_data.load(scoring_data.make(900, seed=21, open_share=0.2))
    cli.ok("score", "train")
    cli.ok("score", "run", "--all")
    current = cli.ok("score", "train", "--if-stale")
    assert "is current: not retrained" in current.stderr and _model(cli)["id"] == 1
    later = {"LEADCLI_NOW": "2099-01-01T00:00:00Z"}
    m = json.loads(cli.ok("-f", "json", "score", "model", env=later).stdout)
    assert m["stale"] is True and "days ago (over 30)" in m["stale_reasons"][0]
    assert "warning: the scoring model is stale" in cli.ok("list", env=later).stderr
    assert "warning: the scoring model is stale" in cli.ok("score", "explain", "1", env=later).stderr
    assert "stale" not in cli.ok("list").stderr
    assert "retraining" in cli.ok("score", "train", "--if-stale", env=later).stderr
    assert _model(cli)["id"] == 2


def test_stale_by_new_outcomes_and_by_score_drift(cli):
    scoring_data.load(scoring_data.make(900, seed=21))
    cli.ok("score", "train")
    scoring_data.load(scoring_data.make(200, seed=41))  # 200 new outcomes: over 20 % of 900
    m = _model(cli)
    assert m["stale"] and "leads closed since training" in m["stale_reasons"][0]
    cli.ok("score", "train")
    hot = [d | {"source": "referral", "fields": d["fields"] | {"Industry": "Software", "Employees": "5000"}}
           for d in scoring_data.make(400, seed=42, open_share=1.0)]
    scoring_data.load(hot)  # open leads unlike any the model learnt from
    cli.ok("score", "run", "--all")
    m = _model(cli)
    assert m["stale"] and m["psi"] > 0.2 and "population stability index" in " ".join(m["stale_reasons"])


def test_psi_of_identical_distributions_is_zero_and_grows_with_shift():
    same = [0.1] * 10
    assert scoring_health.psi(same, same) == pytest.approx(0.0)
    shifted = [0.0] * 5 + [0.2] * 5
    assert scoring_health.psi(same, shifted) > 0.2


def test_scores_are_calibrated_within_5_points_per_decile_on_a_large_holdout():
    scoring_data.load(scoring_data.make(20000, seed=51))
    with store.session(write=True) as s:
        scoring_train.train(s)
        m = scoring.require_model(s)
    fresh = scoring_data.make(30000, seed=52)
    columns = {f.name: [scoring.lead_values(m, d)[f.name] for d in fresh] for f in m.features}
    p = np.array(m.scores(columns, len(fresh))) / 100
    y = np.array([d["converted"] for d in fresh], dtype=float)
    order = np.argsort(p, kind="stable")
    for part in np.array_split(order, 10):
        assert abs(p[part].mean() - y[part].mean()) * 100 < 5


def test_default_bands_follow_the_base_rate():
    assert scoring.base_rate_bands(0.38) == {"A": 61, "B": 38, "C": 20}
    assert scoring.base_rate_bands(0.05) == {"A": 12, "B": 5, "C": 2}
    for rate in (0.001, 0.2, 0.5, 0.9, 0.999):
        b = scoring.base_rate_bands(rate)
        assert 100 >= b["A"] > b["B"] > b["C"] >= 1


def test_readme_example_shows_a_leads(cli):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "leads.csv"
    cli.ok("import", str(example))
    cli.ok("score", "train")
    cli.ok("score", "run", "--all")
    listed = json.loads(cli.ok("-f", "json", "list", "--sort", "score", "--grade", "A").stdout)
    assert listed and all(row["grade"] == "A" for row in listed)
    cli.ok("score", "grades", "--a", "99")
    assert cli.ok("-f", "json", "score", "grades").stdout.count('"from": 99') == 1


def test_reasons_carry_their_evidence_and_excluded_fields_are_reported(cli):
    scoring_data.load(scoring_data.make(900, seed=21, open_share=0.1))
    cli.ok("score", "train", "--exclude", "Newsletter")
    m = _model(cli)
    assert m["excluded"] == ["Newsletter"] and "Newsletter" not in [f["field"] for f in m["features"]]
    assert {"field": "Newsletter", "why": "excluded (--exclude)"} in m["skipped"]
    assert "Newsletter" in cli.ok("-f", "table", "score", "model", env={"COLUMNS": "200"}).stdout
    lead = cli.ok("-q", "add", "Rita", "--source", "referral").stdout.strip()
    card = json.loads(cli.ok("-f", "json", "score", "explain", lead).stdout)
    text = next(r["text"] for r in card["for"] if r["field"] == "source")
    import re

    assert re.search(r"source is referral: [\d,]+ of [\d,]+ referral leads converted: \d+ % vs \d+ % overall", text)


def test_engagement_features_from_activities_before_the_outcome_lift_the_backtest(cli):
    leads = scoring_data.make_engaged(1500)
    scoring_data.load_dated(leads)
    scoring_data.load_activities(leads)
    cli.ok("score", "train", "--exclude", "activities: *")
    without = _model(cli)
    cli.ok("score", "train")
    with_activity = _model(cli)
    used = [f["field"] for f in with_activity["features"]]
    assert "activities: reached (count)" in used or "activities: reached (yes/no)" in used
    # The meeting after each conversion never counts: before the outcome, no lead had one.
    assert "activities: meeting (count)" not in used
    assert with_activity["backtest"]["method"] == "time"
    assert with_activity["backtest"]["auc"] > without["backtest"]["auc"] + 0.05
    # Open leads are scored on their activities too.
    hot = cli.ok("-q", "add", "Hot", "--source", "web").stdout.strip()
    cold = cli.ok("-q", "add", "Cold", "--source", "web").stdout.strip()
    for _ in range(3):
        cli.ok("log", hot, "call", "--outcome", "reached")
    cli.ok("score", "run", hot, cold)
    scores = {row["id"]: row["score"] for row in json.loads(cli.ok("-f", "json", "list").stdout)}
    assert scores[int(hot)] > scores[int(cold)] + 10
    reasons = json.loads(cli.ok("-f", "json", "score", "explain", hot).stdout)["for"]
    assert any(r["field"].startswith("activities:") for r in reasons)
