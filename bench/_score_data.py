"""Synthetic leads drawn from a known logistic model, written straight into a leadcli database.

Used by the scoring benchmarks: the true conversion probability of every lead is known, so a
trained model can be compared with the best any model could do on the same leads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SOURCES = ["web", "referral", "event", "partner", "ads", "cold call", "newsletter", "webinar"]
SOURCE_W = [0.0, 1.2, 0.5, 0.8, -0.4, -1.0, -0.2, 0.3]
OWNERS = [f"rep{i}" for i in range(10)]
OWNER_W = list(np.linspace(-0.6, 0.6, 10))
INDUSTRIES = ["Retail", "Banking", "Health", "Education", "Software", "Logistics", "Energy", "Media",
              "Travel", "Food", "Legal", "Public"]
INDUSTRY_W = list(np.linspace(-0.9, 0.9, 12))
COUNTRIES = [f"C{i:02d}" for i in range(25)]  # a few are rare: grouped by the model
INTERCEPT = -0.9


def draw(n: int, seed: int = 1, open_share: float = 0.0) -> dict:
    """n leads as columns plus their true probability and outcome; `open_share` of them stay open."""
    rng = np.random.default_rng(seed)
    src = rng.choice(len(SOURCES), n, p=[0.3, 0.1, 0.08, 0.07, 0.2, 0.1, 0.1, 0.05])
    own = rng.integers(0, len(OWNERS), n)
    ind = rng.integers(0, len(INDUSTRIES), n)
    country_p = np.r_[np.full(20, 0.0495), np.full(5, 0.0002)]
    ctry = rng.choice(len(COUNTRIES), n, p=country_p / country_p.sum())
    employees = np.round(np.exp(rng.normal(4.0, 1.2, n)))
    visits = rng.poisson(4, n).astype(float)
    visits_missing = rng.random(n) < 0.05
    value = np.round(np.exp(rng.normal(8.0, 1.0, n)), 2)  # no effect: noise the model must shrug off
    newsletter = rng.random(n) < 0.4
    z = (INTERCEPT + np.take(SOURCE_W, src) + np.take(OWNER_W, own) + np.take(INDUSTRY_W, ind)
         + 0.7 * (np.log(employees + 1) - 4.0) / 1.2 + 0.35 * (np.minimum(visits, 12) - 4) / 2
         + np.where(visits_missing, -0.5, 0.0) + np.where(newsletter, 0.4, 0.0))
    p = 1 / (1 + np.exp(-z))
    y = rng.random(n) < p
    is_open = rng.random(n) < open_share
    return {"n": n, "src": src, "own": own, "ind": ind, "ctry": ctry, "employees": employees, "visits": visits,
            "visits_missing": visits_missing, "value": value, "newsletter": newsletter, "p": p, "y": y,
            "open": is_open}


def rows(d: dict, now: str, start_id: int = 1):
    """INSERT parameters for the lead table, one tuple per lead (a generator: 1M leads stay small)."""
    for i in range(d["n"]):
        fields = {"Industry": INDUSTRIES[d["ind"][i]], "Country": COUNTRIES[d["ctry"][i]],
                  "Employees": str(int(d["employees"][i])), "Newsletter": "Yes" if d["newsletter"][i] else "No"}
        if not d["visits_missing"][i]:
            fields["Visits"] = str(int(d["visits"][i]))
        lead_id = start_id + i
        status = "new" if d["open"][i] else ("converted" if d["y"][i] else "disqualified")
        yield (lead_id, f"Lead {lead_id}", f"lead{lead_id}@example.com", f"+1555{lead_id:07d}",
               SOURCES[d["src"][i]], OWNERS[d["own"][i]], int(round(d["value"][i] * 100)), "EUR", status,
               json.dumps(fields), now, now, closed_at(lead_id) if status == "converted" else None)


def closed_at(lead_id: int) -> str:
    """An outcome date spread over 2024 by id, so `score train` backtests by time as it would on real data."""
    day = lead_id % 366
    return f"2024-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T12:00:00Z"


def status_rows(d: dict, start_id: int = 1):
    """The status change to `disqualified` of each disqualified lead, dated as `closed_at`."""
    for i in range(d["n"]):
        if not d["open"][i] and not d["y"][i]:
            yield (start_id + i, "new", "disqualified", closed_at(start_id + i), "bench")


def write(path: Path, d: dict, start_id: int = 1) -> None:
    """Append the leads to a (migrated) leadcli database with executemany, indexes as the schema has them."""
    sys.path.insert(0, str(ROOT))
    from leadcli import store

    store.migrate(path)
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    con.executemany("INSERT INTO lead (id, name, email, phone, source, owner, value_cents, currency, status, fields, "
                    "created_at, updated_at, converted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows(d, "2025-06-01T12:00:00Z", start_id))
    con.executemany("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?,?,?,?,?)",
                    status_rows(d, start_id))
    con.commit()
    con.close()
