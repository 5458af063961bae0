"""SQLModel tables and enums. Declares the schema's Python side; does no I/O.

The DDL itself lives, frozen, in `migrations.py`; a test checks the two agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Table
from sqlmodel import Field, SQLModel

# The statuses are declared once, in `stages`; these names stay importable from here.
from leadcli.stages import OPEN_STATUSES as OPEN_STATUSES
from leadcli.stages import STATUS_ORDER as STATUS_ORDER
from leadcli.stages import TERMINAL_STATUSES as TERMINAL_STATUSES
from leadcli.stages import Status


class Lead(SQLModel, table=True):
    __tablename__ = "lead"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_key: str | None = Field(default=None, index=True)
    phone: str | None = None
    phone_key: str | None = Field(default=None, index=True)
    company: str | None = None
    title: str | None = None
    source: str | None = None
    owner: str | None = None
    value_cents: int | None = None
    currency: str | None = None
    status: str = Status.new.value
    status_reason: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column("fields", JSON, nullable=False))
    notes: str | None = None
    external_id: str | None = Field(default=None, index=True)
    score: int | None = None
    grade: str | None = None
    trend: str | None = None
    scored_at: str | None = None
    created_at: str
    updated_at: str
    converted_at: str | None = None
    archived_at: str | None = None
    # What the lead became (migration 3); for a repeat lead, the contact it came back as.
    contact_id: int | None = None
    company_id: int | None = None
    deal_id: int | None = None
    repeat_lead: bool = False
    # The lead that absorbed this one (`leadcli merge`); a merged lead leaves lists and reports.
    merged_into: int | None = None
    # Who added it (`add`, `intake`: LEADCLI_USER or the login name; migration 12).
    created_by: str | None = None

    @property
    def value(self) -> Decimal | None:
        return None if self.value_cents is None else Decimal(self.value_cents) / 100

    @property
    def key(self) -> int:
        """The id of a stored lead (one read from the database or flushed)."""
        if self.id is None:
            raise ValueError("the lead has no id until it is flushed")
        return self.id

    @property
    def display_name(self) -> str:
        """What a list shows: the name, else `Lead #<id>` (as Bitrix24 numbers untitled leads)."""
        return self.name or f"Lead #{self.id}"


class LeadTag(SQLModel, table=True):
    __tablename__ = "lead_tag"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    tag: str = Field(primary_key=True)


class StatusChange(SQLModel, table=True):
    __tablename__ = "status_change"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    from_status: str | None = None
    to_status: str
    at: str
    reason: str | None = None


# Tables only some commands need live in models_ext and are imported on first use, so `add` and
# `list` do not pay for defining them.
_EXTENDED = frozenset({"DealStatus", "Company", "Contact", "Deal", "CurrencyRate", "ScoreModel", "ScoreHistory",
                       "Setting", "ImportRun", "ImportChange"})


def __getattr__(name: str) -> Any:
    if name in _EXTENDED:
        from leadcli import models_ext

        return getattr(models_ext, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel class, for set-based statements."""
    return model.__table__  # type: ignore[attr-defined]


def load_all() -> None:
    """Define every table class (for schema checks and tools that need the whole metadata)."""
    from leadcli import models_ext  # noqa: F401


# ---------------------------------------------------------------- activities (migration 8)


class Activity(SQLModel, table=True):
    """Something done with a lead (a call, an e-mail ...) or planned for it (a next action).

    Logged: `at` and `done_at` set. Planned: `due_at` set, `done_at` empty until it is done;
    a lead's next action is its earliest open planned activity. Moments are ISO 8601 UTC.
    """

    __tablename__ = "activity"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    type: str
    text: str | None = None
    outcome: str | None = None
    at: str | None = None
    due_at: str | None = None
    done_at: str | None = None
    duration_s: int | None = None
    owner: str | None = None
    created_at: str
    # The import run that brought it in (its undo removes it).
    run_id: int | None = None
    # When the on-activity-due hook was told it is due (migration 11).
    due_announced_at: str | None = None
    # Who wrote it (`log`, `next`; migration 12); `owner` is whose it is.
    created_by: str | None = None


# ---------------------------------------------------------------- views, routing (migration m009)


class SavedView(SQLModel, table=True):
    """A named set of `list` filters, sort and columns (`leadcli view save`), kept as typed (JSON).

    Dates are stored as the user wrote them (`30d`, `today`) and read again at each use, so a
    view of "the last 30 days" moves with the calendar.
    """

    __tablename__ = "saved_view"

    name: str = Field(primary_key=True)
    filters: str = "{}"
    created_at: str
    updated_at: str


class RouteRule(SQLModel, table=True):
    """Who gets a new lead that matches `conditions` (JSON): an owner or a strategy (`round-robin:a,b`)."""

    __tablename__ = "route_rule"

    id: int | None = Field(default=None, primary_key=True)
    conditions: str = "{}"
    target: str
    created_at: str


class RouteState(SQLModel, table=True):
    """Where a round-robin rotation stands, so the next command continues it."""

    __tablename__ = "route_state"

    strategy: str = Field(primary_key=True)
    last_owner: str | None = None
    updated_at: str


class OwnerAway(SQLModel, table=True):
    """An owner routing skips until they are back (`owner_key` is the lower-cased name)."""

    __tablename__ = "owner_away"

    owner_key: str = Field(primary_key=True)
    owner: str
    since: str
    note: str | None = None


class OwnerChange(SQLModel, table=True):
    """A lead given to an owner by routing: the lead's ownership history beside its status history."""

    __tablename__ = "owner_change"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    from_owner: str | None = None
    to_owner: str
    at: str
    reason: str | None = None
