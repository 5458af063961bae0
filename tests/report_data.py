"""Generated leads with random statuses, dates and histories, written straight into the schema.

Used by the report tests (which check every report against pandas over the same rows). Histories
follow the lead rules: open stages move freely, a disqualified lead is reopened, a converted lead
goes back to open (its deal turned back into a lead) and may convert again.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
from pathlib import Path

import dbshim

SOURCES = ["Web", "web", "Cold Call", "Referral", "Trade Show", None]
OWNERS = ["maria", "sam", "li", None]
TAGS = ["vip", "eu", "trial"]
INDUSTRIES = ["Retail", "Finance", "Health", None]
REASONS = ["no budget", "No Budget", "competitor", "no need", "bad timing"]
OPEN = ["new", "contacted", "qualified"]


def _iso(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(n: int = 400, seed: int = 7, start: str = "2025-06-01", days: int = 540) -> dict[str, list]:
    """Rows for the lead, status_change and lead_tag tables (dicts), ids from 1."""
    rng = random.Random(seed)
    base = _dt.datetime.fromisoformat(start)
    leads, changes, tags = [], [], []
    for lead_id in range(1, n + 1):
        created = base + _dt.timedelta(seconds=rng.randrange(days * 86400))
        first = rng.choices(["new", "contacted", "qualified", "converted", "disqualified"],
                            weights=[70, 10, 8, 6, 6])[0]
        history = [(None, first, created, "created")]
        status, moment = first, created
        for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 5, 6])):
            moment = moment + _dt.timedelta(seconds=rng.randrange(3600, 40 * 86400))
            if status == "disqualified":
                to, reason = rng.choice(OPEN), "reopened"
            elif status == "converted":
                to, reason = rng.choice(OPEN), "deal turned back into a lead"
            else:
                to = rng.choice([s for s in OPEN + ["converted", "converted", "disqualified"] if s != status])
                reason = rng.choice(REASONS) if to == "disqualified" else None
            history.append((status, to, moment, reason))
            status = to
        if first == "disqualified":
            history[0] = (None, "disqualified", created, "created")
        for frm, to, at, reason in history:
            changes.append({"lead_id": lead_id, "from_status": frm, "to_status": to, "at": _iso(at),
                            "reason": reason})
        last = history[-1]
        reason = last[3] if status == "disqualified" else None
        if status == "disqualified" and reason in (None, "created"):
            reason = rng.choice(REASONS + [None])
        currency = rng.choice(["USD", "USD", "USD", "EUR", None])
        value = rng.choice([None, rng.randrange(0, 5_000_000)]) if currency else None
        fields = {}
        industry = rng.choice(INDUSTRIES)
        if industry:
            fields["Industry"] = industry
        leads.append({
            "id": lead_id, "name": f"Lead {lead_id}", "source": rng.choice(SOURCES), "owner": rng.choice(OWNERS),
            "company": rng.choice(["Acme", "Globex", None]), "value_cents": value, "currency": currency,
            "status": status, "status_reason": reason, "fields": json.dumps(fields),
            "grade": rng.choice(["A", "B", "C", "D", None]), "created_at": _iso(created),
            "updated_at": _iso(moment), "converted_at": _iso(last[2]) if status == "converted" else None,
            "archived_at": _iso(moment) if rng.random() < 0.05 else None,
        })
        for tag in TAGS:
            if rng.random() < 0.3:
                tags.append({"lead_id": lead_id, "tag": tag})
    return {"lead": leads, "status_change": changes, "lead_tag": tags}


def write(path: Path, data: dict[str, list]) -> None:
    """Insert the rows into a migrated database at `path`."""
    from leadcli import store

    store.migrate(path)
    con = dbshim.connect(path)
    with con:
        for table, rows in data.items():
            if not rows:
                continue
            keys = list(rows[0])
            con.executemany(f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                            [tuple(r[k] for k in keys) for r in rows])
    con.close()
