"""Scoring speed: `leadcli score train` + `leadcli score run --all` on 1,000,000 leads against a bare
scikit-learn script doing the same job (load, fit, predict, write back) in one run; and `leadcli add`
with a model active against `add` without one.

    python bench/score_speed.py [--leads 1000000] [--open-share 0.4] [--runs 3] [--add-runs 15] [--db PATH]

Targets: leadcli ≤ 1.2× the bare script; peak RSS ≤ 1.5 GB; `add` with a model ≤ 1.05× without.
Closed leads carry outcome dates over 2024, so `score train` also backtests by time.
The leads are synthetic (bench/_score_data.py): source, owner, value, currency and five custom fields
(Industry, Country, Employees, Visits, Newsletter), plus unique names, e-mails and phones that the
model must leave out. Each contender starts from a fresh copy of the same database file.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _score_data  # noqa: E402
from _common import LEADCLI, PY, run_timed  # noqa: E402

BARE = r'''
import json, sqlite3, sys
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

con = sqlite3.connect(sys.argv[1])
df = pd.read_sql("SELECT id, status, source, owner, value_cents, currency, fields FROM lead", con)
custom = pd.DataFrame.from_records([json.loads(f) for f in df.pop("fields")])
df = pd.concat([df, custom], axis=1)
cat = ["source", "owner", "currency", "Industry", "Country", "Newsletter"]
num = ["value_cents", "Employees", "Visits"]
for c in num:
    df[c] = pd.to_numeric(df[c], errors="coerce")
closed = df[df.status.isin(["converted", "disqualified"])]
model = make_pipeline(
    ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                              OneHotEncoder(min_frequency=20, handle_unknown="infrequent_if_exist")), cat),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num)]),
    LogisticRegression(max_iter=1000))
model.fit(closed[cat + num], closed.status == "converted")
open_ = df[df.status.isin(["new", "contacted", "qualified"])]
scores = np.rint(model.predict_proba(open_[cat + num])[:, 1] * 100).astype(int)
con.executemany("UPDATE lead SET score = ? WHERE id = ?", zip(scores.tolist(), open_.id.tolist()))
con.commit()
print(len(open_))
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--open-share", type=float, default=0.4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--add-runs", type=int, default=15)
    ap.add_argument("--db", type=Path, help="keep the generated database here between runs")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="score-speed-"))
    base = args.db or work / "base.db"
    if not base.exists():
        print(f"writing {args.leads:,} synthetic leads to {base} ...", file=sys.stderr)
        _score_data.write(base, _score_data.draw(args.leads, seed=3, open_share=args.open_share))
    bare_script = work / "bare.py"
    bare_script.write_text(BARE)
    copy = work / "run.db"

    def fresh() -> Path:
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        shutil.copyfile(base, copy)
        return copy

    bare, ours, train_t, run_t, rss_bare, rss_ours = [], [], [], [], 0, 0
    for i in range(args.runs):
        t, rss = run_timed([PY, str(bare_script), str(fresh())])
        bare.append(t)
        rss_bare = max(rss_bare, rss)
        env = {"LEADCLI_DB": str(fresh())}
        t1, r1 = run_timed(LEADCLI + ["-q", "score", "train"], env)
        t2, r2 = run_timed(LEADCLI + ["-q", "score", "run", "--all"], env)
        train_t.append(t1)
        run_t.append(t2)
        ours.append(t1 + t2)
        rss_ours = max(rss_ours, r1, r2)
        print(f"run {i + 1}: bare {bare[-1]:.2f} s, leadcli train {t1:.2f} s + run {t2:.2f} s", file=sys.stderr)

    # `add` with the model that the last run left active, against the same database without a model.
    with_model = work / "with.db"
    shutil.copyfile(copy, with_model)
    without = fresh()
    add_with, add_without = [], []
    for i in range(args.add_runs + 1):
        a, _ = run_timed(LEADCLI + ["-q", "add", f"Bench {i}", "--source", "referral", "--field", "Industry=Retail",
                                    "--field", "Employees=120"], {"LEADCLI_DB": str(with_model)})
        b, _ = run_timed(LEADCLI + ["-q", "add", f"Bench {i}", "--source", "referral", "--field", "Industry=Retail",
                                    "--field", "Employees=120"], {"LEADCLI_DB": str(without)})
        if i:  # the first pair warms the page cache
            add_with.append(a)
            add_without.append(b)

    med = statistics.median
    print(f"\n## score speed ({args.leads:,} leads, {args.open_share:.0%} open; median of {args.runs})\n")
    print("| step | leadcli | bare scikit-learn | ratio | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| train + run --all | {med(ours):.2f} s (train {med(train_t):.2f} + run {med(run_t):.2f}) "
          f"| {med(bare):.2f} s | {med(ours) / med(bare):.2f}× | ≤ 1.2× |")
    print(f"| peak RSS | {rss_ours / 1024:.0f} MB | {rss_bare / 1024:.0f} MB | | ≤ 1.5 GB |")
    print(f"| `add` (median of {args.add_runs}) | {med(add_with) * 1000:.0f} ms with a model "
          f"| {med(add_without) * 1000:.0f} ms without | {med(add_with) / med(add_without):.2f}× | ≤ 1.05× |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
