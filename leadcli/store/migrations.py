"""Ordered, frozen schema migrations.

Each entry is (version, name, statements). Once released a migration is never edited: a later
change is a new entry. `store.migrate()` applies each pending one in its own transaction together
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

# Import runs: what each `leadcli import` read and did, so `import runs` can list them and
# `import undo` can reverse one. Leads a run created have consecutive ids (first..last lead id);
# `import_change` keeps, per lead a run updated, the previous values of the columns it changed.
M002_IMPORT_RUNS = [
    """CREATE TABLE import_run (
        id INTEGER PRIMARY KEY,
        file_name TEXT NOT NULL,
        sha256 TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        rows INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        encoding TEXT,
        delimiter TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        first_lead_id INTEGER,
        last_lead_id INTEGER,
        undone_at TEXT
    )""",
    "CREATE INDEX ix_import_run_sha256 ON import_run (sha256)",
    """CREATE TABLE import_change (
        run_id INTEGER NOT NULL REFERENCES import_run (id) ON DELETE CASCADE,
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        before TEXT NOT NULL DEFAULT '{}',
        tags_added TEXT NOT NULL DEFAULT '[]',
        history_ids TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (run_id, lead_id)
    )""",
    "CREATE INDEX ix_import_change_lead ON import_change (lead_id)",
]

# Conversion: the contacts, companies and deals a lead becomes, and the lead's links to them.
# `name_key` is the normalised company name and `domain` the company's e-mail domain: the keys
# `convert` matches on to reuse a company instead of duplicating it.
M003_CONVERSION = [
    """CREATE TABLE company (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        domain TEXT,
        owner TEXT COLLATE NOCASE,
        lead_id INTEGER REFERENCES lead (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_company_name_key ON company (name_key)",
    "CREATE INDEX ix_company_domain ON company (domain)",
    """CREATE TABLE contact (
        id INTEGER PRIMARY KEY,
        name TEXT,
        first_name TEXT,
        last_name TEXT,
        email TEXT,
        email_key TEXT,
        phone TEXT,
        phone_key TEXT,
        title TEXT,
        company_id INTEGER REFERENCES company (id) ON DELETE SET NULL,
        owner TEXT COLLATE NOCASE,
        lead_id INTEGER REFERENCES lead (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_contact_email_key ON contact (email_key)",
    "CREATE INDEX ix_contact_phone_key ON contact (phone_key)",
    "CREATE INDEX ix_contact_company ON contact (company_id)",
    """CREATE TABLE deal (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        value_cents INTEGER CHECK (value_cents IS NULL OR value_cents >= 0),
        currency TEXT,
        owner TEXT COLLATE NOCASE,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost', 'reverted')),
        lost_reason TEXT,
        lead_id INTEGER REFERENCES lead (id) ON DELETE SET NULL,
        contact_id INTEGER REFERENCES contact (id) ON DELETE SET NULL,
        company_id INTEGER REFERENCES company (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        closed_at TEXT
    )""",
    "CREATE INDEX ix_deal_lead ON deal (lead_id)",
    "CREATE INDEX ix_deal_status ON deal (status, closed_at)",
    "CREATE INDEX ix_deal_contact ON deal (contact_id)",
    "CREATE INDEX ix_deal_company ON deal (company_id)",
    "ALTER TABLE lead ADD COLUMN contact_id INTEGER REFERENCES contact (id) ON DELETE SET NULL",
    "ALTER TABLE lead ADD COLUMN company_id INTEGER REFERENCES company (id) ON DELETE SET NULL",
    "ALTER TABLE lead ADD COLUMN deal_id INTEGER REFERENCES deal (id) ON DELETE SET NULL",
    # 1 when the lead came in for a person who already was a contact (a repeat lead).
    "ALTER TABLE lead ADD COLUMN repeat_lead INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX ix_lead_contact ON lead (contact_id)",
]

# Reports: covering indexes for the GROUP BY queries of `leadcli report`, and the currency rates
# the user sets so values in several currencies are summed only after an explicit conversion.
M005_REPORT_INDEXES = [
    # Source first: GROUP BY source reads this index in order, the date window checked in the index.
    "CREATE INDEX ix_lead_source_report ON lead (source, created_at, status)",
    # Date first: a window and grouping by period read only the window's range.
    "CREATE INDEX ix_lead_report ON lead (created_at, source, status)",
    "CREATE INDEX ix_lead_converted_at ON lead (converted_at)",
    # The latest change of a lead at a moment (`report conversion --as-of`), read from the index alone.
    "CREATE INDEX ix_status_change_asof ON status_change (lead_id, at, id, to_status)",
    """CREATE TABLE currency_rate (
        currency TEXT PRIMARY KEY,
        base TEXT NOT NULL,
        rate TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]

M004_SCORING = [
    # The model is stored as data (JSON: categories, weights, scaling, metrics), never as a pickle,
    # so a database from someone else cannot run code. Older models stay; one is active.
    """CREATE TABLE score_model (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('logistic', 'naive_bayes')),
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_score_model_active ON score_model (active, id)",
    """CREATE TABLE score_history (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        model_id INTEGER REFERENCES score_model (id) ON DELETE SET NULL,
        score INTEGER NOT NULL CHECK (score >= 0 AND score <= 100),
        grade TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX ix_score_history_lead ON score_history (lead_id, at)",
    """CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
]

# Indexes that a longer one starts with: the longer one serves every query the short one did
# (`list` newest first reads ix_lead_report, --source reads ix_lead_source_report, a lead's history
# reads ix_status_change_asof), and each index less is one less to build on a big import.
M006_DROP_PREFIX_INDEXES = [
    "DROP INDEX IF EXISTS ix_lead_source",  # ix_lead_source_report (source, created_at, status)
    "DROP INDEX IF EXISTS ix_lead_created_at",  # ix_lead_report (created_at, source, status)
    "DROP INDEX IF EXISTS ix_status_change_lead",  # ix_status_change_asof (lead_id, at, id, to_status)
]

# Case-insensitive matching made explicit: `list --source/--owner/--tag` compare lower(column) with
# lower(value), the same on every database (a collation is SQLite's alone). These expression
# indexes keep each filter an index lookup; those on owner and tag replace the plain ones.
M007_CASELESS_INDEXES = [
    "CREATE INDEX ix_lead_source_lower ON lead (lower(source), created_at)",
    "DROP INDEX IF EXISTS ix_lead_owner",
    "CREATE INDEX ix_lead_owner_lower ON lead (lower(owner), created_at)",
    "DROP INDEX IF EXISTS ix_lead_tag_tag",
    "CREATE INDEX ix_lead_tag_lower ON lead_tag (lower(tag), lead_id)",
]

# Activities: what was done with a lead and what is planned next. An open planned activity has a
# due_at and no done_at; the partial indexes hold only those, so the day's agenda and a lead's next
# action read a small index however many activities are done.
M008_ACTIVITIES = [
    """CREATE TABLE activity (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        text TEXT,
        outcome TEXT,
        at TEXT,
        due_at TEXT,
        done_at TEXT,
        duration_s INTEGER CHECK (duration_s IS NULL OR duration_s >= 0),
        owner TEXT,
        created_at TEXT NOT NULL,
        run_id INTEGER REFERENCES import_run (id) ON DELETE SET NULL,
        CHECK (at IS NOT NULL OR due_at IS NOT NULL)
    )""",
    # The agenda: open planned activities by due date.
    "CREATE INDEX ix_activity_open_due ON activity (due_at, lead_id) WHERE done_at IS NULL AND due_at IS NOT NULL",
    # A lead's next action, and leads without one.
    "CREATE INDEX ix_activity_open_lead ON activity (lead_id, due_at) WHERE done_at IS NULL AND due_at IS NOT NULL",
    # A lead's timeline, newest first.
    "CREATE INDEX ix_activity_lead_at ON activity (lead_id, at)",
    "CREATE INDEX ix_activity_run ON activity (run_id) WHERE run_id IS NOT NULL",
]

# Saved views, routing rules and the ownership history routing writes. `saved_view.filters` and
# `route_rule.conditions` are JSON text; names and owner keys are stored lower-cased so matching
# needs no collation the other database lacks.
M009_VIEWS_ROUTING = [
    """CREATE TABLE saved_view (
        name TEXT PRIMARY KEY,
        filters TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE route_rule (
        id INTEGER PRIMARY KEY,
        conditions TEXT NOT NULL DEFAULT '{}',
        target TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE route_state (
        strategy TEXT PRIMARY KEY,
        last_owner TEXT,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE owner_away (
        owner_key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        since TEXT NOT NULL,
        note TEXT
    )""",
    """CREATE TABLE owner_change (
        id INTEGER PRIMARY KEY,
        lead_id INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        from_owner TEXT,
        to_owner TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT
    )""",
    "CREATE INDEX ix_owner_change_lead ON owner_change (lead_id, at)",
]

# Scores a salesperson pinned by hand (`score set`): kept apart from the model's scores so training
# and `score run` can leave them alone, with the reason and who set it.
M010_SCORE_PINS = [
    """CREATE TABLE score_pin (
        lead_id INTEGER PRIMARY KEY REFERENCES lead (id) ON DELETE CASCADE,
        score INTEGER NOT NULL CHECK (score >= 0 AND score <= 100),
        reason TEXT NOT NULL,
        who TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
]


# Duplicates and merges: a merged lead stays as a record pointing at the lead that absorbed it
# (`lead.merged_into`), pairs a user said are different people are never proposed again, and every
# row a merge changed is journalled (its state before, or NULL for a row it added) so `merge undo`
# puts the database back exactly.
M011_MERGES = [
    "ALTER TABLE lead ADD COLUMN merged_into INTEGER REFERENCES lead (id)",
    "CREATE INDEX ix_lead_merged_into ON lead (merged_into) WHERE merged_into IS NOT NULL",
    # When the on-activity-due hook was told about a planned activity: each is announced once.
    "ALTER TABLE activity ADD COLUMN due_announced_at TEXT",
    """CREATE TABLE duplicate_ignore (
        lead_a INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        lead_b INTEGER NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        PRIMARY KEY (lead_a, lead_b),
        CHECK (lead_a < lead_b)
    )""",
    """CREATE TABLE merge_run (
        id INTEGER PRIMARY KEY,
        keep_id INTEGER NOT NULL REFERENCES lead (id),
        merged_ids TEXT NOT NULL,
        prefer_id INTEGER,
        at TEXT NOT NULL
    )""",
    """CREATE TABLE merge_change (
        merge_id INTEGER NOT NULL REFERENCES merge_run (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        table_name TEXT NOT NULL,
        row_key TEXT NOT NULL,
        before TEXT,
        PRIMARY KEY (merge_id, seq)
    )""",
]


# Who did it: the user (LEADCLI_USER, else the login name) who added a lead, wrote an activity or ran an
# import. NULL on rows written before this version. A lead's tags are one per spelling ignoring case on
# every database (SQLite's NOCASE key did it alone; lower() is the same fold on both for ASCII): the
# expression index of m007 becomes unique, after keeping one spelling of any pair that differ only in case.
M012_WHO_DID_IT = [
    "ALTER TABLE lead ADD COLUMN created_by TEXT",
    "ALTER TABLE activity ADD COLUMN created_by TEXT",
    "ALTER TABLE import_run ADD COLUMN by TEXT",
    """DELETE FROM lead_tag WHERE EXISTS (
        SELECT 1 FROM lead_tag AS other WHERE other.lead_id = lead_tag.lead_id
        AND lower(other.tag) = lower(lead_tag.tag) AND other.tag < lead_tag.tag)""",
    "DROP INDEX IF EXISTS ix_lead_tag_lower",
    "CREATE UNIQUE INDEX ix_lead_tag_lower ON lead_tag (lower(tag), lead_id)",
]


MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "m001_foundation", M001_FOUNDATION),
    (2, "m002_import_runs", M002_IMPORT_RUNS),
    (3, "m003_conversion", M003_CONVERSION),
    (4, "m004_scoring", M004_SCORING),
    (5, "m005_report_indexes", M005_REPORT_INDEXES),
    (6, "m006_drop_prefix_indexes", M006_DROP_PREFIX_INDEXES),
    (7, "m007_caseless_indexes", M007_CASELESS_INDEXES),
    (8, "m008_activities", M008_ACTIVITIES),
    (9, "m009_views_routing", M009_VIEWS_ROUTING),
    (10, "m010_score_pins", M010_SCORE_PINS),
    (11, "m011_merges", M011_MERGES),
    (12, "m012_who_did_it", M012_WHO_DID_IT),
]

LATEST = MIGRATIONS[-1][0]
