"""Contacts and companies: the keys a company is matched on, and the lists of both.

A company is matched by its normalised name (case, accents, punctuation and legal form ignored),
else by the company domain of a lead's e-mail; free-mail domains such as gmail.com never match.
Takes a session, never prints.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from leadcli import validate
from leadcli.models import Company, Contact, Deal, Lead

if TYPE_CHECKING:
    from sqlmodel import Session

# Addresses at these domains say nothing about the person's employer.
FREE_MAIL_DOMAINS = frozenset([
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
    "protonmail.ch", "pm.me", "tutanota.com", "tuta.io", "gmx.com", "gmx.net", "gmx.de", "web.de", "t-online.de",
    "freenet.de", "mail.com", "email.com", "inbox.com", "zoho.com", "fastmail.com", "fastmail.fm", "hey.com",
    "yandex.com", "yandex.ru", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru", "ukr.net",
    "qq.com", "163.com", "126.com", "sina.com", "sohu.com", "naver.com", "daum.net", "hanmail.net",
    "rediffmail.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net",
    "charter.net", "btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net", "orange.fr",
    "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it", "alice.it",
    "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "bol.com.br", "uol.com.br", "terra.com.br", "shaw.ca",
    "rogers.com", "bigpond.com", "optusnet.com.au", "xtra.co.nz"
])
# Providers with a domain per country (yahoo.co.uk, hotmail.fr, gmx.at ...).
_FREE_MAIL_PROVIDERS = frozenset({"gmail", "yahoo", "hotmail", "outlook", "live", "gmx", "yandex", "aol", "msn"})

# Words that name a company's legal form, not the company: "Acme, Inc." is "Acme".
LEGAL_FORMS = frozenset([
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "llp", "lp", "plc",
    "gmbh", "mbh", "ag", "kg", "ohg", "ug", "se", "sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv", "oy", "oyj",
    "ab", "as", "asa", "aps", "pty", "pte", "kk", "lda", "ltda", "sro", "zoo"
])

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


# ---------------------------------------------------------------- lists

def list_contacts(s: Session, *, search: str | None = None, company_id: int | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    from sqlalchemy import func, or_, select

    c, co, ld, d = Contact.__table__, Company.__table__, Lead.metadata.tables["lead"], Deal.__table__
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


