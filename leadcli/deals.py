"""Converting a lead into a contact, a company and a deal (deals after that live in `deal_records`).

Conversion reuses what exists instead of duplicating it: a company is matched by its normalised
name, else by the lead e-mail's company domain (free-mail domains such as gmail.com never match);
a contact by e-mail, else by phone. A reused record only gets its empty fields filled.

Bulk conversion preloads every company and contact the target leads could match into dicts
(a few `IN` queries per command, not a query per lead), then writes each lead inside its own
savepoint, so one failing lead leaves the others converted. The writes are SQLAlchemy Core
statements built once; the store runs them (`store.sqlite_fast`) without rebuilding them per lead.
Takes a session, never prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from leadcli import duplicates, leads, validate
from leadcli.contacts import company_domain, company_key
from leadcli.models import Company, Contact, Deal, Lead, Status, StatusChange
from leadcli.query import LeadFilter
from leadcli.store import now_iso
from leadcli.store.sqlite_fast import FastSQL, WriteRefused

if TYPE_CHECKING:
    from sqlmodel import Session


# ---------------------------------------------------------------- records held in memory


@dataclass
class CompanyRec:
    id: int | None
    name: str
    name_key: str
    domain: str | None = None
    owner: str | None = None
    planned_by: int | None = None  # lead id whose (dry-run) conversion would create it


@dataclass
class ContactRec:
    id: int | None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_key: str | None = None
    phone: str | None = None
    phone_key: str | None = None
    title: str | None = None
    company_id: int | None = None
    owner: str | None = None
    planned_by: int | None = None


CONTACT_FILL = ("name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "title", "owner")
_LEAD_COLUMNS = ("id", "name", "first_name", "last_name", "email", "email_key", "phone", "phone_key", "company",
                 "title", "owner", "value_cents", "currency", "status", "contact_id")


@dataclass
class ConvertOptions:
    contact: bool = True
    company: bool = True
    deal: bool = True
    deal_title: str | None = None
    deal_value_cents: int | None = None
    deal_currency: str | None = None
    dry_run: bool = False


@dataclass
class ConvertResult:
    """One lead's line in the result table."""

    lead_id: int
    lead: str | None = None
    contact_id: int | None = None
    contact: str = "none"   # created | reused | skipped | none (not asked)
    company_id: int | None = None
    company: str = "none"
    deal_id: int | None = None
    deal: str = "none"
    outcome: str = "converted"  # converted | reused | unchanged | error
    reason: str | None = None
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("lead_id", "lead", "contact_id", "contact", "company_id", "company",
                                               "deal_id", "deal", "outcome", "reason")}


@dataclass
class _Plan:
    lead: dict[str, Any]
    contact: ContactRec | None = None
    contact_new: bool = False
    contact_fill: dict[str, Any] = field(default_factory=dict)
    company: CompanyRec | None = None
    company_new: bool = False
    company_fill: dict[str, Any] = field(default_factory=dict)
    deal: dict[str, Any] | None = None
    # The ids written (None in a dry run for records that would be created).
    contact_id: int | None = None
    company_id: int | None = None
    deal_id: int | None = None


