"""The filters of `list`, shared by every command that selects leads (export, bulk changes, reports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadcli.errors import InvalidValue

SORT_FIELDS = {
    # name: (column, natural direction is descending)
    "id": ("id", False),
    "name": ("name", False),
    "company": ("company", False),
    "email": ("email", False),
    "source": ("source", False),
    "owner": ("owner", False),
    "status": ("status", False),
    "value": ("value_cents", True),
    "score": ("score", True),
    "grade": ("grade", False),
    "created": ("created_at", True),
    "updated": ("updated_at", True),
    "converted": ("converted_at", True),
}


@dataclass
class LeadFilter:
    statuses: list[str] = field(default_factory=list)
    source: str | None = None
    owner: str | None = None
    tag: str | None = None
    grade: str | None = None
    search: str | None = None
    since: str | None = None  # ISO timestamps, inclusive
    until: str | None = None
    ids: list[int] = field(default_factory=list)
    include_archived: bool = False
    archived_only: bool = False
    due: str | None = None  # today | overdue | week: an open planned activity due then
    no_next_action: bool = False
    stale: bool = False
    # Days per open stage before a lead is stale; None: the defaults (`with_settings` reads the stored ones).
    stale_days: dict[str, float] | None = None
    custom: list[tuple[str, str]] = field(default_factory=list)  # --field KEY=VALUE
    # The leads `search` finds, folded in Python (case and accents, every script); None: not looked up yet.
    search_ids: list[int] | None = None

    def is_empty(self) -> bool:
        return not (self.statuses or self.source or self.owner or self.tag or self.grade or self.search
                    or self.since or self.until or self.ids or self.due or self.no_next_action or self.stale
                    or self.custom)

    def with_settings(self, s: Any) -> LeadFilter:
        """This filter with what it reads from the database filled in: the stale thresholds, and the
        leads the search text finds."""
        from dataclasses import replace

        out = self
        if self.stale and self.stale_days is None:
            from leadcli import activities

            out = replace(out, stale_days=activities.stale_days(s))
        if self.search and self.search_ids is None:
            out = replace(out, search_ids=search_matches(s, self.search, replace(out, search=None)))
        return out

    def clauses(self, table: Any = None, *, date_column: str = "created_at") -> list[Any]:
        """SQLAlchemy Core conditions on the lead table (or an alias of it)."""
        from sqlalchemy import exists, or_, select

        from leadcli.models import Lead, LeadTag, table_of

        t = table if table is not None else table_of(Lead)
        out: list[Any] = []
        if self.ids:
            out.append(t.c.id.in_(self.ids))
        if self.statuses:
            out.append(t.c.status.in_(self.statuses))
        if self.source:
            out.append(same_text(t.c.source, self.source))
        if self.owner:
            out.append(same_text(t.c.owner, self.owner))
        if self.grade:
            out.append(t.c.grade == self.grade.upper())
        if self.tag:
            tags = table_of(LeadTag)
            out.append(exists(select(tags.c.lead_id).where(tags.c.lead_id == t.c.id,
                                                           same_text(tags.c.tag, self.tag))))
        if self.search_ids is not None:
            from sqlalchemy import bindparam

            # Inlined at execution: a search may find more leads than a statement takes parameters.
            out.append(t.c.id.in_(bindparam("search_ids", self.search_ids, expanding=True, literal_execute=True)))
        elif self.search:
            pattern = f"%{_escape_like(self.search)}%"
            out.append(or_(*(t.c[name].ilike(pattern, escape="\\")
                             for name in ("name", "email", "company", "phone", "external_id"))))
        out += self._activity_clauses(t)
        for key, value in self.custom:
            out.append(same_text(t.c.fields[key].as_string(), value))
        if self.since:
            out.append(t.c[date_column] >= self.since)
        if self.until:
            out.append(t.c[date_column] <= self.until)
        # A merged lead is the lead that absorbed it now: listed and counted once, as that one.
        out.append(t.c.merged_into.is_(None))
        if self.archived_only:
            out.append(t.c.archived_at.is_not(None))
        elif not self.include_archived:
            out.append(t.c.archived_at.is_(None))
        return out


    def _activity_clauses(self, t: Any) -> list[Any]:
        from leadcli import activities

        out = []
        if self.due:
            out.append(activities.due_condition(self.due, t))
        if self.no_next_action:
            out.append(activities.no_next_action_condition(t))
        if self.stale:
            out.append(activities.stale_condition(None, t, thresholds=self.stale_days))
        return out


GRADES = ("A", "B", "C", "D")
SEARCHED = ("name", "email", "company", "phone", "external_id", "notes", "title")


def fold(text: str) -> str:
    """Text as a search compares it: no case, no accents, in every script (`GARCÍA` -> `garcia`)."""
    if text.isascii():
        return text.lower()
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_matches(s: Any, text: str, others: LeadFilter) -> list[int]:
    """Ids of the leads (among those `others` picks) whose name, e-mail, company, phone, external id,
    title, notes or custom fields hold `text`, compared folded. Done in Python so it behaves the same
    on every database; a phone is also found by its digits (`555 0100`)."""
    from sqlalchemy import Text, select, type_coerce

    from leadcli.models import Lead, table_of

    t = table_of(Lead)
    needle = fold(" ".join(text.split()))
    digits = "".join(c for c in text if c.isdigit())
    by_digits = len(digits) >= 4 and not any(c.isalpha() for c in text)
    found = []
    # The custom fields as stored text: decoded only for a lead whose other columns do not match.
    raw_fields = type_coerce(t.c.fields, Text)
    stmt = select(t.c.id, raw_fields, *(t.c[name] for name in SEARCHED)).where(*others.clauses(t))
    for row in s.connection().execute(stmt.execution_options(yield_per=5000)):
        # Runs of white space read as one space, as in the search text (NUL keeps columns apart).
        columns = needle in fold(" ".join("\x00".join(v for v in row[2:] if v).split()))
        phone = by_digits and bool(row[5]) and digits in row[5]
        if columns or phone or (row[1] and row[1] != "{}" and _in_fields(needle, row[1])):
            found.append(row[0])
    return found


def build_filter(statuses: Sequence[str] = (), source: str | None = None, owner: str | None = None,
                 tag: str | None = None, grade: str | None = None, search: str | None = None,
                 since: str | None = None, until: str | None = None, archived: bool = False,
                 ids: Sequence[int] = (), *, due: str | None = None, no_next_action: bool = False,
                 stale: bool = False, custom: Sequence[str] = ()) -> LeadFilter:
    """The filters of `list` from what a user typed: dates parsed, text trimmed, values checked."""
    from leadcli import validate
    from leadcli.stages import Status

    wrong = [st for st in statuses if st not in {x.value for x in Status}]
    if wrong:
        raise InvalidValue("status", f"{wrong[0]!r} is not a status",
                           hint="use one of: " + ", ".join(x.value for x in Status), exit_code=2)
    if grade is not None and grade.upper() not in GRADES:
        raise InvalidValue("grade", f"{grade!r} is not a grade", hint="use A, B, C or D", exit_code=2)
    since_at = validate.user_date(since, "since") if since else None
    until_at = validate.user_date(until, "until", end_of_day=True) if until else None
    validate.date_window(since_at, until_at)
    if due is not None and due.strip().lower() not in DUE_WINDOWS:
        raise InvalidValue("due", f"{due!r} is not a due window", hint="use today, overdue or week", exit_code=2)
    return LeadFilter(
        statuses=list(statuses), source=validate.clean_text(source), owner=owner_value(owner),
        tag=" ".join(tag.split()) or None if tag is not None else None, grade=grade, search=search,
        since=since_at, until=until_at, include_archived=archived, ids=list(ids),
        due=due.strip().lower() if due else None, no_next_action=no_next_action, stale=stale,
        custom=[_custom_filter(item) for item in custom])


def _custom_filter(item: str) -> tuple[str, str]:
    from leadcli import validate

    try:
        return validate.key_value(item)
    except InvalidValue as exc:
        raise InvalidValue("field", exc.message, hint='e.g. --field "Industry=Retail"', exit_code=2) from None


DUE_WINDOWS = ("today", "overdue", "week")


def owner_value(owner: str | None) -> str | None:
    """An `--owner` as typed: `me` is the acting user (LEADCLI_USER, else the login name)."""
    from leadcli import validate
    from leadcli.activities import acting_user

    if owner is not None and owner.strip().lower() == "me":
        return acting_user()
    return validate.clean_text(owner)


def _in_fields(needle: str, stored: str) -> bool:
    import json

    values = json.loads(stored)
    return isinstance(values, dict) and any(needle in fold(" ".join(str(v).split()))
                                            for v in values.values() if v is not None)


# Text a user types in any case (`--source web` finds "Web"): compared through lower(), the
# expression the indexes of migration 7 are built on, so the filter stays an index lookup.
CASELESS_COLUMNS = ("source", "owner", "company")


def same_text(column: Any, value: str) -> Any:
    """`column = value` regardless of case, as the same expression on both sides."""
    from sqlalchemy import func

    return func.lower(column) == func.lower(value)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def order_by(sort: str | None, desc: bool | None, table: Any = None) -> list[Any]:
    """ORDER BY terms: newest first by default; `--sort F` uses F's natural direction unless forced."""
    from leadcli.models import Lead, table_of

    t = table if table is not None else table_of(Lead)
    key = (sort or "created").lower()
    if key not in SORT_FIELDS:
        raise InvalidValue("sort", f"cannot sort by {sort!r}",
                           hint=f"use one of: {', '.join(SORT_FIELDS)}", exit_code=2)
    column_name, natural_desc = SORT_FIELDS[key]
    descending = natural_desc if desc is None else desc
    column = t.c[column_name]
    if column_name in CASELESS_COLUMNS:
        from sqlalchemy import func

        column = func.lower(column)
    primary = column.desc().nulls_last() if descending else column.asc().nulls_last()
    tie = t.c.id.desc() if descending else t.c.id.asc()
    return [primary, tie] if column_name != "id" else [primary]
