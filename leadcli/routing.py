"""Routing: who owns a new lead. Rules kept in the database, strategies, owners who are away.

The order for each new lead: an owner it already has (typed or in the file) is kept; else the
first rule whose conditions it matches gives it an owner or a strategy; else the strategy of
`--assign`. An owner marked away is skipped (a rule to that owner falls through to the next).

`assign_owners` is pure (no database): `add`, `import` and `intake` load a `RoutingContext` in
their transaction, assign the batch, then store the rotation and the lead's ownership history
(`owner_change`) in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli import validate
from leadcli.errors import InvalidValue, NotFound
from leadcli.models import OPEN_STATUSES, Lead, OwnerAway, OwnerChange, RouteRule, RouteState, Status
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

KINDS = ("round-robin", "least-open")
CONDITION_KEYS = ("source", "status", "tag", "domain", "fields")


@dataclass(frozen=True)
class Strategy:
    """One owner (`kind == "owner"`), or a rotation over several: round-robin or least-open."""

    kind: str
    owners: tuple[str, ...]

    @property
    def key(self) -> str:
        """The name its rotation state is kept under (case-insensitive in the owners)."""
        return self.owners[0] if self.kind == "owner" else f"{self.kind}:{','.join(o.lower() for o in self.owners)}"

    def __str__(self) -> str:
        return self.owners[0] if self.kind == "owner" else f"{self.kind}:{','.join(self.owners)}"


def parse_strategy(text: str, option: str = "assign") -> Strategy:
    """`ana`, `round-robin:ana,ben,chen` or `least-open:ana,ben`."""
    raw = (text or "").strip()
    kind, sep, rest = raw.partition(":")
    if not sep:
        owner = validate.clean_text(raw)
        if not owner or "," in owner:
            raise InvalidValue(option, f"{text!r} is not an owner or a strategy",
                               hint="give an owner, round-robin:ana,ben or least-open:ana,ben", exit_code=2)
        return Strategy("owner", (owner,))
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InvalidValue(option, f"unknown strategy {kind!r}", hint="use round-robin:A,B,C or least-open:A,B",
                           exit_code=2)
    owners: dict[str, str] = {}
    for part in rest.split(","):
        name = validate.clean_text(part)
        if name:
            owners.setdefault(name.lower(), name)
    if not owners:
        raise InvalidValue(option, f"{text!r} names no owner", hint=f"e.g. {kind}:ana,ben", exit_code=2)
    return Strategy(kind, tuple(owners.values()))


@dataclass
class Rule:
    id: int
    conditions: dict[str, Any]
    target: Strategy

    def matches(self, record: dict[str, Any]) -> bool:
        """Every condition holds for the record (values compared without case)."""
        c = self.conditions
        for key in ("source", "status"):
            if key in c and _low(record.get(key) or (Status.new.value if key == "status" else None)) != _low(c[key]):
                return False
        if "tag" in c and _low(c["tag"]) not in {_low(t) for t in record.get("tags") or []}:
            return False
        if "domain" in c:
            email = record.get("email") or ""
            if _low(email.rpartition("@")[2]) != _low(c["domain"]) or "@" not in email:
                return False
        fields = {_low(k): v for k, v in (record.get("fields") or {}).items()}
        return all(_low(fields.get(_low(k))) == _low(v) for k, v in (c.get("fields") or {}).items())


def _low(value: Any) -> str | None:
    return None if value is None else " ".join(str(value).split()).lower()


@dataclass
class RoutingContext:
    """What assigning a batch needs: the rules, who is away, rotations and open-lead counts (by lower name)."""

    rules: list[Rule] = field(default_factory=list)
    away: set[str] = field(default_factory=set)
    rotation: dict[str, str | None] = field(default_factory=dict)
    open_counts: dict[str, int] = field(default_factory=dict)
    moved: set[str] = field(default_factory=set)  # rotations advanced by this batch


@dataclass
class Assignment:
    index: int  # position of the record in the batch
    owner: str
    reason: str


def assign_owners(records: Sequence[dict[str, Any]], ctx: RoutingContext,
                  fallback: Strategy | None = None) -> list[Assignment]:
    """Owners for the records that have none, in order; advances `ctx`'s rotations and counts."""
    out: list[Assignment] = []
    for index, record in enumerate(records):
        if validate.clean_text(record.get("owner")):
            continue
        for rule in ctx.rules:
            if rule.matches(record):
                owner = _pick(rule.target, ctx)
                if owner is not None:
                    out.append(Assignment(index, owner, f"rule #{rule.id}: {rule.target}"))
                    break
        else:
            owner = _pick(fallback, ctx) if fallback is not None else None
            if owner is not None:
                out.append(Assignment(index, owner, f"--assign {fallback}"))
    return out