class _Index:
    """Companies and contacts the target leads could match, keyed for O(1) lookups."""

    def __init__(self) -> None:
        self.company_by_key: dict[str, CompanyRec] = {}
        self.company_by_domain: dict[str, CompanyRec] = {}
        self.company_by_id: dict[int, CompanyRec] = {}
        self.contact_by_email: dict[str, ContactRec] = {}
        self.contact_by_phone: dict[str, ContactRec] = {}
        self.contact_by_id: dict[int, ContactRec] = {}

    def add_company(self, rec: CompanyRec) -> None:
        # The oldest record wins a key: it is the one people already know.
        self.company_by_key.setdefault(rec.name_key, rec)
        if rec.domain:
            self.company_by_domain.setdefault(rec.domain, rec)
        if rec.id is not None:
            self.company_by_id[rec.id] = rec

    def add_contact(self, rec: ContactRec) -> None:
        if rec.email_key:
            self.contact_by_email.setdefault(rec.email_key, rec)
        if rec.phone_key:
            self.contact_by_phone.setdefault(rec.phone_key, rec)
        if rec.id is not None:
            self.contact_by_id[rec.id] = rec


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _load_index(s: Session, lead_rows: Sequence[dict[str, Any]]) -> _Index:
    from sqlalchemy import select

    idx = _Index()
    conn = s.connection()
    emails = sorted({r["email_key"] for r in lead_rows if r["email_key"]})
    phones = sorted({r["phone_key"] for r in lead_rows if r["phone_key"]})
    contact_ids = sorted({r["contact_id"] for r in lead_rows if r["contact_id"]})
    for r in lead_rows:
        r["company_key"], r["company_domain"] = company_key(r["company"]), company_domain(r["email"])
    keys = sorted({r["company_key"] for r in lead_rows if r["company_key"]})
    domains = sorted({r["company_domain"] for r in lead_rows if r["company_domain"]})

    ct = Contact.__table__
    cols = [ct.c[name] for name in ("id", "company_id", *CONTACT_FILL)]
    for column, values in ((ct.c.email_key, emails), (ct.c.phone_key, phones), (ct.c.id, contact_ids)):
        for chunk in _chunks(values):
            for row in conn.execute(select(*cols).where(column.in_(chunk)).order_by(ct.c.id)):
                if row.id not in idx.contact_by_id:
                    idx.add_contact(ContactRec(**row._asdict()))
    company_ids = sorted({c.company_id for c in idx.contact_by_id.values() if c.company_id})
    co = Company.__table__
    cols = [co.c.id, co.c.name, co.c.name_key, co.c.domain, co.c.owner]
    found: list[CompanyRec] = []
    for column, values in ((co.c.name_key, keys), (co.c.domain, domains), (co.c.id, company_ids)):
        for chunk in _chunks(values):
            found.extend(CompanyRec(**row._asdict()) for row in conn.execute(select(*cols).where(column.in_(chunk))))
    seen: set[int | None] = set()
    for rec in sorted(found, key=lambda r: r.id or 0):
        if rec.id not in seen:
            seen.add(rec.id)
            idx.add_company(rec)
    return idx


def _load_leads(s: Session, ids: Sequence[int], flt: LeadFilter | None) -> tuple[list[dict], list[int]]:
    """The target leads as plain dicts (in id order, or the order of `ids`) and the ids not found."""
    from sqlalchemy import select

    t = Lead.metadata.tables["lead"]
    cols = [t.c[name] for name in _LEAD_COLUMNS]
    conn = s.connection()
    if ids:
        by_id: dict[int, dict] = {}
        unique = list(dict.fromkeys(ids))
        for chunk in _chunks(unique):
            for row in conn.execute(select(*cols).where(t.c.id.in_(chunk))):
                by_id[row.id] = row._asdict()
        return [by_id[i] for i in unique if i in by_id], [i for i in unique if i not in by_id]
    stmt = select(*cols).where(*(flt or LeadFilter()).clauses()).order_by(t.c.id)
    return [row._asdict() for row in conn.execute(stmt)], []


def count_targets(s: Session, flt: LeadFilter) -> int:
    from sqlalchemy import func, select

    t = Lead.metadata.tables["lead"]
    return int(s.connection().execute(select(func.count()).select_from(t).where(*flt.clauses())).scalar_one())


def default_deal_title(lead: dict[str, Any]) -> str:
    name = lead.get("name") or " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
    company = lead.get("company")
    if company and name:
        return f"{company} - {name}"
    return company or name or lead.get("email") or lead.get("phone") or f"Lead #{lead['id']}"


# ---------------------------------------------------------------- converting


