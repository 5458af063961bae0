"""convert: contact/company/deal creation, reuse by name, domain, e-mail and phone, the fill-only-empty rule,
dry runs, bulk partial failure, converted leads refusing edits, and repeat leads."""

from __future__ import annotations

import json
import random

import dbshim
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcli.contacts import company_domain, company_key


def add(cli, *args):
    return int(cli.ok("-q", "add", *args).stdout.strip())


def show(cli, lead_id):
    return json.loads(cli.ok("-f", "json", "show", lead_id).stdout)


def convert(cli, *args):
    return json.loads(cli.ok("-f", "json", "convert", *args).stdout)


def rows(db_path, sql, *params):
    con = dbshim.connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- matching keys


def test_company_key_ignores_case_punctuation_accents_and_legal_form():
    same = ["Acme", "ACME", "Acme, Inc.", "acme inc", "The Acme Company", "Acme Ltd.", "ACME GmbH", "  Acme  Corp "]
    assert {company_key(n) for n in same} == {"acme"}
    assert company_key("Société Générale S.A.") == company_key("societe generale")
    assert company_key("Johnson & Johnson") == company_key("Johnson and Johnson")
    assert company_key("Acme Labs") != company_key("Acme")
    assert company_key("Inc") == "inc" and company_key("") is None and company_key(None) is None


@given(st.text(alphabet="abcdefghij ,.&-'ABCDEFGHIJ", max_size=30))
def test_company_key_is_idempotent_and_case_blind(name):
    key = company_key(name)
    if key is None:
        return
    assert company_key(key) == key
    assert company_key(name.upper()) == key == company_key(name.lower())
    assert key == key.strip() and "  " not in key


def test_company_domain_ignores_free_mail():
    assert company_domain("ana@ACME.io") == "acme.io"
    assert company_domain("bo@www.globex.com") == "globex.com"
    for free in ("x@gmail.com", "x@yahoo.co.uk", "x@hotmail.fr", "x@outlook.com", "x@icloud.com", "x@gmx.de",
                 "x@proton.me", "x@mail.ru"):
        assert company_domain(free) is None, free
    assert company_domain(None) is None and company_domain("not-an-email") is None


# ---------------------------------------------------------------- one lead


def test_convert_creates_contact_company_and_open_deal_from_the_lead(cli, isolated_db):
    lead_id = add(cli, "Ana Silva", "--email", "ana@acme.io", "--phone", "+351 912 345 678", "--company", "Acme",
                  "--title", "CTO", "--owner", "maria", "--value", "5000", "--currency", "EUR")
    (result,) = convert(cli, lead_id)
    assert result == {"lead_id": lead_id, "lead": "Ana Silva", "contact_id": 1, "contact": "created",
                      "company_id": 1, "company": "created", "deal_id": 1, "deal": "created",
                      "outcome": "converted", "reason": None}
    assert rows(isolated_db, "SELECT name, first_name, last_name, email, phone, title, company_id, owner, lead_id"
                             " FROM contact") == [("Ana Silva", "Ana", "Silva", "ana@acme.io", "+351912345678",
                                                   "CTO", 1, "maria", lead_id)]
    assert rows(isolated_db, "SELECT name, name_key, domain, owner FROM company") == [("Acme", "acme", "acme.io",
                                                                                       "maria")]
    assert rows(isolated_db, "SELECT title, value_cents, currency, owner, status, contact_id, company_id, lead_id"
                             " FROM deal") == [("Acme - Ana Silva", 500000, "EUR", "maria", "open", 1, 1, lead_id)]
    lead = show(cli, lead_id)
    assert lead["status"] == "converted" and lead["converted_at"]
    assert (lead["contact_id"], lead["company_id"], lead["deal_id"]) == (1, 1, 1)
    assert lead["repeat_lead"] is False
    assert lead["deals"][0]["status"] == "open" and lead["deals"][0]["value"] == 5000
    assert lead["history"][-1]["from"] == "new" and lead["history"][-1]["to"] == "converted"
    assert "deal #1" in lead["history"][-1]["reason"]
    # The lead keeps its own data for reports.
    assert lead["value"] == 5000 and lead["company"] == "Acme" and lead["email"] == "ana@acme.io"