def _pick(strategy: Strategy | None, ctx: RoutingContext) -> str | None:
    if strategy is None:
        return None
    present = [o for o in strategy.owners if o.lower() not in ctx.away]
    if not present:
        return None
    if strategy.kind == "least-open":
        owner = min(present, key=lambda o: (ctx.open_counts.get(o.lower(), 0), strategy.owners.index(o)))
    elif strategy.kind == "round-robin":
        owner = _next_in_rotation(strategy, present, ctx.rotation.get(strategy.key))
        ctx.rotation[strategy.key] = owner
        ctx.moved.add(strategy.key)
    else:
        owner = present[0]
    ctx.open_counts[owner.lower()] = ctx.open_counts.get(owner.lower(), 0) + 1
    return owner


def _next_in_rotation(strategy: Strategy, present: list[str], last: str | None) -> str:
    """The owner after `last` in the strategy's order, skipping those away."""
    names = [o.lower() for o in strategy.owners]
    start = names.index(last.lower()) + 1 if last and last.lower() in names else 0
    for step in range(len(names)):
        candidate = strategy.owners[(start + step) % len(names)]
        if candidate in present:
            return candidate
    return present[0]


# ---------------------------------------------------------------- the database side


def load_context(s: Session, fallback: Strategy | None = None) -> RoutingContext:
    """Rules, away owners, rotations and open counts for the strategies that may be used."""
    from sqlmodel import select

    ctx = RoutingContext(rules=rules(s), away={a.owner_key for a in s.exec(select(OwnerAway))})
    strategies = [r.target for r in ctx.rules] + ([fallback] if fallback else [])
    for state in s.exec(select(RouteState)):
        ctx.rotation[state.strategy] = state.last_owner
    least = {o.lower() for st in strategies if st.kind == "least-open" for o in st.owners}
    ctx.open_counts = open_counts(s, least) if least else {}
    return ctx


def open_counts(s: Session, owners: Iterable[str]) -> dict[str, int]:
    """Open, unarchived leads per owner (lower-cased names)."""
    from sqlalchemy import func, select

    t = Lead.__table__  # type: ignore[attr-defined]
    key = func.lower(t.c.owner)
    stmt = (select(key, func.count()).where(key.in_(list(owners)), t.c.status.in_(OPEN_STATUSES),
                                            t.c.archived_at.is_(None)).group_by(key))
    return {str(name): int(count) for name, count in s.connection().execute(stmt)}


def save_rotation(s: Session, ctx: RoutingContext) -> None:
    now = now_iso()
    for key in sorted(ctx.moved):
        state = s.get(RouteState, key) or RouteState(strategy=key, updated_at=now)
        state.last_owner, state.updated_at = ctx.rotation[key], now
        s.add(state)
    ctx.moved.clear()
    s.flush()


def route_batch(s: Session, records: Sequence[dict[str, Any]],
                assign: str | Strategy | None = None, *, dry_run: bool = False) -> list[Assignment]:
    """Assign owners to a batch of new lead records inside the caller's transaction.

    Sets `owner` on each assigned record and stores the rotations (not with `dry_run`, which
    previews the same owners); the caller writes the leads, then passes (lead id, assignment)
    pairs to `record_assignments`.
    """
    fallback = parse_strategy(assign) if isinstance(assign, str) else assign
    ctx = load_context(s, fallback)
    assignments = assign_owners(records, ctx, fallback)
    for a in assignments:
        records[a.index]["owner"] = a.owner
    if not dry_run:
        save_rotation(s, ctx)
    return assignments


