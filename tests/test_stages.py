"""contact / qualify / disqualify / reopen: every transition, bulk forms, and a state machine over random sequences."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import dbshim
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from leadcli.leads import TRANSITIONS


def add(cli, *args):
    return int(cli.ok("-q", "add", *args, "--allow-duplicate").stdout.strip())


def status(cli, lead_id):
    return json.loads(cli.ok("-f", "json", "show", lead_id).stdout)["status"]


def history(cli, lead_id):
    return json.loads(cli.ok("-f", "json", "show", lead_id).stdout)["history"]


def lead_in(cli, stage):
    """A fresh lead in `stage`, reached through the commands."""
    lead_id = add(cli, f"Lead {stage}")
    if stage == "contacted":
        cli.ok("contact", lead_id)
    elif stage == "qualified":
        cli.ok("qualify", lead_id)
    elif stage == "disqualified":
        cli.ok("disqualify", lead_id, "--reason", "spam")
    elif stage == "converted":
        cli.ok("convert", lead_id)
    assert status(cli, lead_id) == stage
    return lead_id


COMMANDS = {
    "contact": ("contacted", []),
    "qualify": ("qualified", []),
    "disqualify": ("disqualified", ["--reason", "no budget"]),
}


@pytest.mark.parametrize("start", ["new", "contacted", "qualified", "disqualified", "converted"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_stage_command_from_every_status(cli, start, command):
    target, extra = COMMANDS[command]
    lead_id = lead_in(cli, start)
    before = history(cli, lead_id)
    result = cli(command, lead_id, *extra)
    if start == target:
        assert result.exit_code == 0 and f"already {target}" in result.stderr
        assert history(cli, lead_id) == before
    elif target in TRANSITIONS[start]:
        assert result.exit_code == 0, result.stderr
        assert status(cli, lead_id) == target
        after = history(cli, lead_id)
        assert len(after) == len(before) + 1
        assert (after[-1]["from"], after[-1]["to"]) == (start, target)
    else:
        assert result.exit_code == 1
        assert "error:" in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
        assert ("reopen" in result.stderr) if start == "disqualified" else ("deals to-lead" in result.stderr)
        assert status(cli, lead_id) == start and history(cli, lead_id) == before


def test_disqualify_needs_a_reason_and_records_it(cli):
    lead_id = add(cli, "Ana")
    missing = cli("disqualify", lead_id)
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    blank = cli("disqualify", lead_id, "--reason", "  ")
    assert blank.exit_code == 2 and "needs a reason" in blank.stderr
    cli.ok("disqualify", lead_id, "--reason", "no authority")
    lead = json.loads(cli.ok("-f", "json", "show", lead_id).stdout)
    assert lead["status"] == "disqualified" and lead["status_reason"] == "no authority"
    assert lead["history"][-1] == {**lead["history"][-1], "to": "disqualified", "reason": "no authority"}


def test_disqualify_reasons_are_offered_in_help_and_completion(cli):
    from leadcli.commands.stages import DISQUALIFY_REASONS, _complete_reason

    out = " ".join(cli.ok("disqualify", "--help").stdout.split())
    for reason in ("no budget", "no need", "no authority", "bad timing", "competitor", "unresponsive", "spam",
                   "duplicate", "other"):
        assert reason in out and reason in DISQUALIFY_REASONS
    assert _complete_reason("no") == ["no budget", "no need", "no authority"]
    assert _complete_reason("") == list(DISQUALIFY_REASONS)


def test_reopen_returns_to_the_stage_it_left_or_to_a_chosen_one(cli):
    a = lead_in(cli, "contacted")
    cli.ok("disqualify", a, "--reason", "bad timing")
    cli.ok("reopen", a)
    assert status(cli, a) == "contacted"
    assert history(cli, a)[-1] == {**history(cli, a)[-1], "from": "disqualified", "to": "contacted",
                                   "reason": "reopened"}
    b = lead_in(cli, "disqualified")
    cli.ok("reopen", b, "--to", "qualified", "--reason", "budget approved")
    assert status(cli, b) == "qualified" and history(cli, b)[-1]["reason"] == "budget approved"
    open_one = cli("reopen", a)
    assert open_one.exit_code == 0 and "already open" in open_one.stderr


def test_reopen_refuses_a_converted_lead_and_names_its_deal(cli):
    lead_id = lead_in(cli, "converted")
    result = cli("reopen", lead_id)
    assert result.exit_code == 1
    assert "converted" in result.stderr and "leadcli deals to-lead 1" in result.stderr
    assert status(cli, lead_id) == "converted"


def test_unknown_ids_fail_but_the_others_move(cli):
    a, b = add(cli, "Ana"), add(cli, "Bo")
    result = cli("contact", a, 99, b)
    assert result.exit_code == 1 and "no lead with id 99" in result.stderr
    assert status(cli, a) == status(cli, b) == "contacted"
    assert "2 changed, 0 unchanged, 1 failed" in result.stderr


def test_bulk_disqualify_on_filters_needs_yes_off_a_terminal(cli):
    cold = [add(cli, f"Cold {i}", "--source", "cold call") for i in range(3)]
    web = add(cli, "Web", "--source", "web")
    contacted_cold = add(cli, "Cold contacted", "--source", "cold call")
    cli.ok("contact", contacted_cold)
    refused = cli("disqualify", "--source", "cold call", "--status", "new", "--reason", "spam")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert all(status(cli, i) == "new" for i in cold)
    cli.ok("disqualify", "--source", "Cold Call", "--status", "new", "--reason", "spam", "--yes")
    assert [status(cli, i) for i in cold] == ["disqualified"] * 3
    assert status(cli, web) == "new" and status(cli, contacted_cold) == "contacted"
    assert cli.ok("-f", "json", "list", "--status", "disqualified").stdout.count('"spam"') == 3


def test_bulk_confirmation_on_a_terminal(cli, monkeypatch):
    import typer.testing

    ids = [add(cli, f"W{i}", "--source", "web") for i in range(2)]
    # The runner's stdin stands in for a terminal.
    monkeypatch.setattr(typer.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    asked = []
    monkeypatch.setattr("typer.confirm", lambda text, **kw: asked.append(text) or False)
    declined = cli("qualify", "--source", "web")
    assert declined.exit_code == 1 and asked == ["Qualify 2 lead(s)?"]
    assert [status(cli, i) for i in ids] == ["new", "new"]
    monkeypatch.setattr("typer.confirm", lambda text, **kw: True)
    cli.ok("qualify", "--source", "web")
    assert [status(cli, i) for i in ids] == ["qualified", "qualified"]


def test_a_command_without_ids_or_filters_is_a_usage_error(cli):
    add(cli, "Ana")
    result = cli("qualify")
    assert result.exit_code == 2 and "needs lead ids or filters" in result.stderr
    assert "nothing" not in cli("contact", "--source", "nowhere", "--yes").stdout


def test_json_result_rows(cli):
    a = add(cli, "Ana")
    rows = json.loads(cli.ok("-f", "json", "qualify", a, "--reason", "met at fair").stdout)
    assert rows == [{"lead_id": a, "lead": "Ana", "from": "new", "to": "qualified", "outcome": "changed",
                     "reason": "met at fair"}]


# ---------------------------------------------------------------- random sequences of commands


class LeadLifecycle(RuleBasedStateMachine):
    """Random commands on a few leads never leave a lead in two terminal states or lose history.

    Each step is one command (one transaction) through the library, as the CLI runs it. After every
    step: each status change is exactly one history row; the rows chain (each `from` is the previous
    `to`); replaying them gives the lead's status; the conversion links agree with the status.
    """

    def __init__(self) -> None:
        super().__init__()
        from leadcli import store

        self.tmp = tempfile.TemporaryDirectory()
        self.path = Path(self.tmp.name) / "machine.db"
        self.store = store
        self.expected_changes: dict[int, int] = {}

    def teardown(self) -> None:
        self.store.dispose_all()
        self.tmp.cleanup()

    def session(self, write=True):
        return self.store.session(write=write, path=self.path)

    def lead_ids(self):
        return sorted(self.expected_changes)

    def _ok(self, lead_id, fn):
        """Run one command; count a status change when it happened, never when it failed."""
        from leadcli.errors import LeadcliError
        from leadcli.models import Lead

        try:
            with self.session() as s:
                before = s.get(Lead, lead_id).status
                fn(s)
                after = s.get(Lead, lead_id).status
        except LeadcliError:
            return
        if after != before:
            self.expected_changes[lead_id] += 1

    @rule(name=st.sampled_from(["Ana", "Bo", "Cy"]), email=st.sampled_from([None, "a@acme.io", "b@gmail.com"]),
          company=st.sampled_from([None, "Acme", "ACME Inc."]))
    def add(self, name, email, company):
        from leadcli import leads

        if len(self.expected_changes) >= 6:
            return
        with self.session() as s:
            lead = leads.add_lead(s, leads.LeadInput(name=name, email=email, company=company), allow_duplicate=True)
            self.expected_changes[lead.id] = 1  # the "created" row

    @precondition(lambda self: self.expected_changes)
    @rule(data=st.data(), to=st.sampled_from(["new", "contacted", "qualified", "disqualified"]))
    def move(self, data, to):
        from leadcli import stage_moves as stages

        lead_id = data.draw(st.sampled_from(self.lead_ids()))
        reason = "spam" if to == "disqualified" else None
        self._ok(lead_id, lambda s: stages.move(s, to, [lead_id], reason=reason))

    @precondition(lambda self: self.expected_changes)
    @rule(data=st.data(), to=st.sampled_from([None, "new", "qualified"]))
    def reopen(self, data, to):
        from leadcli import stage_moves as stages

        lead_id = data.draw(st.sampled_from(self.lead_ids()))
        self._ok(lead_id, lambda s: stages.reopen(s, [lead_id], to=to))

    @precondition(lambda self: self.expected_changes)
    @rule(data=st.data(), deal=st.booleans(), contact=st.booleans())
    def convert(self, data, deal, contact):
        from leadcli import deals

        lead_id = data.draw(st.sampled_from(self.lead_ids()))
        options = deals.ConvertOptions(deal=deal, contact=contact)
        self._ok(lead_id, lambda s: deals.convert(s, [lead_id], options=options))

    @precondition(lambda self: self.expected_changes)
    @rule(data=st.data(), action=st.sampled_from(["won", "lost", "reopen", "to-lead"]))
    def deal_action(self, data, action):
        from leadcli import deal_records
        from leadcli.models import Lead

        lead_id = data.draw(st.sampled_from(self.lead_ids()))
        with self.session(write=False) as s:
            deals = deal_records.list_deals(s, lead_id=lead_id)
        if not deals:
            return
        deal_id = data.draw(st.sampled_from([d["id"] for d in deals]))

        def act(s):
            deal = deal_records.get_deal(s, deal_id)
            if action == "won":
                deal_records.win_deal(s, deal)
            elif action == "lost":
                deal_records.lose_deal(s, deal, "price")
            elif action == "reopen":
                deal_records.reopen_deal(s, deal)
            else:
                deal_records.deal_to_lead(s, deal)
            assert s.get(Lead, lead_id) is not None

        self._ok(lead_id, act)

    @precondition(lambda self: self.expected_changes)
    @rule(data=st.data(), to=st.sampled_from(["new", "contacted", "qualified", "converted", "disqualified"]))
    def edit_status(self, data, to):
        from leadcli import leads

        lead_id = data.draw(st.sampled_from(self.lead_ids()))
        self._ok(lead_id, lambda s: leads.edit_lead(s, leads.get_lead(s, lead_id), leads.LeadInput(), status=to,
                                                    reason="because"))

    @invariant()
    def history_replays_to_the_status(self):
        if not self.expected_changes:
            return
        con = dbshim.connect(self.path)
        try:
            for lead_id, n in self.expected_changes.items():
                status, reason, converted_at, deal_id, contact_id = con.execute(
                    "SELECT status, status_reason, converted_at, deal_id, contact_id FROM lead WHERE id = ?",
                    (lead_id,)).fetchone()
                rows = con.execute("SELECT from_status, to_status FROM status_change WHERE lead_id = ? ORDER BY id",
                                   (lead_id,)).fetchall()
                assert len(rows) == n
                replayed = None
                for from_status, to_status in rows:
                    assert from_status == replayed
                    replayed = to_status
                assert replayed == status
                assert status in ("new", "contacted", "qualified", "converted", "disqualified")
                assert (converted_at is not None) == (status == "converted")
                assert (reason is not None) == (status == "disqualified")
                if deal_id is not None:
                    assert status == "converted"
                    assert con.execute("SELECT status, lead_id FROM deal WHERE id = ?", (deal_id,)).fetchone()[1] \
                        == lead_id
                live = con.execute("SELECT count(*) FROM deal WHERE lead_id = ? AND status != 'reverted'",
                                   (lead_id,)).fetchone()[0]
                assert live <= 1
                if status != "converted":
                    assert live == 0
        finally:
            con.close()


LeadLifecycle.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestLeadLifecycle = LeadLifecycle.TestCase


def test_edit_status_moves_through_the_same_rules_but_converting_needs_convert(cli):
    lead_id = add(cli, "Ana")
    cli.ok("edit", lead_id, "--status", "contacted")
    cli.ok("edit", lead_id, "--status", "qualified")
    refused = cli("edit", lead_id, "--status", "converted")
    assert refused.exit_code == 1 and f"leadcli convert {lead_id}" in refused.stderr
    assert status(cli, lead_id) == "qualified"
    assert [h["to"] for h in history(cli, lead_id)] == ["new", "contacted", "qualified"]


def test_reopen_of_a_lead_converted_without_a_deal_says_it_stays_converted(cli):
    lead_id = add(cli, "Ana")
    cli.ok("convert", lead_id, "--no-deal")
    result = cli("reopen", lead_id)
    assert result.exit_code == 1 and "converted without a deal" in result.stderr


def test_shell_completion_offers_the_reasons(cli):
    from typer.testing import CliRunner

    from leadcli.cli import app

    result = CliRunner().invoke(app, [], prog_name="leadcli", env={
        "_LEADCLI_COMPLETE": "complete_bash", "COMP_WORDS": "leadcli disqualify 1 --reason no", "COMP_CWORD": "4"})
    assert result.stdout.split("\n")[:3] == ["no budget", "no need", "no authority"]
