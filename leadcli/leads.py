"""Lead records: add, edit, status changes, archive, reading. Takes a session, never prints."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli import validate
from leadcli.errors import DuplicateLead, InvalidTransition, InvalidValue, NotFound
from leadcli.lead_records import LEAD_KEYS as LEAD_KEYS
from leadcli.lead_records import lead_dict as lead_dict
from leadcli.lead_records import lead_record as lead_record
from leadcli.lead_records import tags_for as tags_for
from leadcli.models import Lead, LeadTag, StatusChange, table_of
from leadcli.query import LeadFilter, order_by, same_text
from leadcli.stages import TRANSITIONS as TRANSITIONS
from leadcli.stages import Status, allowed_next, transition_hint
from leadcli.store import now_iso

if TYPE_CHECKING:
    from sqlmodel import Session

# The record shape (LEAD_KEYS, lead_dict, lead_record, tags_for) lives in `lead_records` and the
# stage rules in `stages`; the names re-exported above and this one stay importable from here.
_transition_hint = transition_hint


@dataclass
class LeadInput:
    """What `add` and `edit` accept; None means 'not given'."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    owner: str | None = None
    value: str | None = None
    currency: str | None = None
    external_id: str | None = None
    notes: str | None = None
    created: str | None = None
    tags: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # KEY=VALUE


def _normalised(data: LeadInput) -> dict[str, Any]:
    """Validated column values for the options that were given."""
    out: dict[str, Any] = {}
    for plain in ("company", "title", "source", "owner", "external_id", "notes"):
        value = getattr(data, plain)
        if value is not None:
            out[plain] = validate.clean_text(value)
    if data.email is not None:
        out["email"], out["email_key"] = validate.email(data.email)
    if data.phone is not None:
        out["phone"], out["phone_key"] = validate.phone(data.phone)
    if data.value is not None:
        out["value_cents"] = validate.money(data.value)
    if data.currency is not None:
        out["currency"] = validate.currency(data.currency)
    if data.name is not None:
        out["name"] = validate.clean_text(data.name)
        first, last = validate.split_name(data.name)
        out.setdefault("first_name", first)
        out.setdefault("last_name", last)
    if data.first_name is not None:
        out["first_name"] = validate.clean_text(data.first_name)
    if data.last_name is not None:
        out["last_name"] = validate.clean_text(data.last_name)
    if data.name is None and (data.first_name or data.last_name):
        out["name"] = " ".join(p for p in (out.get("first_name"), out.get("last_name")) if p) or None
    if data.created is not None:
        out["created_at"] = validate.user_date(data.created, "created")
    return out


def _custom_fields(items: Iterable[str]) -> dict[str, str]:
    return dict(validate.key_value(item) for item in items)


def _refuse_duplicates(s: Session, values: dict[str, Any], keys: Sequence[str] = ("email_key", "phone_key"),
                       exclude_id: int | None = None) -> None:
    from leadcli import duplicates

    dupes = duplicates.find_same_person(s, values, keys, exclude_id)
    # A converted lead's person is a contact now: a new lead for them is a repeat lead, not a duplicate.
    dupes = [d for d in dupes if d.status != Status.converted.value]
    if not dupes:
        return
    other = dupes[0]
    same = "e-mail " + (other.email or "") if values.get("email_key") and other.email_key == values.get("email_key") \
        else "phone " + (other.phone or "")
    raise DuplicateLead(
        f"lead #{other.id} ({other.display_name}) already has the {same}",
        hint=f"see it with `leadcli show {other.id}`, or pass --allow-duplicate to keep both",
    )


def _distinct_tags(tags: Iterable[str]) -> list[str]:
    """The tags given, cleaned, each once whatever its case (the first spelling wins)."""
    seen: dict[str, str] = {}
    for tag in tags:
        clean = validate.tag(tag)
        seen.setdefault(clean.lower(), clean)
    return list(seen.values())


