"""Converting leads into contacts, companies and deals; deals after that; repeat leads.

Conversion reuses what exists instead of duplicating it: a company is matched by its normalised
name, else by the lead e-mail's company domain (free-mail domains such as gmail.com never match);
a contact by e-mail, else by phone. A reused record only gets its empty fields filled.

Bulk conversion preloads every company and contact the target leads could match into dicts
(a few `IN` queries per command, not a query per lead), then writes each lead inside its own
savepoint on the raw connection, so one failing lead leaves the others converted.
Takes a session, never prints.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadcli import duplicates, leads, validate
from leadcli.errors import InvalidTransition, InvalidValue, NotFound
from leadcli.models import OPEN_STATUSES, Company, Contact, Deal, DealStatus, Lead, Status
from leadcli.query import LeadFilter
from leadcli.repeat_leads import link_repeat_leads  # noqa: F401  (part of this module's API)
from leadcli.store import now_iso, raw_connection

if TYPE_CHECKING:
    from sqlmodel import Session

# Addresses at these domains say nothing about the person's employer.
FREE_MAIL_DOMAINS = frozenset(["gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tuta.io", "gmx.com", "gmx.net", "gmx.de", "web.de", "t-online.de", "freenet.de", "mail.com", "email.com", "inbox.com", "zoho.com", "fastmail.com", "fastmail.fm", "hey.com", "yandex.com", "yandex.ru", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru", "ukr.net", "qq.com", "163.com", "126.com", "sina.com", "sohu.com", "naver.com", "daum.net", "hanmail.net", "rediffmail.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it", "alice.it", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "bol.com.br", "uol.com.br", "terra.com.br", "shaw.ca", "rogers.com", "bigpond.com", "optusnet.com.au", "xtra.co.nz"])
# Providers with a domain per country (yahoo.co.uk, hotmail.fr, gmx.at ...).
_FREE_MAIL_PROVIDERS = frozenset({"gmail", "yahoo", "hotmail", "outlook", "live", "gmx", "yandex", "aol", "msn"})

# Words that name a company's legal form, not the company: "Acme, Inc." is "Acme".
LEGAL_FORMS = frozenset(["inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "llp", "lp", "plc", "gmbh", "mbh", "ag", "kg", "ohg", "ug", "se", "sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv", "oy", "oyj", "ab", "as", "asa", "aps", "pty", "pte", "kk", "lda", "ltda", "sro", "zoo"])

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def company_key(name: str | None) -> str | None:
    """A company name normalised for matching: case, accents, punctuation and legal form ignored."""
    name = validate.clean_text(name)
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name.casefold().replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace(".", "")  # "S.A." and "Inc." lose their dots before splitting
    words = [w for w in _NON_WORD.sub(" ", text).split() if w]
    core = list(words)
    while len(core) > 1 and core[-1] in LEGAL_FORMS:
        core.pop()
    if len(core) > 1 and core[0] == "the":
        core.pop(0)
    return " ".join(core or words) or None


def company_domain(email: str | None) -> str | None:
    """The company domain of an e-mail address, or None for free-mail providers."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    if not domain or domain in FREE_MAIL_DOMAINS or domain.split(".", 1)[0] in _FREE_MAIL_PROVIDERS:
        return None
    return domain


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
    seen: set[int] = set()
    for rec in sorted(found, key=lambda r: r.id):
        if rec.id not in seen:
            seen.add(rec.id)
            idx.add_company(rec)
    return idx