class Converter:
    """Converts many leads in one command; see the module docstring for how it stays fast."""

    def __init__(self, s: Session, options: ConvertOptions) -> None:
        self.s = s
        self.opts = options
        self.now = now_iso()
        self.idx = _Index()

    def run(self, ids: Sequence[int] = (), flt: LeadFilter | None = None) -> list[ConvertResult]:
        lead_rows, missing = _load_leads(self.s, ids, flt)
        self.idx = _load_index(self.s, lead_rows)
        results = [ConvertResult(lead_id=i, outcome="error", reason=f"no lead with id {i}",
                                 hint="find ids with `leadcli list --search TEXT`") for i in missing]
        if not lead_rows:
            return results
        self.s.flush()
        db = FastSQL(self.s)
        for lead in lead_rows:
            results.append(self._convert_one(db, lead))
        if not self.opts.dry_run:
            # The ORM's copies of these rows are stale now.
            self.s.expire_all()
        return results

    def _convert_one(self, db: FastSQL, lead: dict[str, Any]) -> ConvertResult:
        result = ConvertResult(lead_id=lead["id"], lead=_lead_label(lead))
        current = lead["status"]
        if current == Status.converted.value:
            # Converting again asks for what is already there: left as it is, as a stage command
            # leaves a lead already at its stage (a script re-running a convert stays at exit 0).
            result.outcome, result.reason = "unchanged", f"already converted; see `leadcli show {lead['id']}`"
            return result
        if Status.converted.value not in leads.TRANSITIONS.get(current, set()):
            return _failed(result, f"lead #{lead['id']} is {current} and cannot become converted",
                           leads._transition_hint(current, Status.converted.value))
        plan = self._plan(lead)
        if self.opts.dry_run:
            self._register(plan, lead["id"])
            return self._describe(result, plan)
        try:
            with db.savepoint("convert_lead"):
                self._apply(db, plan)
        except WriteRefused as exc:
            return _failed(result, f"the database refused it: {exc}", None)
        self._register(plan, lead["id"])
        return self._describe(result, plan)

    def _plan(self, lead: dict[str, Any]) -> _Plan:
        plan = _Plan(lead=lead)
        idx = self.idx
        contact = None
        if self.opts.contact:
            contact = (idx.contact_by_id.get(lead["contact_id"]) if lead["contact_id"] else None) \
                or duplicates.first_same_person(lead, (
                    ("email_key", idx.contact_by_email.get(lead["email_key"]) if lead["email_key"] else None),
                    ("phone_key", idx.contact_by_phone.get(lead["phone_key"]) if lead["phone_key"] else None)))
            values = {k: lead[k] for k in CONTACT_FILL if lead.get(k)}
            if contact is not None:
                plan.contact = contact
                plan.contact_fill = {k: v for k, v in values.items() if not getattr(contact, k)}
                # An e-mail or phone is taken together with its key, never one without the other.
                for text, key in (("email", "email_key"), ("phone", "phone_key")):
                    if (text in plan.contact_fill) != (key in plan.contact_fill):
                        plan.contact_fill.pop(text, None)
                        plan.contact_fill.pop(key, None)
            elif any(lead.get(k) for k in ("name", "first_name", "last_name", "email", "phone")):
                plan.contact = ContactRec(id=None, **values)
                plan.contact_new = True
        if self.opts.company:
            key, domain = lead["company_key"], lead["company_domain"]
            company = (idx.company_by_key.get(key) if key else None) \
                or (idx.company_by_domain.get(domain) if domain else None)
            if company is None and not key and contact is not None and contact.company_id:
                company = idx.company_by_id.get(contact.company_id)
            if company is not None:
                plan.company = company
                fill = {"domain": domain, "owner": lead["owner"]}
                plan.company_fill = {k: v for k, v in fill.items() if v and not getattr(company, k)}
            elif key:
                plan.company = CompanyRec(id=None, name=validate.clean_text(lead["company"]) or key, name_key=key,
                                          domain=domain, owner=lead["owner"])
                plan.company_new = True
        if plan.contact is not None and plan.company is not None:
            if plan.contact_new:
                plan.contact.company_id = None  # set once the company has its id
            elif not plan.contact.company_id:
                plan.contact_fill["company_id"] = None
        if self.opts.deal:
            plan.deal = {
                "title": self.opts.deal_title or default_deal_title(lead),
                "value_cents": self.opts.deal_value_cents if self.opts.deal_value_cents is not None
                else lead["value_cents"],
                "currency": self.opts.deal_currency or lead["currency"],
                "owner": lead["owner"],
            }
        return plan

    def _apply(self, db: FastSQL, plan: _Plan) -> None:
        company_id = self._write_company(db, plan)
        contact_id = self._write_contact(db, plan, company_id)
        deal_id = self._write_deal(db, plan, contact_id, company_id)
        self._mark_converted(db, plan.lead, contact_id, company_id, deal_id)
        plan.contact_id, plan.company_id, plan.deal_id = contact_id, company_id, deal_id

    def _write_company(self, db: FastSQL, plan: _Plan) -> int | None:
        c, now = plan.company, self.now
        if c is None:
            return None
        if plan.company_new:
            return db.insert(_sql().company_insert, {
                "name": c.name, "name_key": c.name_key, "domain": c.domain, "owner": c.owner,
                "lead_id": plan.lead["id"], "created_at": now, "updated_at": now})
        if plan.company_fill:
            db.execute(_sql().company_update, {"row_id": c.id, **plan.company_fill, "updated_at": now})
        return c.id

    def _write_contact(self, db: FastSQL, plan: _Plan, company_id: int | None) -> int | None:
        c, now = plan.contact, self.now
        if c is None:
            return None
        if plan.contact_new:
            return db.insert(_sql().contact_insert, {
                **{k: getattr(c, k) for k in CONTACT_FILL}, "company_id": company_id, "lead_id": plan.lead["id"],
                "created_at": now, "updated_at": now})
        fill = dict(plan.contact_fill)
        if "company_id" in fill:
            fill["company_id"] = company_id
        if fill:
            db.execute(_sql().contact_update, {"row_id": c.id, **fill, "updated_at": now})
        return c.id

    def _write_deal(self, db: FastSQL, plan: _Plan, contact_id: int | None, company_id: int | None) -> int | None:
        d, now = plan.deal, self.now
        if d is None:
            return None
        return db.insert(_sql().deal_insert, {
            "title": d["title"], "value_cents": d["value_cents"], "currency": d["currency"], "owner": d["owner"],
            "status": "open", "lead_id": plan.lead["id"], "contact_id": contact_id, "company_id": company_id,
            "created_at": now, "updated_at": now})

    def _mark_converted(self, db: FastSQL, lead: dict[str, Any], contact_id: int | None,
                        company_id: int | None, deal_id: int | None) -> None:
        now = self.now
        done = db.execute(_sql().lead_converted, {
            "row_id": lead["id"], "old_status": lead["status"], "status": Status.converted.value,
            "status_reason": None, "converted_at": now, "updated_at": now,
            "contact_id": contact_id, "company_id": company_id, "deal_id": deal_id})
        if done != 1:
            raise WriteRefused(f"lead #{lead['id']} changed while converting")
        db.execute(_sql().status_insert, {
            "lead_id": lead["id"], "from_status": lead["status"], "to_status": Status.converted.value, "at": now,
            "reason": _conversion_note(contact_id, company_id, deal_id)})

    def _register(self, plan: _Plan, lead_id: int) -> None:
        """Make what this lead created or filled visible to the leads after it in the same command."""
        planned_by = lead_id if self.opts.dry_run else None
        if plan.company is not None:
            if plan.company_new:
                plan.company.id, plan.company.planned_by = plan.company_id, planned_by
            for k, v in plan.company_fill.items():
                setattr(plan.company, k, v)
            self.idx.add_company(plan.company)
        if plan.contact is not None:
            c = plan.contact
            for k, v in plan.contact_fill.items():
                if k != "company_id":
                    setattr(c, k, v)
            if plan.company is not None and (plan.contact_new or "company_id" in plan.contact_fill):
                c.company_id = plan.company.id
            if plan.contact_new:
                c.id, c.planned_by = plan.contact_id, planned_by
            self.idx.add_contact(c)

    def _describe(self, result: ConvertResult, plan: _Plan) -> ConvertResult:
        result.contact_id, result.contact, contact_note = _part(
            "contact", plan.contact, plan.contact_new, plan.contact_fill, self.opts.contact,
            "no contact: the lead has no name, e-mail or phone")
        result.company_id, result.company, company_note = _part(
            "company", plan.company, plan.company_new, plan.company_fill, self.opts.company,
            "no company: the lead has no company name")
        reused = [n for n in (contact_note, company_note) if n]
        if plan.deal is not None:
            result.deal_id = plan.deal_id
            result.deal = "created"
        result.outcome = "reused" if "reused" in (result.contact, result.company) else "converted"
        result.reason = "; ".join(reused) or None
        return result


