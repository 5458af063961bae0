"""Scoring quality: the real X Education leads, and synthetic leads drawn from a known logistic model.

    python bench/score_quality.py [--synthetic 40000]

1. X Education (../shared/data/x-education-leads/Leads.csv.gz), loaded with `leadcli import`
   (`Converted` mapped to the status: 1 converted, 0 disqualified), then `leadcli score train`:
   - with every column: the leaky ones (Tags, Lead Quality) must be flagged and the verdict "suspicious";
   - with the leaky columns excluded (Tags, Lead Quality, Lead Profile, Asymmetrique*, How did you hear,
     Last Activity, Last Notable Activity): target hold-out ROC AUC >= 0.86 and < 0.95.
2. Synthetic: half the leads closed (training), half open; `score run --all` scores the open half, whose
   outcomes were drawn from the known probabilities. Target: the AUC of leadcli's integer scores within
   0.01 of the AUC of the true probabilities on the same leads.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _score_data  # noqa: E402
from _common import LEADCLI, ROOT  # noqa: E402

XED = ROOT.parent / "shared" / "data" / "x-education-leads" / "Leads.csv.gz"
ENGAGEMENT_NUMBERS = ["TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"]
LEAKY = ["Tags", "Lead Quality", "Lead Profile", "Asymmetrique*", "How did you hear*", "Last Activity",
         "Last Notable Activity"]


def leadcli(db: Path, *args: str) -> str:
    proc = subprocess.run(LEADCLI + ["--format", "json", *args], capture_output=True, text=True,
                          env={"LEADCLI_DB": str(db), "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        raise SystemExit(f"leadcli {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half (independent of scikit-learn)."""
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def x_education(work: Path) -> None:
    if not XED.exists():
        print("X Education file not found; skipped", file=sys.stderr)
        return
    db = work / "xed.db"
    leadcli(db, "import", str(XED), "--map", "Converted=status", "--status-map", "0=disqualified",
            "--status-map", "1=converted", "--missing", "Select")
    print("\n### X Education (9,240 real leads; stratified 20 % hold-out, seed 42)\n")
    print("| fields | model | hold-out AUC | Brier | verdict | backtest | leaks flagged |")
    print("|---|---|---:|---:|---|---|---|")
    strict = [a for f in LEAKY for a in ("--exclude", f)]
    no_engagement = strict + [a for f in ENGAGEMENT_NUMBERS for a in ("--exclude", f)]
    with_last_activity = [a for f in LEAKY if f != "Last Activity" for a in ("--exclude", f)]
    for label, args in (("every column except the ids", []),
                        ("leaky columns excluded (strict)", strict),
                        ("strict, without the engagement numbers (visits, time on site, pages per visit)",
                         no_engagement),
                        ("strict, plus Last Activity as engagement", with_last_activity)):
        m = json.loads(leadcli(db, "score", "train", *args))
        met = m["random_split"]
        print(f"| {label} | {m['kind']} | {met['auc']:.4f} | {met['brier']:.4f} "
              f"| {m['readiness']['verdict']} | {m['backtest']['method']} "
              f"| {', '.join(x['field'] for x in m['leaks']) or 'none'} |")


def synthetic(work: Path, n: int) -> None:
    db = work / "synthetic.db"
    d = _score_data.draw(n, seed=5, open_share=0.5)
    _score_data.write(db, d)
    m = json.loads(leadcli(db, "score", "train"))
    leadcli(db, "score", "run", "--all")
    con = sqlite3.connect(db)
    scores = dict(con.execute("SELECT id, score FROM lead WHERE status = 'new'"))
    ids = np.flatnonzero(d["open"]) + 1
    ours = np.array([scores[int(i)] for i in ids], dtype=float)
    y = d["y"][d["open"]].astype(int)
    truth = auc(y, d["p"][d["open"]])
    got = auc(y, ours)
    print(f"\n### Synthetic leads from a known logistic model ({n // 2:,} closed to train, {len(ids):,} open to score)\n")
    print("| | AUC on the open leads' drawn outcomes |")
    print("|---|---:|")
    print(f"| true generating probabilities | {truth:.4f} |")
    print(f"| leadcli integer scores (`score run --all`) | {got:.4f} |")
    print(f"| difference (target ≤ 0.01) | {truth - got:+.4f} |")
    print(f"\nmodel: {m['kind']}, hold-out AUC {m['random_split']['auc']}, fields used: "
          f"{', '.join(f['field'] for f in m['features'])}; not used: "
          f"{', '.join(s['field'] + ' (' + s['why'] + ')' for s in m['skipped'])}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synthetic", type=int, default=40_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="score-quality-"))
    print("## score quality")
    x_education(work)
    synthetic(work, args.synthetic)


if __name__ == "__main__":
    main()