def test_show_card_lists_what_the_lead_became(cli):
    lead_id = add(cli, "Ana Silva", "--email", "ana@acme.io", "--company", "Acme", "--value", "5000",
                  "--currency", "EUR")
    cli.ok("convert", lead_id)
    card = cli.ok("-f", "table", "show", lead_id, env={"COLUMNS": "140"}).stdout
    assert "#1 Ana Silva <ana@acme.io>" in card
    assert "#1 Acme (acme.io)" in card
    assert "#1 Acme - Ana Silva · open · 5,000.00 EUR" in card
    assert "Deals" in card and "Timeline" in card  # the history, with the activities
    flat = cli.ok("-f", "csv", "show", lead_id).stdout
    header, row = flat.splitlines()
    assert "deals" not in header.split(",") and "title" not in row


def test_options_choose_what_is_created(cli, isolated_db):
    a = add(cli, "Ana", "--email", "ana@acme.io", "--company", "Acme")
    b = add(cli, "Bo", "--email", "bo@globex.com", "--company", "Globex")
    c = add(cli, "Cy", "--email", "cy@initech.com", "--company", "Initech", "--value", "10")
    (ra,) = convert(cli, a, "--no-deal")
    (rb,) = convert(cli, b, "--no-contact", "--no-company")
    (rc,) = convert(cli, c, "--deal-title", "Initech rollout", "--deal-value", "12,000.50", "--deal-currency", "usd")
    assert (ra["contact"], ra["company"], ra["deal"]) == ("created", "created", "none")
    assert (rb["contact"], rb["company"], rb["deal"]) == ("none", "none", "created")
    assert rows(isolated_db, "SELECT contact_id, company_id, title FROM deal WHERE lead_id = ?", b) == \
        [(None, None, "Globex - Bo")]
    assert rows(isolated_db, "SELECT title, value_cents, currency FROM deal WHERE lead_id = ?", c) == \
        [("Initech rollout", 1200050, "USD")]
    assert show(cli, a)["status"] == show(cli, b)["status"] == "converted"
    bad = cli("convert", add(cli, "Di"), "--no-deal", "--deal-value", "5")
    assert bad.exit_code == 2


def test_a_lead_without_company_name_gets_no_company_unless_its_domain_matches(cli):
    a = add(cli, "Ana", "--email", "ana@gmail.com")
    (ra,) = convert(cli, a)
    assert ra["company"] == "skipped" and "no company name" in ra["reason"] and ra["contact"] == "created"


def test_reuse_company_by_normalised_name_and_by_domain_never_by_free_mail(cli, isolated_db):
    first = add(cli, "Ana", "--email", "ana@acme.io", "--company", "Acme, Inc.")
    convert(cli, first)
    by_name = add(cli, "Bo", "--email", "bo@other-mail.net", "--company", "ACME inc")
    by_domain = add(cli, "Cy", "--email", "cy@acme.io")
    (r1,) = convert(cli, by_name)
    (r2,) = convert(cli, by_domain)
    assert (r1["company"], r1["company_id"], r1["outcome"]) == ("reused", 1, "reused")
    assert (r2["company"], r2["company_id"], r2["outcome"]) == ("reused", 1, "reused")
    g1 = add(cli, "Di", "--email", "di@gmail.com", "--company", "Dunder")
    g2 = add(cli, "Ed", "--email", "ed@gmail.com", "--company", "Mifflin")
    convert(cli, g1)
    (r3,) = convert(cli, g2)
    assert r3["company"] == "created"
    assert rows(isolated_db, "SELECT name, domain FROM company ORDER BY id") == [
        ("Acme, Inc.", "acme.io"), ("Dunder", None), ("Mifflin", None)]
    # Contacts of a reused company point at it.
    assert rows(isolated_db, "SELECT DISTINCT company_id FROM contact WHERE lead_id IN (?, ?, ?)",
                first, by_name, by_domain) == [(1,)]