def _failed(result: ConvertResult, reason: str, hint: str | None) -> ConvertResult:
    result.outcome, result.reason, result.hint = "error", reason, hint
    return result


def _part(kind: str, rec: ContactRec | CompanyRec | None, new: bool, fill: dict[str, Any], asked: bool,
          missing: str) -> tuple[int | None, str, str | None]:
    """(id, created | reused | skipped | none, the note for the reason) of a conversion's contact or company."""
    if rec is not None:
        if new:
            return rec.id, "created", None
        return rec.id, "reused", _reuse_note(kind, rec.id, rec.planned_by, fill)
    if asked:
        return None, "skipped", missing
    return None, "none", None


def _reuse_note(kind: str, rec_id: int | None, planned_by: int | None, fill: dict[str, Any]) -> str:
    who = f"{kind} #{rec_id}" if rec_id is not None else f"the {kind} lead #{planned_by} would create"
    filled = sorted({k.replace("_key", "") for k in fill if k != "company_id"} | ({"company"} if "company_id" in fill
                                                                                     else set()))
    return f"reused {who}" + (f", filled {', '.join(filled)}" if filled else "")


def _lead_label(lead: dict[str, Any]) -> str:
    return lead.get("name") or lead.get("email") or lead.get("company") or f"Lead #{lead['id']}"