def _find_tag(s: Session, lead_id: int, tag: str) -> LeadTag | None:
    """The lead's tag spelled `tag` in any case."""
    from sqlmodel import select

    stmt = select(LeadTag).where(LeadTag.lead_id == lead_id, same_text(LeadTag.tag, tag))
    return s.exec(stmt).first()


def add_lead(s: Session, data: LeadInput, *, allow_duplicate: bool = False, status: str = "new") -> Lead:
    values = _normalised(data)
    if not any(values.get(k) for k in ("name", "email", "phone", "company", "external_id")):
        raise InvalidValue("name", "a lead needs a name, e-mail, phone, company or external id",
                           hint='give at least one, e.g. leadcli add "Ana Silva" --email ana@example.com')
    if not allow_duplicate:
        _refuse_duplicates(s, values)
    now = now_iso()
    created = values.pop("created_at", None) or now
    from leadcli.activities import acting_user

    lead = Lead(**values, status=status, created_at=created, updated_at=now,
                fields=_custom_fields(data.fields), created_by=acting_user())
    if status == Status.converted.value:
        lead.converted_at = created
    s.add(lead)
    s.flush()
    for tag in _distinct_tags(data.tags):
        s.add(LeadTag(lead_id=lead.id, tag=tag))
    s.add(StatusChange(lead_id=lead.id, from_status=None, to_status=status, at=created, reason="created"))
    s.flush()
    on_leads_created(s, lead.key, lead.key)
    return lead


def on_leads_created(s: Session, first_id: int, last_id: int) -> None:
    """Steps every new lead goes through, whether added by hand or imported.

    Called in the creating transaction with the id range of the leads just created
    (`first_id <= id <= last_id`); each step works set-based on that range.
    """
    from leadcli.repeat_leads import link_repeat_leads

    link_repeat_leads(s, first_id, last_id)
    from leadcli import scoring

    scoring.score_new_leads(s, first_id, last_id)


def get_lead(s: Session, lead_id: int) -> Lead:
    lead = s.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead with id {lead_id}", hint="find ids with `leadcli list --search TEXT`")
    return lead


def ensure_editable(lead: Lead) -> None:
    if lead.status == Status.converted.value:
        raise InvalidTransition(
            f"lead #{lead.id} is converted; its record is kept as it was for reports",
            hint="edit the contact, company or deal it became, or turn the deal back into a lead "
                 "with `leadcli deals to-lead DEAL_ID`",
        )


def edit_lead(s: Session, lead: Lead, data: LeadInput, *, remove_tags: Sequence[str] = (),
              allow_duplicate: bool = False, status: str | None = None, reason: str | None = None) -> Lead:
    ensure_editable(lead)
    if status == Status.converted.value:
        raise InvalidTransition(
            f"lead #{lead.id} becomes converted through `leadcli convert`, which records its contact, company and deal",
            hint=f"run `leadcli convert {lead.id}` (--no-contact, --no-company or --no-deal leave parts out)")
    values = _normalised(data)
    note = values.pop("notes", None)
    if not allow_duplicate and ("email_key" in values or "phone_key" in values):
        after = {k: values.get(k, getattr(lead, k)) for k in ("email_key", "phone_key", "external_id", "name")}
        _refuse_duplicates(s, after, [k for k in ("email_key", "phone_key") if k in values], exclude_id=lead.id)
    for key, value in values.items():
        setattr(lead, key, value)
    if note:
        stamp = now_iso()[:10]
        lead.notes = f"{lead.notes}\n[{stamp}] {note}" if lead.notes else f"[{stamp}] {note}"
    if data.fields:
        merged = dict(lead.fields or {})
        for key, value in _custom_fields(data.fields).items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        lead.fields = merged
    for tag in _distinct_tags(data.tags):
        if _find_tag(s, lead.key, tag) is None:
            s.add(LeadTag(lead_id=lead.id, tag=tag))
    for tag in remove_tags:
        existing = _find_tag(s, lead.key, validate.tag(tag))
        if existing is not None:
            s.delete(existing)
    lead.updated_at = now_iso()
    s.add(lead)
    if status is not None and status != lead.status:
        set_status(s, lead, status, reason)
    s.flush()
    from leadcli import scoring

    scoring.rescore_leads(s, [lead.key])
    return lead


