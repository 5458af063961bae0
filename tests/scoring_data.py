"""Leads drawn from a known logistic model, written straight into the schema (for the scoring tests)."""

from __future__ import annotations

import json
import math
import random

SOURCES = {"web": 0.0, "referral": 1.3, "event": 0.5, "ads": -0.6, "cold call": -1.2}
INDUSTRIES = {"Retail": -0.6, "Banking": 0.6, "Health": 0.2, "Software": 0.9, "Public": -0.9}


def true_logit(source: str, industry: str, employees: float | None, newsletter: str) -> float:
    z = -0.7 + SOURCES[source] + INDUSTRIES[industry] + (0.5 if newsletter == "Yes" else 0.0)
    if employees is not None:
        z += 0.8 * (math.log(employees + 1) - 4.0)
    return z


def make(n: int, seed: int = 1, open_share: float = 0.0, leak: bool = False) -> list[dict]:
    """Leads with names, e-mails and phones (never features) and four features with known weights."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        source = rng.choices(list(SOURCES), weights=[40, 10, 10, 25, 15])[0]
        industry = rng.choice(list(INDUSTRIES))
        employees = None if rng.random() < 0.05 else float(round(math.exp(rng.gauss(4.0, 1.0))))
        newsletter = "Yes" if rng.random() < 0.4 else "No"
        p = 1 / (1 + math.exp(-true_logit(source, industry, employees, newsletter)))
        converted = rng.random() < p
        fields = {"Industry": industry, "Newsletter": newsletter, "Lead code": f"LC-{seed}-{i:06d}",
                  "Comment": f"called on day {rng.randrange(10_000)} about the offer number {i}"}
        if employees is not None:
            fields["Employees"] = str(int(employees))
        if leak:
            # What sales writes after the call: it gives the outcome away.
            fields["Call outcome"] = ("Interested" if rng.random() < 0.99 else "Ringing") if converted else \
                rng.choice(["Ringing", "Not interested", "Ringing", "Wrong number"])
        status = "new" if rng.random() < open_share else ("converted" if converted else "disqualified")
        out.append({"name": f"Lead {seed}-{i}", "email": f"lead{seed}x{i}@example.com",
                    "phone": f"+1555{seed:02d}{i:05d}", "source": source, "status": status,
                    "fields": fields, "p": p, "converted": converted})
    return out


def insert(s, leads: list[dict]) -> None:
    """Write leads in the order given (ids follow it), through the session's raw connection."""
    from leadcli import store

    now = store.now_iso()
    store.raw_connection(s).executemany(
        "INSERT INTO lead (name, email, email_key, phone, phone_key, source, status, fields, created_at, updated_at, "
        "converted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(d["name"], d["email"], d["email"], d["phone"], d["phone"], d["source"], d["status"],
          json.dumps(d["fields"]), now, now, now if d["status"] == "converted" else None) for d in leads])


def load(leads: list[dict]) -> None:
    from leadcli import store

    with store.session(write=True) as s:
        insert(s, leads)


def make_drifting(n: int, seed: int = 7, start: str = "2024-01-01") -> list[dict]:
    """Closed leads over a year whose world drifts: referrals grow from 5 % to 45 % of leads, and the
    industries that used to convert stop doing so. Each lead has an outcome date (`closed_at`)."""
    import datetime as dt

    rng = random.Random(seed)
    day0 = dt.date.fromisoformat(start)
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        source = "referral" if rng.random() < 0.05 + 0.4 * t else rng.choice(["web", "ads", "event", "cold call"])
        industry = rng.choice(list(INDUSTRIES))
        newsletter = "Yes" if rng.random() < 0.4 else "No"
        z = -0.5 + SOURCES[source] + 2.4 * (1 - 2 * t) * INDUSTRIES[industry] + (0.4 if newsletter == "Yes" else 0)
        converted = rng.random() < 1 / (1 + math.exp(-z))
        closed = (day0 + dt.timedelta(days=int(365 * t))).isoformat() + "T12:00:00Z"
        out.append({"name": f"Drift {i}", "email": f"drift{seed}x{i}@example.com", "phone": f"+1666{seed:02d}{i:05d}",
                    "source": source, "status": "converted" if converted else "disqualified",
                    "fields": {"Industry": industry, "Newsletter": newsletter}, "converted": converted,
                    "closed_at": closed})
    return out


def load_dated(leads: list[dict]) -> None:
    """Closed leads with their outcome dates: converted_at, or the status change to disqualified."""
    from leadcli import store

    with store.session(write=True) as s:
        raw = store.raw_connection(s)
        for d in leads:
            cur = raw.execute(
                "INSERT INTO lead (name, email, email_key, phone, phone_key, source, status, fields, created_at, "
                "updated_at, converted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (d["name"], d["email"], d["email"], d["phone"], d["phone"], d["source"], d["status"],
                 json.dumps(d["fields"]), d["closed_at"], d["closed_at"],
                 d["closed_at"] if d["status"] == "converted" else None))
            (lead_id,) = cur.fetchone()
            raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?,?,?,?,?)",
                        (lead_id, "new", d["status"], d["closed_at"], "test"))


def make_engaged(n: int, seed: int = 9) -> list[dict]:
    """Closed leads whose outcome depends on how the calls before it went, plus a meeting logged after
    each conversion (which must not count: it happened after the outcome)."""
    import datetime as dt

    rng = random.Random(seed)
    out = []
    for i in range(n):
        created = dt.datetime(2025, 1, 1, 9) + dt.timedelta(hours=3 * i)
        source = rng.choice(list(SOURCES))
        calls = rng.randrange(0, 5)
        reached = sum(rng.random() < 0.4 for _ in range(calls))
        z = -1.0 + 0.5 * SOURCES[source] + 1.1 * reached - 0.2 * calls
        converted = rng.random() < 1 / (1 + math.exp(-z))
        closed = created + dt.timedelta(days=10)
        acts = [("call", "reached" if k < reached else "no answer", created + dt.timedelta(days=1 + k))
                for k in range(calls)]
        if converted:
            acts.append(("meeting", "held", closed + dt.timedelta(days=2)))
        iso = "%Y-%m-%dT%H:%M:%SZ"
        out.append({"name": f"E{i}", "email": f"e{seed}x{i}@example.com", "phone": f"+1888{seed:02d}{i:05d}",
                    "source": source, "status": "converted" if converted else "disqualified",
                    "fields": {}, "converted": converted, "closed_at": closed.strftime(iso),
                    "activities": [(k, o, at.strftime(iso)) for k, o, at in acts]})
    return out


def load_activities(leads: list[dict], first_id: int = 1) -> None:
    """The leads' activities (done), for leads loaded in order from `first_id`."""
    from leadcli import store

    with store.session(write=True) as s:
        store.raw_connection(s).executemany(
            "INSERT INTO activity (lead_id, type, outcome, at, done_at, created_at) VALUES (?,?,?,?,?,?)",
            [(first_id + i, kind, outcome, at, at, at) for i, d in enumerate(leads)
             for kind, outcome, at in d["activities"]])
