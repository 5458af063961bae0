"""Saved views: a name for the filters, sort and columns of `list`, kept in the database.

A view stores the options as the user typed them (`--since 30d` stays `30d`) and turns them into
a `LeadFilter` each time it is used, so relative dates move with the calendar. Options given on
the command line next to `@NAME` win over the view's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli import validate
from leadcli.errors import InvalidValue, NotFound
from leadcli.models import SavedView, Status
from leadcli.query import SORT_FIELDS, LeadFilter
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

# The options of `list` a view keeps, in the order `view list` shows them.
FILTER_KEYS = ("status", "source", "owner", "tag", "grade", "search", "since", "until", "archived")
DISPLAY_KEYS = ("sort", "desc", "limit", "columns")
KEYS = FILTER_KEYS + DISPLAY_KEYS
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass
class ViewOptions:
    """The options a view holds; None (or an empty list) means 'not set'."""

    status: list[str] = field(default_factory=list)
    source: str | None = None
    owner: str | None = None
    tag: str | None = None
    grade: str | None = None
    search: str | None = None
    since: str | None = None
    until: str | None = None
    archived: bool | None = None
    sort: str | None = None
    desc: bool | None = None
    limit: int | None = None
    columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Only the options that are set (what is stored)."""
        out: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key)
            if value is not None and value != []:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ViewOptions:
        return cls(**{k: v for k, v in data.items() if k in KEYS})

    def overridden_by(self, given: ViewOptions) -> ViewOptions:
        """These options with every option set in `given` replacing the view's."""
        return ViewOptions.from_dict({**self.as_dict(), **given.as_dict()})

    def lead_filter(self) -> LeadFilter:
        """The `LeadFilter` for today: relative dates are read again at each use."""
        since = validate.user_date(self.since, "since") if self.since else None
        until = validate.user_date(self.until, "until", end_of_day=True) if self.until else None
        validate.date_window(since, until)
        return LeadFilter(statuses=list(self.status), source=self.source, owner=self.owner, tag=self.tag,
                          grade=self.grade, search=self.search, since=since, until=until,
                          include_archived=bool(self.archived))

    def list_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `leads.list_leads` besides the filter: sort, desc, limit."""
        return {"sort": self.sort, "desc": self.desc, "limit": self.limit}


def view_name(name: str) -> str:
    """A view's stored name: lower-case letters, digits, `-`, `_`, `.`; a leading `@` is dropped."""
    key = (name or "").strip().lstrip("@").lower()
    if not _NAME.match(key):
        raise InvalidValue("name", f"{name!r} is not a view name",
                           hint="use letters, digits, '-', '_' or '.', e.g. `leadcli view save hot-web ...`",
                           exit_code=2)
    return key


def reference(token: str | None) -> str | None:
    """The view named by a `@NAME` argument, or None when the token is not one."""
    if token and token.startswith("@") and len(token) > 1:
        return view_name(token)
    return None


def check(options: ViewOptions) -> ViewOptions:
    """Validate and tidy options before they are saved, so a bad view fails at `save`, not at use."""
    from leadcli.leads import LEAD_KEYS

    statuses = [s.value for s in Status]
    bad = [s for s in options.status if s not in statuses]
    if bad:
        raise InvalidValue("status", f"{bad[0]!r} is not a status", hint=f"use one of: {', '.join(statuses)}",
                           exit_code=2)
    if options.grade is not None and options.grade.upper() not in ("A", "B", "C", "D"):
        raise InvalidValue("grade", f"{options.grade!r} is not a grade", hint="use A, B, C or D", exit_code=2)
    if options.sort is not None and options.sort.lower() not in SORT_FIELDS:
        raise InvalidValue("sort", f"cannot sort by {options.sort!r}", hint=f"use one of: {', '.join(SORT_FIELDS)}",
                           exit_code=2)
    unknown = [c for c in options.columns if c not in LEAD_KEYS]
    if unknown:
        raise InvalidValue("columns", f"{unknown[0]!r} is not a lead column", hint=f"use: {', '.join(LEAD_KEYS)}",
                           exit_code=2)
    if options.limit is not None and options.limit < 0:
        raise InvalidValue("limit", "a limit cannot be negative", hint="0 means all", exit_code=2)
    tidy = ViewOptions.from_dict(options.as_dict())
    tidy.source, tidy.owner = validate.clean_text(tidy.source), validate.clean_text(tidy.owner)
    tidy.tag = " ".join(tidy.tag.split()) or None if tidy.tag is not None else None  # as `list --tag`
    tidy.grade = tidy.grade.upper() if tidy.grade else None
    tidy.sort = tidy.sort.lower() if tidy.sort else None
    try:
        tidy.lead_filter()  # the dates parse and --since is not after --until
    except InvalidValue as exc:
        raise InvalidValue(exc.field, exc.reason, hint=exc.hint, exit_code=2) from None
    return tidy


def save(s: Session, name: str, options: ViewOptions) -> tuple[SavedView, bool]:
    """Create or replace the view `name`; returns it and whether it replaced one."""
    key = view_name(name)
    if not options.as_dict():
        raise InvalidValue("view", "a view needs at least one filter, sort or column",
                           hint=f"e.g. `leadcli view save {key} --status new --owner ana`", exit_code=2)
    payload = json.dumps(check(options).as_dict(), sort_keys=True)
    now = now_iso()
    existing = s.get(SavedView, key)
    if existing is not None:
        existing.filters, existing.updated_at = payload, now
        s.add(existing)
        return existing, True
    view = SavedView(name=key, filters=payload, created_at=now, updated_at=now)
    s.add(view)
    s.flush()
    return view, False


def get(s: Session, name: str) -> ViewOptions:
    """The options of the view `name` (with or without its `@`)."""
    key = view_name(name)
    view = s.get(SavedView, key)
    if view is None:
        raise NotFound(f"no saved view named {key!r}", hint="see them with `leadcli view list`")
    return ViewOptions.from_dict(json.loads(view.filters or "{}"))


def resolve(s: Session, token: str | None, given: ViewOptions | None = None) -> ViewOptions:
    """The options a command runs with: the view `@NAME` (if named) overridden by the options given.

    The options given are checked as `save` checks them (a bad one is a usage error, exit 2).
    """
    given = check(given) if given is not None else ViewOptions()
    name = reference(token)
    if name is None:
        return given
    return get(s, name).overridden_by(given)


def list_views(s: Session) -> list[dict[str, Any]]:
    from sqlmodel import select

    out = []
    for view in s.exec(select(SavedView).order_by(SavedView.name)):
        options = json.loads(view.filters or "{}")
        out.append({"name": view.name, **{k: options.get(k) for k in KEYS},
                    "created_at": view.created_at, "updated_at": view.updated_at})
    return out


def delete(s: Session, name: str) -> None:
    key = view_name(name)
    view = s.get(SavedView, key)
    if view is None:
        raise NotFound(f"no saved view named {key!r}", hint="see them with `leadcli view list`")
    s.delete(view)
    s.flush()
