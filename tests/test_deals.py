"""deals list/show/won/lost/reopen/to-lead, contacts list and companies list."""

from __future__ import annotations

import json

import dbshim


def add(cli, *args):
    return int(cli.ok("-q", "add", *args).stdout.strip())


def show(cli, lead_id):
    return json.loads(cli.ok("-f", "json", "show", lead_id).stdout)


def deal(cli, deal_id):
    return json.loads(cli.ok("-f", "json", "deals", "show", deal_id).stdout)


def converted_lead(cli, *args):
    lead_id = add(cli, *args)
    cli.ok("contact", lead_id)
    cli.ok("qualify", lead_id)
    cli.ok("convert", lead_id)
    return lead_id, show(cli, lead_id)["deal_id"]


def test_deals_list_and_show(cli):
    converted_lead(cli, "Ana Silva", "--email", "ana@acme.io", "--company", "Acme", "--owner", "maria",
                   "--value", "5000", "--currency", "EUR")
    converted_lead(cli, "Bo", "--company", "Globex", "--owner", "joao")
    listed = json.loads(cli.ok("-f", "json", "deals", "list").stdout)
    assert [d["id"] for d in listed] == [2, 1]
    first = listed[1]
    for key in ("id", "title", "status", "value", "currency", "owner", "lead_id", "contact_id", "contact",
                "company_id", "company", "lost_reason", "created_at", "updated_at", "closed_at"):
        assert key in first
    assert (first["title"], first["status"], first["value"], first["currency"], first["contact"], first["company"]) \
        == ("Acme - Ana Silva", "open", 5000, "EUR", "Ana Silva", "Acme")
    assert [d["id"] for d in json.loads(cli.ok("-f", "json", "deals", "list", "--owner", "joao").stdout)] == [2]
    assert deal(cli, 1) == first
    card = cli.ok("-f", "table", "deals", "show", 1, env={"COLUMNS": "120"}).stdout
    assert "Deal #1: Acme - Ana Silva" in card and "5,000.00 EUR" in card
    missing = cli("deals", "show", 9)
    assert missing.exit_code == 1 and "no deal with id 9" in missing.stderr and "deals list" in missing.stderr
    csv_out = cli.ok("deals", "list").stdout
    assert csv_out.startswith("id,title,status,value,currency,")


def test_won_lost_and_reopen(cli):
    lead_id, deal_id = converted_lead(cli, "Ana", "--company", "Acme")
    cli.ok("deals", "won", deal_id)
    won = deal(cli, deal_id)
    assert won["status"] == "won" and won["closed_at"]
    again = cli("deals", "lost", deal_id, "--reason", "price")
    assert again.exit_code == 1 and "deals reopen" in again.stderr
    cli.ok("deals", "reopen", deal_id)
    assert deal(cli, deal_id)["status"] == "open" and deal(cli, deal_id)["closed_at"] is None
    assert cli("deals", "lost", deal_id).exit_code == 2
    assert cli("deals", "lost", deal_id, "--reason", " ").exit_code == 2
    cli.ok("deals", "lost", deal_id, "--reason", "competitor")
    lost = deal(cli, deal_id)
    assert lost["status"] == "lost" and lost["lost_reason"] == "competitor"
    assert json.loads(cli.ok("-f", "json", "deals", "list", "--status", "lost").stdout)[0]["id"] == deal_id
    assert cli("deals", "reopen", deal_id).exit_code == 0
    assert cli("deals", "reopen", deal_id).exit_code == 1
    # The lead shows its deal's state.
    assert show(cli, lead_id)["deals"][0]["status"] == "open"


