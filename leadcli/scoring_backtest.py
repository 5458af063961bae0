"""Backtesting a scoring model by time: hold out the most recently closed leads, as the future would.

A random split lets a model learn from leads closed after the ones it is tested on, which flatters
it when sources or campaigns drift. Here the hold-out is the newest share of closed leads by outcome
date (converted: its conversion date; disqualified: when it was disqualified). An outcome date an
import stamped because the file had none is not known, and such leads are never held out; when too
few leads have a known date the random split stands, and the model says so. numpy only; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sqlmodel import Session

HOLDOUT_SHARE = 0.2
MIN_HELD_PER_CLASS = 5


def outcome_at(t: Any) -> Any:
    """A SQL expression: the moment a closed lead's outcome was recorded (None when not closed)."""
    from sqlalchemy import case, func, select

    from leadcli.models import StatusChange

    sc = StatusChange.metadata.tables["status_change"].alias("outcome_change")
    disqualified = (select(func.max(sc.c.at)).where(sc.c.lead_id == t.c.id, sc.c.to_status == "disqualified")
                    .scalar_subquery())
    return case((t.c.status == "converted", t.c.converted_at), (t.c.status == "disqualified", disqualified),
                else_=None)


def import_stamps(s: Session) -> set[str]:
    """The moments imports ran at: an outcome dated exactly then was stamped, not read from the file."""
    from sqlalchemy import column, select, table

    run = table("import_run", column("started_at"))
    return {r for (r,) in s.connection().execute(select(run.c.started_at).distinct()) if r}


@dataclass
class Split:
    method: str  # "time" or "random"
    fit: np.ndarray | None = None  # rows learnt from (time split)
    test: np.ndarray | None = None  # rows held out (time split)
    since: str | None = None  # the first outcome moment held out
    undated: int = 0  # closed leads without a known outcome date
    note: str = ""


def time_split(moments: list[str | None], y: np.ndarray, since: str | None = None,
               share: float = HOLDOUT_SHARE) -> Split:
    """Hold out the leads closed at or after `since` (default: the newest `share` of dated ones)."""
    n = len(moments)
    dated = sorted(m for m in moments if m is not None)
    undated = n - len(dated)
    if not dated:
        return Split("random", undated=undated, note="no closed lead has a known outcome date: random split")
    if since is None:
        since = str(dated[min(len(dated) - 1, int(len(dated) * (1 - share)))])
    held = np.fromiter((m is not None and m >= since for m in moments), dtype=bool, count=n)
    fit = np.flatnonzero(~held)
    test = np.flatnonzero(held)
    yt, yf = y[test], y[fit]
    few = min(int(yt.sum()), int(len(yt) - yt.sum()), int(yf.sum()), int(len(yf) - yf.sum()))
    if few < MIN_HELD_PER_CLASS:
        why = (f"outcomes closed since {since[:10]} and before it need {MIN_HELD_PER_CLASS} of each result"
               if len(test) and len(fit) else f"the outcome dates do not spread out around {since[:10]}")
        return Split("random", since=since, undated=undated, note=f"{why}: random split")
    if len(test) > 0.6 * len(dated) and share == HOLDOUT_SHARE:
        return Split("random", since=since, undated=undated,
                     note="most outcomes share one date, so there is no time order: random split")
    note = f"held out the {len(test):,} leads closed since {since[:10]}"
    if undated:
        note += f"; {undated:,} closed leads without a known outcome date are only learnt from"
    return Split("time", fit, test, since, undated, note)


def subsample(rows: np.ndarray, limit: int, seed: int = 42) -> np.ndarray:
    """At most `limit` of `rows` (in order), drawn evenly at random: enough to measure a large model."""
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
