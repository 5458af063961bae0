"""Tables the everyday commands (add, list, show, edit) never touch: conversion, scoring, import
runs, currency rates. Defined apart so creating their SQLModel classes (tens of milliseconds) is
paid only by the commands that use them; `leadcli.models` hands them out on first use.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Field, SQLModel

from leadcli.stages import DealStatus

__all__ = ["DealStatus", "Company", "Contact", "Deal", "CurrencyRate", "ScoreModel", "ScoreHistory", "Setting",
           "ImportRun", "ImportChange"]

# ---------------------------------------------------------------- conversion (migration 3)


class Company(SQLModel, table=True):
    __tablename__ = "company"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_key: str = Field(index=True)
    domain: str | None = Field(default=None, index=True)
    owner: str | None = None
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    created_at: str
    updated_at: str


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_key: str | None = Field(default=None, index=True)
    phone: str | None = None
    phone_key: str | None = Field(default=None, index=True)
    title: str | None = None
    company_id: int | None = Field(default=None, foreign_key="company.id")
    owner: str | None = None
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    created_at: str
    updated_at: str


class Deal(SQLModel, table=True):
    __tablename__ = "deal"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    value_cents: int | None = None
    currency: str | None = None
    owner: str | None = None
    status: str = DealStatus.open.value
    lost_reason: str | None = None
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    company_id: int | None = Field(default=None, foreign_key="company.id")
    created_at: str
    updated_at: str
    closed_at: str | None = None

    @property
    def value(self) -> Decimal | None:
        return None if self.value_cents is None else Decimal(self.value_cents) / 100


# ---------------------------------------------------------------- reports (migration 5)


class CurrencyRate(SQLModel, table=True):
    """A rate the user set: one unit of `currency` is worth `rate` units of `base` (a decimal as text)."""

    __tablename__ = "currency_rate"

    currency: str = Field(primary_key=True)
    base: str
    rate: str
    updated_at: str

# ---------------------------------------------------------------- scoring (migration m004)


class ScoreModel(SQLModel, table=True):
    """A trained scoring model, stored as JSON data (never a pickle); the newest active one scores."""

    __tablename__ = "score_model"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    created_at: str
    active: bool = False
    payload: str


class ScoreHistory(SQLModel, table=True):
    __tablename__ = "score_history"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    model_id: int | None = Field(default=None, foreign_key="score_model.id")
    score: int
    grade: str
    at: str


class Setting(SQLModel, table=True):
    """Small key/value settings kept in the database (e.g. the score grade bands), values as JSON text."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True)
    value: str


# ---------------------------------------------------------------- import runs (m002)


class ImportRun(SQLModel, table=True):
    """One `leadcli import`: the file, what happened, and the id range of the leads it created."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str
    sha256: str | None = Field(default=None, index=True)
    started_at: str
    finished_at: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    options: str = "{}"
    first_lead_id: int | None = None
    last_lead_id: int | None = None
    undone_at: str | None = None
    # Who ran it (migration 12).
    by: str | None = None


class ImportChange(SQLModel, table=True):
    """A lead an import run updated: the previous values of the columns it changed (JSON)."""

    __tablename__ = "import_change"

    run_id: int = Field(foreign_key="import_run.id", primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", primary_key=True, index=True)
    before: str = "{}"
    tags_added: str = "[]"
    history_ids: str = "[]"


# ---------------------------------------------------------------- pinned scores (m010)


class ScorePin(SQLModel, table=True):
    """A score set by hand: `score train` and `score run` leave the lead's score alone while it stands."""

    __tablename__ = "score_pin"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    score: int
    reason: str
    who: str
    at: str