def record_assignments(s: Session, pairs: Iterable[tuple[int, Assignment]], at: str | None = None) -> int:
    """One `owner_change` row per assigned lead: its ownership history."""
    from sqlalchemy import insert

    moment = at or now_iso()
    rows = [{"lead_id": lead_id, "from_owner": None, "to_owner": a.owner, "at": moment, "reason": a.reason}
            for lead_id, a in pairs]
    if rows:
        s.connection().execute(insert(OwnerChange.__table__), rows)  # type: ignore[attr-defined]
    return len(rows)


def owner_history(s: Session, lead_id: int) -> list[dict[str, Any]]:
    from sqlmodel import select

    changes = s.exec(select(OwnerChange).where(OwnerChange.lead_id == lead_id).order_by(OwnerChange.at, OwnerChange.id))
    return [{"at": c.at, "from": c.from_owner, "to": c.to_owner, "reason": c.reason} for c in changes]


# ---------------------------------------------------------------- rules and away owners


def conditions(source: str | None = None, status: str | None = None, tag: str | None = None,
               domain: str | None = None, fields: Sequence[str] = ()) -> dict[str, Any]:
    """A rule's conditions from the options of `route add` (KEY=VALUE for custom fields)."""
    out: dict[str, Any] = {}
    for key, value in (("source", source), ("tag", tag), ("domain", domain)):
        text = validate.clean_text(value)
        if text:
            out[key] = text.lstrip("@").lower() if key == "domain" else text
    if status is not None:
        if status.lower() not in {s.value for s in Status}:
            raise InvalidValue("status", f"{status!r} is not a status",
                               hint="use one of: new, contacted, qualified, converted, disqualified", exit_code=2)
        out["status"] = status.lower()
    if fields:
        out["fields"] = dict(validate.key_value(item) for item in fields)
    return out


def rules(s: Session) -> list[Rule]:
    """The rules in the order they are tried (oldest first)."""
    from sqlmodel import col, select

    return [Rule(r.id or 0, json.loads(r.conditions or "{}"), parse_strategy(r.target, "to"))
            for r in s.exec(select(RouteRule).order_by(col(RouteRule.id)))]


def add_rule(s: Session, when: dict[str, Any], target: str) -> RouteRule:
    if not when:
        raise InvalidValue("route", "a rule needs at least one condition",
                           hint="e.g. `leadcli route add --source referral --to ana`; "
                                "for every lead use --assign on add, import or intake", exit_code=2)
    strategy = parse_strategy(target, "to")
    rule = RouteRule(conditions=json.dumps(when, sort_keys=True), target=str(strategy), created_at=now_iso())
    s.add(rule)
    s.flush()
    return rule


def delete_rule(s: Session, rule_id: int) -> None:
    rule = s.get(RouteRule, rule_id)
    if rule is None:
        raise NotFound(f"no routing rule with id {rule_id}", hint="see them with `leadcli route list`")
    s.delete(rule)
    s.flush()


def rule_rows(s: Session) -> list[dict[str, Any]]:
    return [{"id": r.id, **{k: r.conditions.get(k) for k in CONDITION_KEYS}, "to": str(r.target)} for r in rules(s)]


def set_away(s: Session, owner: str, away: bool, note: str | None = None) -> bool:
    """Mark an owner away (or back); returns whether anything changed."""
    name = validate.clean_text(owner)
    if not name:
        raise InvalidValue("owner", "an owner cannot be empty", hint="e.g. `leadcli route away ana`", exit_code=2)
    existing = s.get(OwnerAway, name.lower())
    if away:
        if existing is not None:
            return False
        s.add(OwnerAway(owner_key=name.lower(), owner=name, since=now_iso(), note=validate.clean_text(note)))
    else:
        if existing is None:
            return False
        s.delete(existing)
    s.flush()
    return True


def away_rows(s: Session) -> list[dict[str, Any]]:
    from sqlmodel import select

    return [{"owner": a.owner, "since": a.since, "note": a.note}
            for a in s.exec(select(OwnerAway).order_by(OwnerAway.owner_key))]
