"""Routing: rules, strategies, away owners, rotation kept across commands, ownership history."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcli import leads, routing, store
from leadcli.errors import InvalidValue
from leadcli.routing import RoutingContext, Rule, assign_owners, parse_strategy


def test_parse_strategy():
    assert parse_strategy("ana") == routing.Strategy("owner", ("ana",))
    rr = parse_strategy("Round-Robin: Ana, ben ,ANA,chen")
    assert rr.kind == "round-robin" and rr.owners == ("Ana", "ben", "chen")
    assert rr.key == "round-robin:ana,ben,chen" and str(rr) == "round-robin:Ana,ben,chen"
    assert parse_strategy("least-open:a,b").kind == "least-open"
    for bad in ("", "weird:a", "round-robin:", "a,b"):
        with pytest.raises(InvalidValue):
            parse_strategy(bad)


def test_round_robin_rotates_and_skips_away_owners():
    ctx = RoutingContext(away={"ben"})
    records = [{} for _ in range(5)]
    got = assign_owners(records, ctx, parse_strategy("round-robin:ana,Ben,chen"))
    assert [a.owner for a in got] == ["ana", "chen", "ana", "chen", "ana"]
    assert all(a.reason == "--assign round-robin:ana,Ben,chen" for a in got)
    # The next batch continues after the last owner given.
    more = assign_owners([{}], ctx, parse_strategy("round-robin:ana,ben,chen"))
    assert [a.owner for a in more] == ["chen"]


def test_least_open_counts_the_batch_too():
    ctx = RoutingContext(open_counts={"ana": 3, "ben": 1})
    got = assign_owners([{} for _ in range(4)], ctx, parse_strategy("least-open:ana,ben,chen"))
    assert [a.owner for a in got] == ["chen", "ben", "chen", "ben"]


def test_explicit_owner_is_kept_then_rules_then_the_fallback():
    rules = [Rule(1, {"source": "Referral"}, parse_strategy("ana")),
             Rule(2, {"tag": "vip", "fields": {"Country": "pt"}}, parse_strategy("round-robin:rui,ines")),
             Rule(3, {"domain": "acme.io"}, parse_strategy("dora"))]
    records = [
        {"source": "referral", "owner": "zoe"},
        {"source": "REFERRAL"},
        {"tags": ["VIP"], "fields": {"country": "PT"}},
        {"tags": ["vip"], "fields": {"Country": "ES"}},
        {"email": "x@ACME.io"},
        {"email": "acme.io"},
        {"status": "qualified"},
    ]
    ctx = RoutingContext(rules=rules)
    got = {a.index: (a.owner, a.reason) for a in assign_owners(records, ctx, parse_strategy("least-open:max"))}
    assert 0 not in got
    assert got[1] == ("ana", "rule #1: ana")
    assert got[2] == ("rui", "rule #2: round-robin:rui,ines")
    assert got[3][0] == got[5][0] == got[6][0] == "max"
    assert got[4] == ("dora", "rule #3: dora")


def test_a_rule_to_an_away_owner_falls_through():
    rules = [Rule(1, {"source": "web"}, parse_strategy("ana")), Rule(2, {"source": "web"}, parse_strategy("ben"))]
    assert [a.owner for a in assign_owners([{"source": "web"}], RoutingContext(rules=rules, away={"ana"}))] == ["ben"]
    everyone_away = RoutingContext(rules=rules, away={"ana", "ben"})
    assert assign_owners([{"source": "web"}], everyone_away, parse_strategy("round-robin:ana,ben")) == []


@given(st.lists(st.sampled_from(["ana", "ben", "chen", "dee"]), min_size=1, max_size=4, unique=True),
       st.sets(st.sampled_from(["ana", "ben", "chen", "dee"])), st.integers(1, 40), st.integers(1, 5))
def test_round_robin_is_fair_across_batches(owners, away, total, batches):
    ctx = RoutingContext(away=set(away))
    strategy = parse_strategy("round-robin:" + ",".join(owners))
    counts: Counter[str] = Counter()
    for b in range(batches):
        size = total // batches + (1 if b < total % batches else 0)
        counts.update(a.owner for a in assign_owners([{} for _ in range(size)], ctx, strategy))
    present = [o for o in owners if o not in away]
    if not present:
        assert not counts
        return
    assert sum(counts.values()) == total and set(counts) <= set(present)
    assert max(counts[o] for o in present) - min(counts[o] for o in present) <= 1


def test_rotation_and_history_are_kept_in_the_database(isolated_db):
    def batch(n):
        with store.session(write=True) as s:
            records = [{"name": f"Lead {i}"} for i in range(n)]
            assignments = routing.route_batch(s, records, "round-robin:ana,ben,chen")
            ids = [leads.add_lead(s, leads.LeadInput(name=r["name"], owner=r.get("owner"))).id for r in records]
            routing.record_assignments(s, [(ids[a.index], a) for a in assignments])
            return [r["owner"] for r in records], ids

    first, _ = batch(2)
    second, ids = batch(2)
    assert first + second == ["ana", "ben", "chen", "ana"]
    with store.session() as s:
        history = routing.owner_history(s, ids[-1])
    assert history == [{"at": history[0]["at"], "from": None, "to": "ana",
                        "reason": "--assign round-robin:ana,ben,chen"}]


def test_least_open_reads_open_leads_from_the_database(isolated_db):
    with store.session(write=True) as s:
        for i in range(3):
            leads.add_lead(s, leads.LeadInput(name=f"A{i}", owner="Ana"))
        leads.add_lead(s, leads.LeadInput(name="B", owner="ben"))
        won = leads.add_lead(s, leads.LeadInput(name="B2", owner="ben"))
        leads.set_status(s, won, "disqualified", "no budget")
        records = [{}, {}, {}]
        routing.route_batch(s, records, "least-open:ana,ben")
    assert [r["owner"] for r in records] == ["ben", "ben", "ana"]


def test_route_commands(cli):
    rule_id = cli.ok("route", "add", "--source", "Referral", "--field", "Country=PT", "--to", "ana").stdout.strip()
    cli.ok("route", "add", "--domain", "@Acme.io", "--to", "least-open:ben,chen")
    rules = json.loads(cli.ok("-f", "json", "route", "list").stdout)
    assert rules[0]["id"] == int(rule_id) and rules[0]["source"] == "Referral"
    assert rules[0]["fields"] == {"Country": "PT"} and rules[0]["to"] == "ana"
    assert rules[1]["domain"] == "acme.io" and rules[1]["to"] == "least-open:ben,chen"

    assert cli("route", "add", "--to", "ana").exit_code == 2  # no condition
    assert cli("route", "add", "--source", "x", "--to", "rr:a").exit_code == 2
    assert cli("route", "add", "--status", "won", "--to", "ana").exit_code == 2
    assert cli("route", "delete", "99").exit_code == 1

    cli.ok("route", "away", "Ana", "--note", "holiday")
    assert "already" in cli.ok("route", "away", "ana").stderr
    (away,) = json.loads(cli.ok("-f", "json", "route", "away").stdout)
    assert away["owner"] == "Ana" and away["note"] == "holiday"
    with store.session() as s:
        ctx = routing.load_context(s)
    assert ctx.away == {"ana"} and [r.id for r in ctx.rules] == [int(rule_id), int(rule_id) + 1]
    cli.ok("route", "back", "ANA")
    assert json.loads(cli.ok("-f", "json", "route", "away").stdout) == []
    cli.ok("route", "delete", rule_id)
    assert len(json.loads(cli.ok("-f", "json", "route", "list").stdout)) == 1


def test_a_dry_run_previews_without_moving_the_rotation(isolated_db):
    with store.session(write=True) as s:
        preview = [{}, {}]
        routing.route_batch(s, preview, "round-robin:ana,ben,chen", dry_run=True)
        real = [{}, {}]
        routing.route_batch(s, real, "round-robin:ana,ben,chen")
    assert [r["owner"] for r in preview] == [r["owner"] for r in real] == ["ana", "ben"]


def test_add_and_import_route_new_leads_into_their_history(cli, isolated_db, tmp_path):
    import json as _json

    first = cli.ok("add", "Ana One", "--assign", "round-robin:ana,ben").stdout.strip()
    second = cli.ok("add", "Bo Two", "--assign", "round-robin:ana,ben").stdout.strip()
    kept = cli.ok("add", "Cy Three", "--owner", "zoe", "--assign", "round-robin:ana,ben").stdout.strip()
    owners = {r["id"]: r["owner"] for r in _json.loads(cli.ok("list", "--format", "json").stdout)}
    assert [owners[int(i)] for i in (first, second, kept)] == ["ana", "ben", "zoe"]
    shown = _json.loads(cli.ok("show", first, "--format", "json").stdout)
    assert [(h["to"], h["reason"]) for h in shown["owner_history"]] == [("ana", "--assign round-robin:ana,ben")]
    cli.ok("route", "add", "--source", "referral", "--to", "chen")
    ref = cli.ok("add", "Di Four", "--source", "referral").stdout.strip()
    assert _json.loads(cli.ok("show", ref, "--format", "json").stdout)["owner"] == "chen"
    csv = tmp_path / "in.csv"
    csv.write_text("name,source\nEd Five,web\nFa Six,referral\nGu Seven,web\n")
    cli.ok("import", str(csv), "--assign", "least-open:ana,ben")
    owners = {r["name"]: r["owner"] for r in _json.loads(cli.ok("list", "--format", "json").stdout)}
    assert owners["Fa Six"] == "chen" and {owners["Ed Five"], owners["Gu Seven"]} <= {"ana", "ben"}
    assert cli("import", str(csv), "--assign", "sometimes:ana").exit_code == 2