def test_reuse_contact_by_email_or_phone_filling_only_empty_fields(cli, isolated_db):
    first = add(cli, "Ana Silva", "--email", "ana@acme.io", "--title", "CTO", "--company", "Acme")
    convert(cli, first, "--no-deal")
    # The same person again, with more data and a different title: only the empty phone is filled.
    again = add(cli, "Ana S.", "--email", "ANA@acme.io", "--phone", "+44 20 7946 0958", "--title", "CEO",
                "--owner", "maria", "--allow-duplicate")
    (r,) = convert(cli, again)
    assert (r["contact"], r["contact_id"], r["outcome"]) == ("reused", 1, "reused")
    assert "filled" in r["reason"] and "phone" in r["reason"] and "owner" in r["reason"]
    assert rows(isolated_db, "SELECT name, email, phone, title, owner FROM contact") == [
        ("Ana Silva", "ana@acme.io", "+442079460958", "CTO", "maria")]
    # Matched by phone alone.
    by_phone = add(cli, "A. Silva", "--phone", "+44 20 7946 0958", "--allow-duplicate")
    (r2,) = convert(cli, by_phone)
    assert (r2["contact"], r2["contact_id"]) == ("reused", 1)
    assert rows(isolated_db, "SELECT count(*) FROM contact") == [(1,)]
    assert rows(isolated_db, "SELECT count(*) FROM deal") == [(2,)]


def test_reused_company_gets_only_its_empty_fields_filled(cli, isolated_db):
    a = add(cli, "Ana", "--email", "ana@gmail.com", "--company", "Acme")
    convert(cli, a)
    assert rows(isolated_db, "SELECT domain, owner FROM company") == [(None, None)]
    b = add(cli, "Bo", "--email", "bo@acme.io", "--company", "ACME", "--owner", "maria")
    convert(cli, b)
    c = add(cli, "Cy", "--email", "cy@acme.com", "--company", "Acme", "--owner", "joao")
    convert(cli, c)
    assert rows(isolated_db, "SELECT name, domain, owner FROM company") == [("Acme", "acme.io", "maria")]


def test_dry_run_shows_the_plan_and_writes_nothing(cli, isolated_db):
    existing = add(cli, "Ana", "--email", "ana@acme.io", "--company", "Acme")
    convert(cli, existing)
    a = add(cli, "Bo", "--email", "bo@acme.io", "--company", "Acme")
    b = add(cli, "Cy", "--email", "cy@globex.com", "--company", "Globex")
    c = add(cli, "Di", "--email", "di@globex.com")
    cli.ok("qualify", a, b, c)
    tables = ("lead", "status_change", "contact", "company", "deal")
    before = {t: rows(isolated_db, f"SELECT * FROM {t} ORDER BY 1") for t in tables}
    result = cli.ok("-f", "json", "convert", "--status", "qualified", "--dry-run")
    plan = {r["lead_id"]: r for r in json.loads(result.stdout)}
    assert "nothing was written" in result.stderr
    assert (plan[a]["company"], plan[a]["company_id"], plan[a]["contact"]) == ("reused", 1, "created")
    assert (plan[b]["company"], plan[b]["company_id"]) == ("created", None)
    # Di's company is the one Cy's conversion would create, matched by domain.
    assert (plan[c]["company"], plan[c]["company_id"]) == ("reused", None)
    assert f"lead #{b} would create" in plan[c]["reason"]
    assert {t: rows(isolated_db, f"SELECT * FROM {t} ORDER BY 1") for t in tables} == before
    table = cli.ok("-f", "table", "convert", "--status", "qualified", "--dry-run", env={"COLUMNS": "160"}).stdout
    assert "Dry run" in table and "#1 reused" in table and "new" in table


def test_bulk_conversion_one_command_shares_new_companies(cli, isolated_db):
    ids = [add(cli, f"P{i}", "--email", f"p{i}@initech.com", "--company", "Initech LLC" if i % 2 else "initech")
           for i in range(4)]
    cli.ok("qualify", *ids)
    result = cli.ok("-f", "json", "convert", "--status", "qualified", "--yes")
    out = json.loads(result.stdout)
    assert [r["company"] for r in out] == ["created", "reused", "reused", "reused"]
    assert rows(isolated_db, "SELECT count(*) FROM company") == [(1,)]
    assert rows(isolated_db, "SELECT count(*) FROM contact") == [(4,)]
    assert "converted 4 lead(s)" in result.stderr


