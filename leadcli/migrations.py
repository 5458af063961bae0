"""Ordered, frozen schema migrations.

Each entry is (version, name, statements). Once released a migration is never edited: a later
change is a new entry. `db.migrate()` applies each pending one in its own transaction together
with its record in `schema_migration` and `PRAGMA user_version`.
"""

from __future__ import annotations

M001_FOUNDATION = [
    """CREATE TABLE schema_migration (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL
    )""",
    """CREATE TABLE lead (
        id INTEGER PRIMARY KEY,
        name TEXT,
        first_name TEXT,
        last_name TEXT,
        email TEXT,
        email_key TEXT,
        phone TEXT,
        phone_key TEXT,
        company TEXT COLLATE NOCASE,
        title TEXT,
        source TEXT COLLATE NOCASE,
        owner TEXT COLLATE NOCASE,
        value_cents INTEGER CHECK (value_cents IS NULL OR value_cents >= 0),
        currency TEXT,
        status TEXT NOT NULL DEFAULT 'new'
            CHECK (status IN ('new', 'contacted', 'qualified', 'converted', 'disqualified')),
        status_reason TEXT,
        fields TEXT NOT NULL DEFAULT '{}',
        notes TEXT,
        external_id TEXT,
        score INTEGER CHECK (score IS NULL OR (score >= 0 AND score <= 100)),
        grade TEXT,
        trend TEXT,
        scored_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        converted_at TEXT,
        archived_at TEXT
    )""",
    "CREATE INDEX ix_lead_created_at ON lead (created_at)",
    "CREATE INDEX ix_lead_email_key ON lead (email_key)",
    "CREATE INDEX ix_lead_phone_key ON lead (phone_key)",
    "CREATE INDEX ix_lead_external_id ON lead (external_id)",
    "CREATE INDEX ix_lead_status ON lead (status)",
    "CREATE INDEX ix_lead_source ON lead (source)",
    "CREATE INDEX ix_lead_owner ON lead (owner)",
    "CREATE INDEX ix_lead_score ON lead (score)",
    """CREATE TABLE lead_tag (
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        tag TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (lead_id, tag)
    )""",
    "CREATE INDEX ix_lead_tag_tag ON lead_tag (tag, lead_id)",
    """CREATE TABLE status_change (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        from_status TEXT,
        to_status TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT
    )""",
    "CREATE INDEX ix_status_change_lead ON status_change (lead_id, at)",
    "CREATE INDEX ix_status_change_to ON status_change (to_status, at)",
]

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "m001_foundation", M001_FOUNDATION),
]

LATEST = MIGRATIONS[-1][0]