def test_to_lead_reopens_the_lead_where_it_was_and_keeps_the_deal_as_reverted(cli, isolated_db):
    lead_id, deal_id = converted_lead(cli, "Ana", "--email", "ana@acme.io", "--company", "Acme", "--value", "100")
    result = cli.ok("deals", "to-lead", deal_id, "--reason", "not ready to buy")
    assert f"deal #{deal_id} is now lead #{lead_id} Ana again (qualified)" in result.stderr
    lead = show(cli, lead_id)
    assert lead["status"] == "qualified" and lead["converted_at"] is None and lead["deal_id"] is None
    assert (lead["history"][-1]["from"], lead["history"][-1]["to"]) == ("converted", "qualified")
    assert lead["history"][-1]["reason"] == f"deal #{deal_id} turned back into a lead: not ready to buy"
    assert [h["to"] for h in lead["history"]] == ["new", "contacted", "qualified", "converted", "qualified"]
    assert deal(cli, deal_id)["status"] == "reverted"
    # The lead can be edited again, and converting it again reuses its contact and company.
    cli.ok("edit", lead_id, "--title", "CTO")
    (again,) = json.loads(cli.ok("-f", "json", "convert", lead_id).stdout)
    assert (again["contact"], again["contact_id"], again["company"], again["company_id"]) == \
        ("reused", 1, "reused", 1)
    assert again["deal_id"] == 2
    con = dbshim.connect(isolated_db)
    assert con.execute("SELECT count(*) FROM contact").fetchone()[0] == 1
    assert con.execute("SELECT title FROM contact").fetchone()[0] == "CTO"  # filled: it was empty
    con.close()
    # The old deal cannot come back: the lead has a new one.
    stale = cli("deals", "to-lead", deal_id)
    assert stale.exit_code == 1 and "already turned back" in stale.stderr


def test_to_lead_refuses_a_won_deal_and_works_for_a_lost_one(cli):
    lead_id, deal_id = converted_lead(cli, "Ana", "--company", "Acme")
    cli.ok("deals", "won", deal_id)
    won = cli("deals", "to-lead", deal_id)
    assert won.exit_code == 1 and "won" in won.stderr and "deals reopen" in won.stderr
    assert show(cli, lead_id)["status"] == "converted"
    cli.ok("deals", "reopen", deal_id)
    cli.ok("deals", "lost", deal_id, "--reason", "bad timing")
    cli.ok("deals", "to-lead", deal_id)
    assert show(cli, lead_id)["status"] == "qualified"
    assert cli("deals", "to-lead", 42).exit_code == 1


def test_to_lead_goes_back_to_the_stage_before_converting(cli):
    lead_id = add(cli, "Bo", "--company", "Globex")
    cli.ok("convert", lead_id)
    cli.ok("deals", "to-lead", 1)
    assert show(cli, lead_id)["status"] == "new"


def test_contacts_and_companies_lists(cli):
    converted_lead(cli, "Ana Silva", "--email", "ana@acme.io", "--company", "Acme", "--owner", "maria")
    converted_lead(cli, "Bo Chen", "--email", "bo@acme.io", "--company", "ACME Inc")
    converted_lead(cli, "Cy", "--email", "cy@globex.com", "--company", "Globex")
    cli.ok("deals", "won", 1)
    contacts = json.loads(cli.ok("-f", "json", "contacts", "list").stdout)
    assert [c["name"] for c in contacts] == ["Cy", "Bo Chen", "Ana Silva"]
    assert contacts[2] == {**contacts[2], "email": "ana@acme.io", "company": "Acme", "leads": 1, "deals": 1}
    assert [c["name"] for c in json.loads(cli.ok("-f", "json", "contacts", "list", "--search", "acme").stdout)] \
        == ["Bo Chen", "Ana Silva"]
    assert len(json.loads(cli.ok("-f", "json", "contacts", "list", "--company", "2").stdout)) == 1
    companies = json.loads(cli.ok("-f", "json", "companies", "list").stdout)
    assert [(c["name"], c["domain"], c["contacts"], c["open_deals"], c["won_deals"]) for c in companies] == [
        ("Globex", "globex.com", 1, 1, 0), ("Acme", "acme.io", 2, 1, 1)]
    table = cli.ok("-f", "table", "companies", "list", env={"COLUMNS": "120"}).stdout
    assert "Acme" in table and "acme.io" in table
    empty = cli.ok("-f", "table", "companies", "list", "--search", "nothing")
    assert empty.stdout == "" and "no companies" in empty.stderr
    assert cli.ok("contacts", "list", "--search", "nobody").stdout.startswith("id,name,email,")