@pytest.mark.sqlite_only
def test_bulk_partial_failure_keeps_the_others_and_exits_1(cli, isolated_db):
    good1 = add(cli, "Ana", "--email", "ana@acme.io", "--company", "Acme")
    dropped = add(cli, "Bo", "--company", "Globex")
    boom = add(cli, "Cy", "--email", "cy@initech.com", "--company", "Initech")
    good2 = add(cli, "Di", "--company", "Umbrella")
    cli.ok("disqualify", dropped, "--reason", "spam")
    # A database-level failure half-way through one lead (after its company and contact were written).
    con = dbshim.connect(isolated_db)
    con.execute("CREATE TRIGGER no_cy BEFORE INSERT ON deal WHEN NEW.title LIKE 'Initech%'"
                " BEGIN SELECT RAISE(ABORT, 'deal refused'); END")
    con.commit()
    con.close()
    result = cli("-f", "json", "convert", good1, dropped, boom, good2, 999)
    assert result.exit_code == 1
    out = {r["lead_id"]: r for r in json.loads(result.stdout)}
    assert out[good1]["outcome"] == "converted" and out[good2]["outcome"] == "converted"
    assert out[dropped]["outcome"] == "error" and "disqualified" in out[dropped]["reason"]
    assert out[boom]["outcome"] == "error" and "deal refused" in out[boom]["reason"]
    assert out[999]["outcome"] == "error" and "no lead with id 999" in out[999]["reason"]
    assert "3 of 5 lead(s) could not be converted; the others were" in result.stderr
    assert "Traceback" not in result.stderr
    assert show(cli, good1)["status"] == show(cli, good2)["status"] == "converted"
    assert show(cli, boom)["status"] == "new" and show(cli, dropped)["status"] == "disqualified"
    # Nothing of the failed lead is left behind.
    assert rows(isolated_db, "SELECT name FROM company ORDER BY id") == [("Acme",), ("Umbrella",)]
    assert rows(isolated_db, "SELECT count(*) FROM contact WHERE lead_id = ?", boom) == [(0,)]
    assert len(show(cli, boom)["history"]) == 1


def test_invalid_conversions_fail_with_a_hint(cli):
    dropped = add(cli, "Bo")
    cli.ok("disqualify", dropped, "--reason", "spam")
    result = cli("convert", dropped)
    assert result.exit_code == 1
    assert "error: lead #1 is disqualified and cannot become converted" in result.stderr
    assert "hint: reopen it first" in result.stderr
    done = add(cli, "Ana")
    cli.ok("convert", done)
    again = cli("-f", "json", "convert", done)  # asking again for what is there: left as it is, exit 0
    assert again.exit_code == 0 and "1 already converted, left as they were" in again.stderr
    assert json.loads(again.stdout)[0]["outcome"] == "unchanged"
    assert len(json.loads(cli.ok("-f", "json", "deals", "list").stdout)) == 1
    assert cli("convert").exit_code == 2
    assert cli("convert", done, "--deal-value", "-5").exit_code == 2  # a bad option value is a usage error


def test_bulk_convert_on_filters_needs_yes_off_a_terminal(cli):
    a = add(cli, "Ana", "--source", "referral")
    cli.ok("qualify", a)
    refused = cli("convert", "--status", "qualified")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert show(cli, a)["status"] == "qualified"
    cli.ok("convert", "--status", "qualified", "--source", "referral", "--yes")
    assert show(cli, a)["status"] == "converted"
    nothing = cli.ok("convert", "--status", "qualified", "--yes")
    assert "converted 0 lead(s)" in nothing.stderr


def test_a_converted_lead_refuses_edits(cli):
    lead_id = add(cli, "Ana", "--email", "ana@acme.io")
    cli.ok("convert", lead_id)
    result = cli("edit", lead_id, "--phone", "+1 415 555 0100")
    assert result.exit_code == 1
    assert "is converted" in result.stderr and "deals to-lead" in result.stderr
    assert show(cli, lead_id)["phone"] is None


# ---------------------------------------------------------------- repeat leads


