"""Finding the leads of a book that are probably the same person (`leadcli duplicates`).

Evidence, strongest first, each read with the one rule of `duplicates` (its vetoes):

- the same identity key: e-mail, phone (any format: compared by its digits) or external id;
- the same name (case, accents and spacing ignored) at the same company (legal form ignored);
- the same name at the same e-mail domain, when the domain is a company's (not a free-mail one).

A key that says nothing is never evidence: placeholder e-mails and phones, and any key shared by
more than `SWITCHBOARD` leads (a switchboard number, a team's info@). Pairs a user marked as
different people (`duplicates ignore`) are never joined. Leads are grouped in one pass over the
book (dictionaries keyed by each evidence, then union-find), linear in the number of leads.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli import duplicates, query
from leadcli.errors import NotFound, UsageError

if TYPE_CHECKING:
    from sqlmodel import Session

SWITCHBOARD = 20
_NOT_DIGIT = re.compile(r"\D+")
_WHY = {"email_key": "same e-mail", "phone_key": "same phone", "external_id": "same external id",
        "name_company": "same name at the same company", "name_domain": "same name at the same e-mail domain"}


def phone_digits(phone: str | None) -> str | None:
    """A phone compared by its last nine digits (formats and the +/00 prefix ignored); None for a placeholder."""
    digits = _NOT_DIGIT.sub("", phone or "")
    if len(digits) < 7 or not duplicates.phone_is_key("+" + digits):
        return None
    return digits[-9:]


def fold(text: str | None) -> str | None:
    """Case, accents and spacing ignored: "José  PÉREZ" and "jose perez" are one key."""
    return " ".join(query.fold(text).split()) or None if text else None


@dataclass
class Group:
    lead_ids: list[int]
    why: list[str] = field(default_factory=list)


def _evidence(row: Any, company_key: Any) -> Iterable[tuple[str, str]]:
    """Each row's keys, cheaply: placeholders and free mail are weeded out per bucket (`_useful`)."""
    if row.email_key:
        yield "email_key", row.email_key
    phone = row.phone_key or row.phone
    if phone:
        digits = _NOT_DIGIT.sub("", phone)
        if len(digits) >= 7:
            yield "phone_key", digits[-9:]
    if row.external_id:
        yield "external_id", row.external_id.strip()
    name = fold(row.name)
    if name and " " in name:  # a first name alone is nobody in particular
        company = company_key(row.company) if row.company else None
        if company:
            yield "name_company", f"{name}\x1f{company}"
        if row.email_key and "@" in row.email_key:
            yield "name_domain", f"{name}\x1f{row.email_key.rpartition('@')[2]}"


def _useful(kind: str, key: str, members: list[Any]) -> list[Any]:
    """The members of a bucket whose key is evidence at all (no placeholder, no free-mail domain)."""
    from leadcli.contacts import company_domain

    if kind == "email_key":
        return members if duplicates.email_is_key(key) else []
    if kind == "phone_key":
        return [m for m in members if phone_digits(m.phone_key or m.phone)]
    if kind == "name_domain":
        return [m for m in members if duplicates.email_is_key(m.email_key) and company_domain(m.email_key)]
    return members


def _vetoed(kind: str, a: Any, b: Any) -> bool:
    """The one rule's vetoes; names compare folded. Name evidence yields to two different e-mails."""
    ka, kb = _rule_record(a), _rule_record(b)
    if kind in duplicates.VETOES:
        return duplicates.conflict(kind, ka, kb)
    return bool(ka["email_key"] and kb["email_key"] and ka["email_key"] != kb["email_key"]) \
        or duplicates.conflict("email_key", ka, kb)


def _rule_record(row: Any) -> dict[str, Any]:
    email = row.email_key if row.email_key and duplicates.email_is_key(row.email_key) else None
    return {"email_key": email, "external_id": row.external_id, "name": fold(row.name),
            "phone_key": phone_digits(row.phone_key or row.phone)}


class _Union:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def scan(s: Session) -> list[dict[str, Any]]:
    """The groups of probable duplicates: `group` (1..), `lead_ids`, `why`, `names`; smallest id first."""
    from sqlalchemy import select

    from leadcli.models import Lead, table_of

    t = table_of(Lead)
    rows = s.connection().execute(
        select(t.c.id, t.c.name, t.c.email, t.c.email_key, t.c.phone, t.c.phone_key, t.c.external_id,
               t.c.company).where(t.c.merged_into.is_(None)).order_by(t.c.id)).all()
    from functools import lru_cache

    from leadcli.contacts import company_key

    cached_company = lru_cache(maxsize=65536)(company_key)
    buckets: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        for kind, key in _evidence(row, cached_company):
            buckets[(kind, key)].append(row)
    ignored = _ignored_pairs(s)
    union, reasons = _Union(), defaultdict(set)
    for (kind, key), found in buckets.items():
        if len(found) < 2 or len(found) > SWITCHBOARD:
            continue
        members = _useful(kind, key, found)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if (a.id, b.id) in ignored or _vetoed(kind, a, b):
                    continue
                union.join(a.id, b.id)
                reasons[(a.id, b.id)].add(kind)
    return _groups(union, reasons, {row.id: row.name for row in rows})


def _groups(union: _Union, reasons: dict[tuple[int, int], set[str]], names: dict[int, str | None]
            ) -> list[dict[str, Any]]:
    members: dict[int, set[int]] = defaultdict(set)
    why: dict[int, set[str]] = defaultdict(set)
    for (a, b), kinds in reasons.items():
        root = union.find(a)
        members[root].update((a, b))
        why[root].update(kinds)
    out = []
    for number, root in enumerate(sorted(members), start=1):
        ids = sorted(members[root])
        out.append({"group": number, "lead_ids": ids,
                    "why": "; ".join(_WHY[k] for k in _WHY if k in why[root]),
                    "names": [names.get(i) for i in ids]})
    return out


def _ignored_pairs(s: Session) -> set[tuple[int, int]]:
    from sqlalchemy import text

    return {(a, b) for a, b in s.connection().execute(text("SELECT lead_a, lead_b FROM duplicate_ignore"))}


def ignore(s: Session, first: int, second: int) -> bool:
    """Mark two leads as different people; False when they were already marked."""
    from sqlalchemy import text

    from leadcli.store import now_iso

    if first == second:
        raise UsageError("a lead is always the same person as itself", hint="give two different lead ids")
    a, b = sorted((first, second))
    conn = s.connection()
    found = {i for (i,) in conn.execute(text("SELECT id FROM lead WHERE id IN (:a, :b)"), {"a": a, "b": b})}
    missing = [i for i in (a, b) if i not in found]
    if missing:
        raise NotFound(f"no lead with id {missing[0]}", hint="see `leadcli duplicates` for the ids")
    if conn.execute(text("SELECT 1 FROM duplicate_ignore WHERE lead_a = :a AND lead_b = :b"),
                    {"a": a, "b": b}).first():
        return False
    conn.execute(text("INSERT INTO duplicate_ignore (lead_a, lead_b, at) VALUES (:a, :b, :at)"),
                 {"a": a, "b": b, "at": now_iso()})
    return True