def _load_leads(s: Session, ids: Sequence[int], flt: LeadFilter | None) -> tuple[list[dict], list[int]]:
    """The target leads as plain dicts (in id order, or the order of `ids`) and the ids not found."""
    from sqlalchemy import select

    t = Lead.__table__
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

    return s.connection().execute(select(func.count()).select_from(Lead.__table__).where(*flt.clauses())).scalar_one()


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
        self._next: dict[str, int] = {}

    def run(self, ids: Sequence[int] = (), flt: LeadFilter | None = None) -> list[ConvertResult]:
        lead_rows, missing = _load_leads(self.s, ids, flt)
        self.idx = _load_index(self.s, lead_rows)
        results = [ConvertResult(lead_id=i, outcome="error", reason=f"no lead with id {i}",
                                 hint="find ids with `leadcli list --search TEXT`") for i in missing]
        if not lead_rows:
            return results
        self.s.flush()
        raw = raw_connection(self.s)
        for table in ("contact", "company", "deal"):
            self._next[table] = (raw.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
        for lead in lead_rows:
            results.append(self._convert_one(raw, lead))
        if not self.opts.dry_run:
            # The ORM's copies of these rows are stale now.
            self.s.expire_all()
        return results

    def _convert_one(self, raw: sqlite3.Connection, lead: dict[str, Any]) -> ConvertResult:
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
        raw.execute("SAVEPOINT convert_lead")
        try:
            self._apply(raw, plan)
        except sqlite3.Error as exc:
            raw.execute("ROLLBACK TO convert_lead")
            raw.execute("RELEASE convert_lead")
            return _failed(result, f"the database refused it: {exc}", None)
        raw.execute("RELEASE convert_lead")
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
                plan.company = CompanyRec(id=None, name=validate.clean_text(lead["company"]), name_key=key,
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

    def _take_id(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def _apply(self, raw: sqlite3.Connection, plan: _Plan) -> None:
        now, lead = self.now, plan.lead
        company_id = contact_id = deal_id = None
        if plan.company is not None:
            if plan.company_new:
                company_id = self._take_id("company")
                c = plan.company
                raw.execute("INSERT INTO company (id, name, name_key, domain, owner, lead_id, created_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (company_id, c.name, c.name_key, c.domain, c.owner, lead["id"], now, now))
            else:
                company_id = plan.company.id
                if plan.company_fill:
                    _update(raw, "company", company_id, {**plan.company_fill, "updated_at": now})
        if plan.contact is not None:
            c = plan.contact
            if plan.contact_new:
                contact_id = self._take_id("contact")
                raw.execute("INSERT INTO contact (id, name, first_name, last_name, email, email_key, phone, phone_key,"
                            " title, company_id, owner, lead_id, created_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (contact_id, c.name, c.first_name, c.last_name, c.email, c.email_key, c.phone,
                             c.phone_key, c.title, company_id, c.owner, lead["id"], now, now))
            else:
                contact_id = c.id
                fill = dict(plan.contact_fill)
                if "company_id" in fill:
                    fill["company_id"] = company_id
                if fill:
                    _update(raw, "contact", contact_id, {**fill, "updated_at": now})
        if plan.deal is not None:
            deal_id = self._take_id("deal")
            d = plan.deal
            raw.execute("INSERT INTO deal (id, title, value_cents, currency, owner, status, lead_id, contact_id,"
                        " company_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
                        (deal_id, d["title"], d["value_cents"], d["currency"], d["owner"], lead["id"], contact_id,
                         company_id, now, now))
        done = raw.execute(
            "UPDATE lead SET status = 'converted', status_reason = NULL, converted_at = ?, updated_at = ?,"
            " contact_id = ?, company_id = ?, deal_id = ? WHERE id = ? AND status = ?",
            (now, now, contact_id, company_id, deal_id, lead["id"], lead["status"]))
        if done.rowcount != 1:
            raise sqlite3.IntegrityError(f"lead #{lead['id']} changed while converting")
        raw.execute("INSERT INTO status_change (lead_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)",
                    (lead["id"], lead["status"], Status.converted.value, now,
                     _conversion_note(contact_id, company_id, deal_id)))
        plan.contact_id, plan.company_id, plan.deal_id = contact_id, company_id, deal_id

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
        reused = []
        if plan.contact is not None:
            result.contact_id = plan.contact.id
            result.contact = "created" if plan.contact_new else "reused"
            if not plan.contact_new:
                reused.append(_reuse_note("contact", plan.contact.id, plan.contact.planned_by, plan.contact_fill))
        elif self.opts.contact:
            result.contact = "skipped"
            reused.append("no contact: the lead has no name, e-mail or phone")
        if plan.company is not None:
            result.company_id = plan.company.id
            result.company = "created" if plan.company_new else "reused"
            if not plan.company_new:
                reused.append(_reuse_note("company", plan.company.id, plan.company.planned_by, plan.company_fill))
        elif self.opts.company:
            result.company = "skipped"
            reused.append("no company: the lead has no company name")
        if plan.deal is not None:
            result.deal_id = plan.deal_id
            result.deal = "created"
        reused_any = (plan.contact is not None and not plan.contact_new) or \
            (plan.company is not None and not plan.company_new)
        result.outcome = "reused" if reused_any else "converted"
        result.reason = "; ".join(reused) or None
        return result


def _failed(result: ConvertResult, reason: str, hint: str | None) -> ConvertResult:
    result.outcome, result.reason, result.hint = "error", reason, hint
    return result


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


def _update(raw: sqlite3.Connection, table: str, row_id: int, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    raw.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row_id))


def convert(s: Session, ids: Sequence[int] = (), flt: LeadFilter | None = None,
            options: ConvertOptions | None = None) -> list[ConvertResult]:
    """Convert the leads `ids` (or those matching `flt`); one result per lead, errors included."""
    return Converter(s, options or ConvertOptions()).run(ids, flt)


# ---------------------------------------------------------------- deals


def get_deal(s: Session, deal_id: int) -> Deal:
    deal = s.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal with id {deal_id}", hint="see the deals with `leadcli deals list`")
    return deal


def money_text(cents: int | None, currency: str | None) -> str | None:
    if cents is None:
        return None
    from decimal import Decimal

    return f"{Decimal(cents) / 100:,.2f} {currency or ''}".strip()


DEAL_KEYS = ("id", "title", "status", "value", "currency", "owner", "lead_id", "contact_id", "contact",
             "company_id", "company", "lost_reason", "created_at", "updated_at", "closed_at")


def list_deals(s: Session, *, statuses: Sequence[str] = (), owner: str | None = None, lead_id: int | None = None,
               deal_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    from decimal import Decimal

    from sqlalchemy import select

    d, c, co = Deal.__table__, Contact.__table__, Company.__table__
    stmt = (select(d, c.c.name.label("contact"), co.c.name.label("company"))
            .select_from(d.outerjoin(c, c.c.id == d.c.contact_id).outerjoin(co, co.c.id == d.c.company_id)))
    if statuses:
        stmt = stmt.where(d.c.status.in_(list(statuses)))
    if owner:
        stmt = stmt.where(d.c.owner == owner)
    if lead_id is not None:
        stmt = stmt.where(d.c.lead_id == lead_id)
    if deal_id is not None:
        stmt = stmt.where(d.c.id == deal_id)
    stmt = stmt.order_by(d.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    out = []
    for row in s.connection().execute(stmt):
        m = row._mapping
        record = {k: m[k] for k in DEAL_KEYS if k != "value"}
        record["value"] = None if m["value_cents"] is None else Decimal(m["value_cents"]) / 100
        out.append({k: record[k] for k in DEAL_KEYS})
    return out


def deal_record(s: Session, deal_id: int) -> dict[str, Any]:
    get_deal(s, deal_id)
    return list_deals(s, deal_id=deal_id)[0]


def _ensure_open(deal: Deal, action: str) -> None:
    if deal.status != DealStatus.open.value:
        hint = f"reopen it first with `leadcli deals reopen {deal.id}`" \
            if deal.status in (DealStatus.won.value, DealStatus.lost.value) else \
            "it was turned back into a lead; convert that lead again for a new deal"
        raise InvalidTransition(f"deal #{deal.id} is {deal.status} and cannot be {action}", hint=hint)


def win_deal(s: Session, deal: Deal) -> Deal:
    _ensure_open(deal, "won")
    now = now_iso()
    deal.status, deal.closed_at, deal.updated_at, deal.lost_reason = DealStatus.won.value, now, now, None
    s.add(deal)
    s.flush()
    return deal


def lose_deal(s: Session, deal: Deal, reason: str | None) -> Deal:
    reason = validate.clean_text(reason)
    if not reason:
        raise InvalidValue("reason", "marking a deal lost needs a reason",
                           hint='add --reason, e.g. --reason "price"')
    _ensure_open(deal, "lost")
    now = now_iso()
    deal.status, deal.closed_at, deal.updated_at, deal.lost_reason = DealStatus.lost.value, now, now, reason
    s.add(deal)
    s.flush()
    return deal


def reopen_deal(s: Session, deal: Deal) -> Deal:
    if deal.status not in (DealStatus.won.value, DealStatus.lost.value):
        raise InvalidTransition(f"deal #{deal.id} is {deal.status}; only won or lost deals can be reopened")
    deal.status, deal.closed_at, deal.lost_reason, deal.updated_at = DealStatus.open.value, None, None, now_iso()
    s.add(deal)
    s.flush()
    return deal


def status_before_conversion(s: Session, lead_id: int) -> str:
    """The open stage a lead was in when it was last converted (qualified if unknown)."""
    return _status_before(s, lead_id, Status.converted.value, Status.qualified.value)


def status_before_disqualification(s: Session, lead_id: int) -> str:
    return _status_before(s, lead_id, Status.disqualified.value, Status.new.value)


def _status_before(s: Session, lead_id: int, terminal: str, default: str) -> str:
    from sqlmodel import select

    from leadcli.models import StatusChange

    last = s.exec(select(StatusChange.from_status).where(StatusChange.lead_id == lead_id,
                                                         StatusChange.to_status == terminal)
                  .order_by(StatusChange.at.desc(), StatusChange.id.desc()).limit(1)).first()
    return last if last in OPEN_STATUSES else default


def deal_to_lead(s: Session, deal: Deal, reason: str | None = None) -> Lead:
    """Turn a deal back into an open lead (as Pipedrive does): the deal is kept, marked `reverted`,
    and the lead it came from reopens at the stage it had before converting."""
    if deal.status == DealStatus.won.value:
        raise InvalidTransition(f"deal #{deal.id} is won; a won deal is a closed sale and stays a deal",
                                hint=f"if it was marked won by mistake, `leadcli deals reopen {deal.id}` first")
    if deal.status == DealStatus.reverted.value:
        raise InvalidTransition(f"deal #{deal.id} was already turned back into lead #{deal.lead_id}",
                                hint=f"see it with `leadcli show {deal.lead_id}`")
    if deal.lead_id is None or (lead := s.get(Lead, deal.lead_id)) is None:
        raise NotFound(f"deal #{deal.id} has no lead to go back to (it was deleted)")
    if lead.status != Status.converted.value or (lead.deal_id is not None and lead.deal_id != deal.id):
        raise InvalidTransition(f"lead #{lead.id} is no longer converted into deal #{deal.id}",
                                hint=f"see the lead with `leadcli show {lead.id}`")
    now = now_iso()
    stage = status_before_conversion(s, lead.id)
    note = validate.clean_text(reason)
    leads.set_status(s, lead, stage, f"deal #{deal.id} turned back into a lead" + (f": {note}" if note else ""),
                     at=now, reopening=True)
    lead.deal_id = None
    s.add(lead)
    deal.status, deal.closed_at, deal.updated_at = DealStatus.reverted.value, now, now
    s.add(deal)
    s.flush()
    return lead


# ---------------------------------------------------------------- contacts and companies


def list_contacts(s: Session, *, search: str | None = None, company_id: int | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    from sqlalchemy import func, or_, select

    c, co, ld, d = Contact.__table__, Company.__table__, Lead.__table__, Deal.__table__
    leads_n = select(func.count()).where(ld.c.contact_id == c.c.id).scalar_subquery()
    deals_n = select(func.count()).where(d.c.contact_id == c.c.id, d.c.status != "reverted").scalar_subquery()
    stmt = (select(c.c.id, c.c.name, c.c.email, c.c.phone, c.c.title, c.c.company_id, co.c.name.label("company"),
                   c.c.owner, leads_n.label("leads"), deals_n.label("deals"), c.c.lead_id, c.c.created_at)
            .select_from(c.outerjoin(co, co.c.id == c.c.company_id)))
    if search:
        pattern = f"%{search}%"
        stmt = stmt.where(or_(c.c.name.ilike(pattern), c.c.email.ilike(pattern), c.c.phone.ilike(pattern),
                              co.c.name.ilike(pattern)))
    if company_id is not None:
        stmt = stmt.where(c.c.company_id == company_id)
    stmt = stmt.order_by(c.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return [dict(row._mapping) for row in s.connection().execute(stmt)]


def list_companies(s: Session, *, search: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    co, c, d = Company.__table__, Contact.__table__, Deal.__table__
    contacts_n = select(func.count()).where(c.c.company_id == co.c.id).scalar_subquery()
    open_n = select(func.count()).where(d.c.company_id == co.c.id, d.c.status == "open").scalar_subquery()
    won_n = select(func.count()).where(d.c.company_id == co.c.id, d.c.status == "won").scalar_subquery()
    stmt = select(co.c.id, co.c.name, co.c.domain, co.c.owner, contacts_n.label("contacts"),
                  open_n.label("open_deals"), won_n.label("won_deals"), co.c.lead_id, co.c.created_at)
    if search:
        stmt = stmt.where(co.c.name.ilike(f"%{search}%") | co.c.domain.ilike(f"%{search}%"))
    stmt = stmt.order_by(co.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return [dict(row._mapping) for row in s.connection().execute(stmt)]


# ---------------------------------------------------------------- what `show` adds to a lead


def lead_extras(s: Session, lead: Lead, extras: leads.LeadExtras) -> None:
    """The contact, company and deal a lead became, its deals, and whether it is a repeat lead."""
    contact = s.get(Contact, lead.contact_id) if lead.contact_id else None
    company = s.get(Company, lead.company_id) if lead.company_id else None
    deals = list_deals(s, lead_id=lead.id)
    current = next((d for d in deals if d["id"] == lead.deal_id), None)
    if lead.repeat_lead and contact is not None:
        from sqlalchemy import func, select

        earlier = s.connection().execute(
            select(func.count()).select_from(Lead.__table__)
            .where(Lead.__table__.c.contact_id == contact.id, Lead.__table__.c.id < lead.id)).scalar_one()
        extras.fields.append(("repeat lead", f"yes: contact #{contact.id} {contact.name or contact.email or ''}"
                                             f" came back ({earlier} earlier lead(s))".replace("  ", " ")))
    if contact is not None:
        label = " ".join(p for p in (contact.name, f"<{contact.email}>" if contact.email else None) if p)
        extras.fields.append(("contact", f"#{contact.id} {label}".strip()))
    if company is not None:
        extras.fields.append(("company record", f"#{company.id} {company.name}"
                                                + (f" ({company.domain})" if company.domain else "")))
    if current is not None:
        money = money_text(None if current["value"] is None else int(current["value"] * 100), current["currency"])
        extras.fields.append(("deal", " · ".join(p for p in (f"#{current['id']} {current['title']}", current["status"],
                                                            money) if p)))
    if deals:
        extras.sections.append(("Deals", [
            {"deal": d["id"], "title": d["title"], "status": d["status"], "value": d["value"],
             "currency": d["currency"] or "", "closed": (d["closed_at"] or "")[:10],
             "lost reason": d["lost_reason"] or ""} for d in deals]))
    extras.data.update({
        "contact_id": lead.contact_id, "company_id": lead.company_id, "deal_id": lead.deal_id,
        "repeat_lead": bool(lead.repeat_lead), "deals": deals,
    })
