"""`duplicates` finds the planted groups and no false ones; `merge` moves history; `merge undo` restores exactly."""

from __future__ import annotations

import json
import time

import dbshim

from leadcli import duplicate_scan, store

# name, email, phone, company, (the group it belongs to, or None for someone unique)
BOOK = [
    ("José Pérez", "jose@acme.io", None, "Acme", "A"),
    ("jose  perez", "JOSE@acme.io", "+1 415 555 0101", None, "A"),          # case, accents, spacing
    ("Ana Silva", None, "+1 (415) 555-0199", None, "B"),
    ("Ana S.", None, "4155550199", None, "B"),                                # phone formats
    ("Maria Lopez", "maria.lopez@globex.com", None, "Globex", "C"),
    ("MARÍA LÓPEZ", None, None, "Globex Inc.", "C"),                          # name at the company
    ("Kim Lee", "kim@initech.com", None, None, "D"),
    ("Kim Lee", "klee@initech.com", None, "Initech", None),                   # two e-mails: not joined
    ("Tom Ford", "none@example.com", None, None, None),                       # placeholder e-mails
    ("Eva Green", "none@example.com", None, None, None),
    ("Sam Hill", "sam.hill@gmail.com", None, None, None),                     # free mail, strangers
    ("Sam Hill", "samhill77@gmail.com", None, None, None),
]


def _add(cli, name, email, phone, company):
    args = ["add", name, "--allow-duplicate"]
    for flag, value in (("--email", email), ("--phone", phone), ("--company", company)):
        if value:
            args += [flag, value]
    return int(cli.ok(*args).stdout.strip())


def _book(cli):
    ids: dict[str, list[int]] = {}
    for name, email, phone, company, group in BOOK:
        lead_id = _add(cli, name, email, phone, company)
        if group:
            ids.setdefault(group, []).append(lead_id)
    # A switchboard: 25 colleagues behind one number are not one person.
    for n in range(25):
        _add(cli, f"Colleague {n}", None, "+44 20 7946 0000", "Bigco")
    return ids


def test_duplicates_finds_the_planted_groups_and_no_false_ones(cli, isolated_db):
    ids = _book(cli)
    kim = ids.pop("D")
    groups = json.loads(cli.ok("--format", "json", "duplicates").stdout)
    assert sorted(g["lead_ids"] for g in groups) == sorted(ids.values())
    assert all(g["why"] for g in groups) and {g["group"] for g in groups} == {1, 2, 3}
    assert kim[0] not in {i for g in groups for i in g["lead_ids"]}
    why = {tuple(g["lead_ids"]): g["why"] for g in groups}
    assert "same phone" in why[tuple(ids["B"])] and "same e-mail" in why[tuple(ids["A"])]
    assert "same name at the same company" in why[tuple(ids["C"])]


def test_ignore_stops_proposing_a_pair(cli, isolated_db):
    a = _add(cli, "Li Wei", "li@wei.io", None, None)
    b = _add(cli, "Li Wei", "LI@wei.io", None, None)
    assert len(json.loads(cli.ok("duplicates", "--format", "json").stdout)) == 1
    cli.ok("duplicates", "ignore", str(b), str(a))
    assert json.loads(cli.ok("duplicates", "--format", "json").stdout) == []
    assert cli("duplicates", "ignore", str(a), "999").exit_code == 1
    assert cli("duplicates", "ignore", str(a), str(a)).exit_code == 2


def _dump(path) -> list[str]:
    return dbshim.dump(path)


def test_merge_moves_everything_and_undo_restores_the_dump(cli, isolated_db):
    keep = _add(cli, "Ana Silva", "ana@acme.io", None, None)
    dup = _add(cli, "Ana Silva", None, "+14155550100", "Acme")
    cli.ok("edit", str(dup), "--tag", "vip", "--field", "Industry=Retail")
    cli.ok("contact", str(dup))
    cli.ok("log", str(dup), "call", "left a message")
    cli.ok("edit", str(keep), "--field", "Industry=Tech")
    before = _dump(isolated_db)
    time.sleep(0.01)
    merge_id = int(cli.ok("merge", str(keep), str(dup)).stdout.strip())
    shown = json.loads(cli.ok("show", str(keep), "--format", "json").stdout)
    assert shown["phone"] == "+14155550100" and shown["company"] == "Acme"
    assert shown["fields"]["Industry"] == "Tech"  # filled only where empty
    assert "vip" in shown["tags"]
    con = dbshim.connect(isolated_db)
    assert con.execute("SELECT merged_into FROM lead WHERE id = ?", (dup,)).fetchone()[0] == keep
    assert con.execute("SELECT count(*) FROM activity WHERE lead_id = ?", (keep,)).fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM status_change WHERE lead_id = ?", (dup,)).fetchone()[0] == 0
    con.close()
    listed = json.loads(cli.ok("list", "--format", "json").stdout)
    assert [r["id"] for r in listed] == [keep]
    report = json.loads(cli.ok("report", "conversion", "--format", "json").stdout)
    assert sum(r["total"] for r in report) == 1
    assert _dump(isolated_db) != before
    cli.ok("merge", "undo", str(merge_id))
    assert _dump(isolated_db) == before
    assert cli("merge", "undo", str(merge_id)).exit_code == 1


