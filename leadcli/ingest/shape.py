"""The staged record: the slots a row becomes, in the order the stage and both builders share."""

from __future__ import annotations

import json

# The staged record, in this order (also the keys of `read_rows` records).
RECORD = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company", "title",
          "source", "owner", "value_cents", "currency", "status", "status_reason", "status_at", "converted_at",
          "notes", "external_id", "tags", "fields", "created_at", "updated_at", "archived_at", "score", "grade",
          "trend", "name_key", "next_activity_at", "last_activity_at")
# Lead columns an update may change (merge fills them when empty, update overwrites them).
UPDATABLE = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company", "title",
             "source", "owner", "value_cents", "currency", "notes", "external_id", "created_at", "score", "grade",
             "trend")

SLOT = {name: i for i, name in enumerate(RECORD)}
(NAME, FIRST, LAST, EMAIL_KEY, PHONE_KEY, EXTERNAL_ID, COMPANY, SOURCE, OWNER, STATUS, CONVERTED_AT,
 STATUS_AT, UPDATED_AT, STATUS_REASON, FIELDS, NAME_KEY) = (
    SLOT[n] for n in ("name", "first_name", "last_name", "email_key", "phone_key", "external_id", "company", "source",
                      "owner", "status", "converted_at", "status_at", "updated_at", "status_reason", "fields",
                      "name_key"))
VALUE, CURRENCY, EMAIL, PHONE = SLOT["value_cents"], SLOT["currency"], SLOT["email"], SLOT["phone"]
CONVERTED_FLAG = len(RECORD)  # the builders' working slot for a `converted` yes/no column, after the record's
NAME_SLOTS = frozenset((NAME, FIRST, LAST))
# The dates of a lead's next and last activity: written as activities after the leads (never lead columns).
ACTIVITY_DATES = ("next_activity_at", "last_activity_at")
DATE_FIELDS = ("created_at", "updated_at", "converted_at", "archived_at", *ACTIVITY_DATES)
TEXT_FIELDS = ("name", "first_name", "last_name", "company", "title", "source", "owner", "status_reason", "notes",
               "external_id", "trend")
# `nan` and `null` as programs write them: "no value" even in name columns, where `Nan` is a name.
MACHINE_NULLS = frozenset(("nan", "NaN", "NAN", "null", "NULL"))
# json.dumps with options builds a new encoder per call; one shared encoder is several times faster.
to_json = json.JSONEncoder(ensure_ascii=False).encode
