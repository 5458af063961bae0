"""Scoring trust: the backtest by time against the random split, engagement features, and whether a
second model family (HistGradientBoosting) beats logistic regression.

    python bench/score_backtest.py

1. Synthetic leads over a year whose source mix and industry effects drift (tests/scoring_data.py):
   `score train` reports the time-split and random-split AUC; the time split must be the lower.
2. Synthetic leads whose outcome depends on the calls before it (tests/scoring_data.py), with a meeting
   logged after every conversion: backtest AUC with and without the engagement features.
3. Logistic regression against HistGradientBoosting, the same one-hot/number inputs: on X Education (a
   stratified 20 % hold-out, seed 42: its export has no outcome dates) and on the drifting leads' time split.
   A second family is offered only if it wins by >= 0.01 AUC.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import scoring_data  # noqa: E402
from _common import ROOT  # noqa: E402
from score_quality import LEAKY  # noqa: E402

XED = ROOT.parent / "shared" / "data" / "x-education-leads" / "Leads.csv.gz"


def _train(db: Path, **options):
    os.environ["LEADCLI_DB"] = str(db)
    from leadcli import scoring_train, store

    with store.session(write=True) as s:
        return scoring_train.train(s, **options).payload


def drift(work: Path) -> list:
    leads = scoring_data.make_drifting(20_000)
    os.environ["LEADCLI_DB"] = str(work / "drift.db")
    scoring_data.load_dated(leads)
    p = _train(work / "drift.db")
    print("\n### Drifting synthetic leads (20,000 closed over a year; referrals grow, industry effects fade)\n")
    print("| split | hold-out | AUC | Brier |")
    print("|---|---:|---:|---:|")
    bt, rs = p["backtest"], p["metrics"]
    print(f"| time (closed since {bt['holdout_since'][:10]}) | {bt['holdout']:,} | {bt['auc']:.4f} "
          f"| {bt['brier']:.4f} |")
    print(f"| random (stratified 20 %) | {rs['holdout']:,} | {rs['auc']:.4f} | {rs['brier']:.4f} |")
    print(f"\nverdict: {p['readiness']['verdict']} ({p['readiness']['why']})")
    return leads


def engagement(work: Path) -> None:
    leads = scoring_data.make_engaged(8000)
    os.environ["LEADCLI_DB"] = str(work / "engaged.db")
    scoring_data.load_dated(leads)
    scoring_data.load_activities(leads)
    without = _train(work / "engaged.db", exclude=["activities: *"])
    with_ = _train(work / "engaged.db")
    print("\n### Synthetic leads with activities (8,000 closed; outcome driven by calls that reached the person)\n")
    print("| features | time-split AUC | random-split AUC | engagement fields used |")
    print("|---|---:|---:|---|")
    for label, p in (("lead fields only", without), ("plus engagement from activities", with_)):
        used = [f["name"] for f in p["features"] if f["from"] == "activity"]
        print(f"| {label} | {p['backtest']['auc']:.4f} | {p['metrics']['auc']:.4f} | {', '.join(used) or '—'} |")


def _matrix(frame, cat: list[str], num: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                              OneHotEncoder(min_frequency=20, handle_unknown="infrequent_if_exist",
                                            sparse_output=False)), cat),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num)])


def _compare(frame, y: np.ndarray, cat: list[str], num: list[str], fit: np.ndarray, test: np.ndarray) -> tuple:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    out = []
    for est in (LogisticRegression(max_iter=2000), HistGradientBoostingClassifier(random_state=42)):
        model = make_pipeline(_matrix(frame, cat, num), est).fit(frame.iloc[fit], y[fit])
        out.append(roc_auc_score(y[test], model.predict_proba(frame.iloc[test])[:, 1]))
    return tuple(out)


def families(drifting: list) -> None:
    import fnmatch

    import pandas as pd
    from sklearn.model_selection import train_test_split

    print("\n### Logistic regression against HistGradientBoosting (same inputs)\n")
    print("| data | split | logistic AUC | HistGradientBoosting AUC | difference |")
    print("|---|---|---:|---:|---:|")
    if XED.exists():
        df = pd.read_csv(XED)
        y = df.pop("Converted").to_numpy()
        keep = [c for c in df.columns if c not in ("Prospect ID", "Lead Number")
                and not any(fnmatch.fnmatch(c, pattern) for pattern in LEAKY)]
        df = df[keep]
        num = [c for c in keep if df[c].dtype.kind in "if"]
        cat = [c for c in keep if c not in num]
        df[cat] = df[cat].astype(str).replace({"nan": None, "Select": None})
        fit, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=42)
        lr, hgb = _compare(df, y, cat, num, fit, test)
        print(f"| X Education (strict columns) | random 20 % | {lr:.4f} | {hgb:.4f} | {hgb - lr:+.4f} |")
    frame = pd.DataFrame([{"source": d["source"], **d["fields"]} for d in drifting])
    y = np.array([d["converted"] for d in drifting], dtype=int)
    order = np.argsort([d["closed_at"] for d in drifting], kind="stable")
    cut = int(len(order) * 0.8)
    lr, hgb = _compare(frame, y, ["source", "Industry", "Newsletter"], [], np.sort(order[:cut]), np.sort(order[cut:]))
    print(f"| drifting synthetic | time (newest 20 %) | {lr:.4f} | {hgb:.4f} | {hgb - lr:+.4f} |")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="score-backtest-"))
    print("## score backtest")
    drifting = drift(work)
    engagement(work)
    families(drifting)


if __name__ == "__main__":
    main()
