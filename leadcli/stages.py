"""The stage machine: every status a lead or a deal can have, which may follow which, and their order.

Declares only; `leads.set_status` applies a change and `stage_moves` moves many leads at once.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A lead's stage: open (new, contacted, qualified) or terminal (converted, disqualified)."""

    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    converted = "converted"
    disqualified = "disqualified"


class DealStatus(str, Enum):
    open = "open"
    won = "won"
    lost = "lost"
    reverted = "reverted"  # turned back into a lead (`deals to-lead`)


OPEN_STATUSES = (Status.new.value, Status.contacted.value, Status.qualified.value)
TERMINAL_STATUSES = (Status.converted.value, Status.disqualified.value)
STATUS_ORDER = {s.value: i for i, s in enumerate(Status)}
# How far a lead has come, for an import that may only move a lead forward: the two terminal
# stages are equally far, so a file never turns a converted lead into a disqualified one or back.
STATUS_RANK = {"new": 0, "contacted": 1, "qualified": 2, "converted": 3, "disqualified": 3}

# Which status may follow which. Terminal states are left only by `reopen` (disqualified)
# or by turning a deal back into a lead (converted), both of which pass `reopening=True`.
TRANSITIONS: dict[str, set[str]] = {
    "new": {"contacted", "qualified", "disqualified", "converted"},
    "contacted": {"new", "qualified", "disqualified", "converted"},
    "qualified": {"new", "contacted", "disqualified", "converted"},
    "disqualified": set(),
    "converted": set(),
}


def allowed_next(current: str, *, reopening: bool = False) -> set[str]:
    """The statuses a lead in `current` may move to (any open stage too when reopening)."""
    return TRANSITIONS[current] | (set(OPEN_STATUSES) if reopening else set())


def transition_hint(current: str, to: str) -> str:
    """What to do instead of a move the stages do not allow."""
    if current == "disqualified":
        return f"reopen it first: `leadcli reopen ID`, then move it to {to}"
    if current == "converted":
        return "a converted lead stays converted; turn its deal back into a lead with `leadcli deals to-lead DEAL_ID`"
    return "open stages are new, contacted and qualified; converted and disqualified are final"