def set_status(s: Session, lead: Lead, to: str, reason: str | None = None, *,
               at: str | None = None, reopening: bool = False) -> StatusChange:
    """Move a lead to `to`, recording the change; refuses moves the stages do not allow."""
    to = to.lower()
    if to not in {st.value for st in Status}:
        raise InvalidValue("status", f"{to!r} is not a status",
                           hint="use one of: new, contacted, qualified, converted, disqualified", exit_code=2)
    current = lead.status
    if to == current:
        raise InvalidTransition(f"lead #{lead.id} is already {current}")
    if to not in allowed_next(current, reopening=reopening):
        raise InvalidTransition(f"lead #{lead.id} is {current} and cannot become {to}",
                                hint=transition_hint(current, to))
    if to == Status.disqualified.value and not validate.clean_text(reason):
        raise InvalidValue("reason", "disqualifying a lead needs a reason",
                           hint='add --reason, e.g. --reason "no budget"')
    moment = at or now_iso()
    lead.status = to
    lead.status_reason = validate.clean_text(reason) if to == Status.disqualified.value else None
    if to == Status.converted.value:
        lead.converted_at = moment
    elif current == Status.converted.value:
        lead.converted_at = None
    lead.updated_at = moment
    s.add(lead)
    change = StatusChange(lead_id=lead.id, from_status=current, to_status=to, at=moment,
                          reason=validate.clean_text(reason))
    s.add(change)
    s.flush()
    return change


def set_archived(s: Session, ids: Sequence[int], archived: bool) -> list[Lead]:
    changed = []
    now = now_iso()
    for lead_id in ids:
        lead = get_lead(s, lead_id)
        if (lead.archived_at is not None) == archived:
            continue
        lead.archived_at = now if archived else None
        lead.updated_at = now
        s.add(lead)
        changed.append(lead)
    s.flush()
    return changed


# ---------------------------------------------------------------- reading


def select_leads(s: Session, flt: LeadFilter, *, sort: str | None = None, desc: bool | None = None,
                 limit: int | None = None) -> list[Lead]:
    from sqlmodel import select

    stmt = select(Lead).where(*flt.with_settings(s).clauses()).order_by(*order_by(sort, desc))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(s.exec(stmt))


def list_leads(s: Session, flt: LeadFilter, *, sort: str | None = None, desc: bool | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Leads in the JSON shape of `list` (with `next_action_at`)."""
    from leadcli.export import iter_records

    return list(iter_records(s, flt, sort=sort, desc=desc, limit=limit, next_action=True))


def count_leads(s: Session, flt: LeadFilter) -> int:
    from sqlalchemy import func, select

    where = flt.with_settings(s).clauses()
    return s.connection().execute(select(func.count()).select_from(table_of(Lead)).where(*where)).scalar_one()


def history(s: Session, lead_id: int) -> list[dict[str, Any]]:
    from sqlmodel import select

    rows = s.exec(select(StatusChange).where(StatusChange.lead_id == lead_id)
                  .order_by(StatusChange.at, StatusChange.id))
    return [{"at": c.at, "from": c.from_status, "to": c.to_status, "reason": c.reason} for c in rows]


def resolve_targets(s: Session, ids: Sequence[int], flt: LeadFilter) -> list[Lead]:
    """The leads a bulk command acts on: the ids given, else every lead matching the filters."""
    if ids:
        return [get_lead(s, lead_id) for lead_id in ids]
    return select_leads(s, flt, sort="id")
