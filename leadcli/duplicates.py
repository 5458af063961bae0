"""The one rule for "same person", used by `add`, `edit`, `import` and `convert`.

Two records are the same person when they share an identity key — the normalised e-mail
(`email_key`), the normalised phone (`phone_key`) or the external id of the CRM they came from —
and no stronger key tells them apart:

- a phone is shared by colleagues (a switchboard): a phone match does not hold when the e-mails or
  the external ids differ;
- an e-mail is shared by a team (info@): an e-mail match does not hold when the external ids differ;
- a shared external id holds unless both the e-mails and the names differ (two CRMs numbering
  from 1).

A record with none of the keys is matched by its name and company (`name_key`), only against
records without keys either. The rule is written once, as data (`VETOES`), and read three ways:
on two records in memory (`conflict`), as SQL conditions for set-based matching (`veto_sql`),
and as a query for one lead (`find_same_person`). Names compare case-insensitively, explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.models import Lead

# The identity keys; each key's vetoes say what outranks it.
KEYS = ("email_key", "phone_key", "external_id")
# For a match on a key: groups of columns; the match is vetoed when every column of a group
# differs between the two records (both sides known, not equal).
VETOES: dict[str, tuple[tuple[str, ...], ...]] = {
    "phone_key": (("email_key",), ("external_id",)),
    "email_key": (("external_id",),),
    "external_id": (("email_key", "name"),),
}
# Columns compared without regard to case.
_FOLDED = frozenset(("name",))


# Placeholders people type when a form insists: never an identity, so the different people who
# typed them stay different leads. E-mails: local parts that say "none" and domains for examples.
PLACEHOLDER_LOCALS = frozenset(("none", "noemail", "no-email", "no_email", "nomail", "no-reply", "noreply",
                                 "donotreply", "do-not-reply", "test", "your", "youremail", "email", "na", "null",
                                 "unknown", "nobody", "fake", "asdf", "xxx", "abc"))
PLACEHOLDER_DOMAINS = ("example.com", "test.com", "noemail.com",
                        "none.com", "domain.com", "mailinator.com")
PLACEHOLDER_DOMAIN_LABELS = frozenset(("invalid", "localhost"))


def email_is_key(key: str) -> bool:
    """Whether a normalised (lower-case) e-mail identifies a person: placeholders do not."""
    local, _, domain = key.rpartition("@")
    if local in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS:
        return False
    return not any(label in PLACEHOLDER_DOMAIN_LABELS for label in domain.split("."))


def phone_is_key(e164: str) -> bool:
    """Whether a normalised phone identifies a person: not fewer than 6 digits, no digit 7 times
    in a row (`0000000000`, `+11111111111`), no national number starting `1234567`."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    return len(digits) >= 6 and not _national(digits).startswith("1234567") and not _REPEATED.search(digits)


def _national(digits: str) -> str:
    """The digits of an E.164 number after its country code (1 to 3 digits)."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    for size in (1, 2, 3):
        if int(digits[:size] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[size:]
    return digits


def phone_keys(e164s: list[str | None]) -> list[str | None]:
    """`phone_is_key` over a column of E.164 numbers: one regex pass finds the few placeholders."""
    joined = "\n".join(p or "" for p in e164s)
    shortest = min((len(p) for p in e164s if p), default=7)
    if not _REPEATED.search(joined) and "1234567" not in joined and shortest >= 7:
        return list(e164s)
    return [p if p and phone_is_key(p) else None for p in e164s]


_REPEATED = re.compile(r"(\d)\1{6}")


def name_key(name: str | None, company: str | None) -> str | None:
    """The duplicate key of a lead with no e-mail, phone or external id: its name and company."""
    if not name:
        return None
    return f"{' '.join(name.casefold().split())}\x1f{' '.join((company or '').casefold().split())}"


def conflict(key: str, a: Any, b: Any) -> bool:
    """Whether two records sharing `key` are still different people, by a stronger key that differs.

    A record is a mapping or an object with the columns as attributes. Values of `name` are
    compared as given: callers pass them already lower-cased.
    """
    def differ(column: str) -> bool:
        x, y = _value(a, column), _value(b, column)
        return x is not None and y is not None and x != y

    return any(all(differ(c) for c in group) for group in VETOES.get(key, ()))


def _value(record: Any, column: str) -> Any:
    return record.get(column) if isinstance(record, Mapping) else getattr(record, column, None)


def veto_sql(key: str, existing: str, incoming: str) -> str:
    """`conflict` as a SQL condition on two row aliases: `AND NOT (...)` for each veto of `key`.

    Portable SQL: `lower()` where the rule ignores case, no collation relied on.
    """
    out = []
    for group in VETOES.get(key, ()):
        parts = []
        for column in group:
            left, right = f"{existing}.{column}", f"{incoming}.{column}"
            if column in _FOLDED:
                left, right = f"lower({left})", f"lower({right})"
            parts.append(f"({right} IS NOT NULL AND {left} IS NOT NULL AND {left} <> {right})")
        out.append(f" AND NOT {parts[0]}" if len(parts) == 1 else f" AND NOT ({' AND '.join(parts)})")
    return "".join(out)


def find_same_person(s: Session, values: Mapping[str, Any], keys: Iterable[str] = ("email_key", "phone_key"),
                     exclude_id: int | None = None) -> list[Lead]:
    """The leads that are the same person as `values` by any of `keys`, by id.

    `values` holds the record's keys and the columns the vetoes read (e-mail key, external id,
    name): a lead sharing a phone but with another e-mail is somebody else.
    """
    from sqlmodel import and_, func, or_, select

    from leadcli.models import Lead

    conditions = []
    for key in keys:
        if not values.get(key):
            continue
        condition = [getattr(Lead, key) == values[key]]
        for group in VETOES.get(key, ()):
            differs = []
            for column in group:
                mine = values.get(column)
                if mine is None:
                    break
                col = getattr(Lead, column)
                if column in _FOLDED:
                    differs.append(and_(col.is_not(None), func.lower(col) != func.lower(mine)))
                else:
                    differs.append(and_(col.is_not(None), col != mine))
            else:
                condition.append(~and_(*differs))
        conditions.append(and_(*condition))
    if not conditions:
        return []
    stmt = select(Lead).where(or_(*conditions))
    if exclude_id is not None:
        stmt = stmt.where(Lead.id != exclude_id)
    return list(s.exec(stmt.order_by(Lead.id)))


def first_same_person(record: Any, candidates: Iterable[tuple[str, Any]]) -> Any:
    """The first of `candidates` (the key it was found by, a record or None) that is the same person as `record`."""
    for key, other in candidates:
        if other is not None and not conflict(key, record, other):
            return other
    return None