def _conversion_note(contact_id: int | None, company_id: int | None, deal_id: int | None) -> str:
    parts = [f"{kind} #{i}" for kind, i in (("contact", contact_id), ("company", company_id), ("deal", deal_id)) if i]
    return "converted to " + ", ".join(parts) if parts else "converted"


@dataclass(frozen=True)
class _Statements:
    """The writes of a conversion, built once: Core statements the store runs with plain dicts."""

    company_insert: Any
    company_update: Any
    contact_insert: Any
    contact_update: Any
    deal_insert: Any
    lead_converted: Any
    status_insert: Any


@lru_cache(maxsize=1)
def _sql() -> _Statements:
    from sqlalchemy import bindparam, insert, update

    co, ct, d = Company.__table__, Contact.__table__, Deal.__table__
    t, sc = Lead.metadata.tables["lead"], StatusChange.metadata.tables["status_change"]
    return _Statements(
        company_insert=insert(co), company_update=update(co).where(co.c.id == bindparam("row_id")),
        contact_insert=insert(ct), contact_update=update(ct).where(ct.c.id == bindparam("row_id")),
        deal_insert=insert(d),
        lead_converted=update(t).where(t.c.id == bindparam("row_id"), t.c.status == bindparam("old_status")),
        status_insert=insert(sc))


def convert(s: Session, ids: Sequence[int] = (), flt: LeadFilter | None = None,
            options: ConvertOptions | None = None) -> list[ConvertResult]:
    """Convert the leads `ids` (or those matching `flt`); one result per lead, errors included."""
    return Converter(s, options or ConvertOptions()).run(ids, flt)