def test_merge_prefer_dry_run_and_converted_rule(cli, isolated_db):
    keep = _add(cli, "Bo Chen", "bo@globex.com", None, "Globex")
    dup = _add(cli, "Bo Chen", "bo.chen@globex.com", None, "Globex Ltd")
    before = _dump(isolated_db)
    cli.ok("merge", str(keep), str(dup), "--dry-run")
    assert _dump(isolated_db) == before
    cli.ok("merge", str(keep), str(dup), "--prefer", str(dup))
    with store.session() as s:
        from leadcli import leads

        assert leads.get_lead(s, keep).company == "Globex Ltd"
        assert leads.get_lead(s, keep).email == "bo.chen@globex.com"
    third = _add(cli, "Bo Chen", None, "+14155550111", None)
    cli.ok("qualify", str(third))
    cli.ok("convert", str(third))
    refused = cli("merge", str(keep), str(third))
    assert refused.exit_code == 1 and "converted" in refused.stderr
    assert cli("merge", str(dup), str(keep)).exit_code == 1  # already merged
    cli.ok("merge", str(keep), str(third), "--force")


def test_scan_is_linear_on_a_large_book(isolated_db):
    from sqlalchemy import insert

    from leadcli.models import Lead, table_of

    with store.session(write=True) as s:
        rows = [{"name": f"Person {i}", "email": f"p{i}@co{i % 997}.com", "email_key": f"p{i}@co{i % 997}.com",
                 "phone_key": f"+1415{i:07d}", "company": f"Co {i % 997}", "status": "new", "fields": {},
                 "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"} for i in range(100_000)]
        rows += [{**rows[5], "name": "person 5"}]
        s.connection().execute(insert(table_of(Lead)), rows)
    started = time.monotonic()
    with store.session() as s:
        groups = duplicate_scan.scan(s)
    assert time.monotonic() - started < 60  # about 3-5 s on a busy 2-core machine
    assert [g["lead_ids"] for g in groups] == [[6, 100_001]]


def test_several_merges_with_deals_and_tags_undo_to_the_same_dump(cli, isolated_db):
    won = _add(cli, "Eva Green", "eva@initech.com", None, "Initech")
    cli.ok("edit", str(won), "--tag", "vip")
    cli.ok("qualify", str(won))
    cli.ok("convert", str(won))
    open_dup = _add(cli, "eva green", None, "+14155550177", "Initech Inc")
    cli.ok("edit", str(open_dup), "--tag", "VIP", "--field", "Budget=10k")
    other = _add(cli, "Rui Costa", "rui@luso.pt", None, None)
    other_dup = _add(cli, "Rui Costa", "RUI@luso.pt", None, "Luso")
    cli.ok("next", str(other_dup), "call", "--due", "2030-01-01")
    before = _dump(isolated_db)
    groups = json.loads(cli.ok("duplicates", "--format", "json").stdout)
    assert sorted(g["lead_ids"] for g in groups) == [[won, open_dup], [other, other_dup]]
    first = int(cli.ok("merge", str(won), str(open_dup)).stdout)
    second = int(cli.ok("merge", str(other), str(other_dup)).stdout)
    assert json.loads(cli.ok("duplicates", "--format", "json").stdout) == []
    tags = json.loads(cli.ok("show", str(won), "--format", "json").stdout)["tags"]
    assert [t.lower() for t in tags] == ["vip"]
    assert json.loads(cli.ok("show", str(open_dup), "--format", "json").stdout)["merged_into"] == won
    cli.ok("merge", "undo", str(first))
    cli.ok("merge", "undo", str(second))
    assert _dump(isolated_db) == before