def test_a_new_lead_for_an_existing_contact_is_a_linked_repeat_lead(cli, isolated_db):
    first = add(cli, "Ana Silva", "--email", "ana@acme.io", "--phone", "+44 20 7946 0958", "--company", "Acme")
    cli.ok("convert", first)
    # Not refused as a duplicate of the converted lead: it is the customer coming back.
    by_email = add(cli, "Ana", "--email", "Ana@ACME.io")
    by_phone = add(cli, "A. Silva", "--phone", "+442079460958")
    stranger = add(cli, "Bo", "--email", "bo@acme.io")
    for lead_id in (by_email, by_phone):
        lead = show(cli, lead_id)
        assert lead["repeat_lead"] is True and lead["contact_id"] == 1 and lead["company_id"] == 1
        assert lead["status"] == "new"
    assert show(cli, stranger)["repeat_lead"] is False
    card = cli.ok("-f", "table", "show", by_email, env={"COLUMNS": "140"}).stdout
    assert "repeat lead" in card and "contact #1 Ana Silva came back (1 earlier lead(s))" in card
    (r,) = convert(cli, by_email)
    assert (r["contact"], r["contact_id"], r["company"], r["company_id"]) == ("reused", 1, "reused", 1)
    assert rows(isolated_db, "SELECT count(*) FROM contact") == [(1,)]
    # An open lead with the same e-mail is still a duplicate.
    open_dupe = cli("add", "Bo again", "--email", "bo@acme.io")
    assert open_dupe.exit_code == 1 and "already has the e-mail" in open_dupe.stderr


def test_repeat_leads_are_linked_set_based_for_imported_ranges(isolated_db):
    """The hook every creation path calls (add and import) links a whole id range at once."""
    from leadcli import deals, leads, store
    from leadcli.models import Lead

    with store.session(write=True) as s:
        first = leads.add_lead(s, leads.LeadInput(name="Ana", email="ana@acme.io", phone="+14155550100"))
        deals.convert(s, [first.id])
    with store.session(write=True) as s:
        raw = store.raw_connection(s)
        now = store.now_iso()
        raw.executemany("INSERT INTO lead (name, email, email_key, phone, phone_key, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [("A", "ana@acme.io", "ana@acme.io", None, None, now, now),
                         ("B", None, None, "+14155550100", "+14155550100", now, now),
                         ("C", "c@x.io", "c@x.io", None, None, now, now)])
        leads.on_leads_created(s, 2, 4)
    with store.session() as s:
        linked = {i: (s.get(Lead, i).repeat_lead, s.get(Lead, i).contact_id) for i in (2, 3, 4)}
    assert linked == {2: (True, 1), 3: (True, 1), 4: (False, None)}


# ---------------------------------------------------------------- bulk against an independent count


def test_bulk_reuse_matches_an_independent_grouping(cli, isolated_db):
    """Companies come out one per real company (however its name is written), contacts one per person."""
    rng = random.Random(7)
    bases = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
    spellings = ["{}", "{} Inc.", "{}, LLC", "{} ltd", "THE {} COMPANY", "{}  GmbH"]
    people = [f"person{i}" for i in range(12)]
    now = "2026-01-01T00:00:00Z"
    con = dbshim.connect(isolated_db)
    cli.ok("db", "migrate")
    data = []
    for _ in range(60):
        base, person = rng.choice(bases), rng.choice(people)
        name = rng.choice(spellings).format(base if rng.random() < .5 else base.upper())
        email = f"{person}@{base.lower()}.com"
        data.append((person, email, email, name, "qualified", now, now))
    con.executemany("INSERT INTO lead (name, email, email_key, company, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", data)
    con.commit()
    con.close()
    out = json.loads(cli.ok("-f", "json", "convert", "--status", "qualified", "--yes").stdout)
    assert all(r["outcome"] in ("converted", "reused") for r in out) and len(out) == 60
    real_companies = {next(b for b in bases if b.lower() in d[3].lower()) for d in data}
    assert rows(isolated_db, "SELECT count(*) FROM company") == [(len(real_companies),)]
    assert rows(isolated_db, "SELECT count(*) FROM contact") == [(len({d[1] for d in data}),)]
    assert rows(isolated_db, "SELECT count(*) FROM deal") == [(60,)]
    # Every contact works at the company its e-mail domain names.
    bad = rows(isolated_db, "SELECT c.email, co.name FROM contact c JOIN company co ON co.id = c.company_id")
    assert all(email.split("@")[1].split(".")[0] in name.lower() for email, name in bad)
