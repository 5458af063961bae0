"""`leadcli intake`: payloads of each tool become leads once, UTM kept, failures logged, routing and hooks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intake"


def _leads(cli):
    return json.loads(cli.ok("list", "--format", "json").stdout)


def test_each_tool_shape_is_taken_and_the_same_payload_twice_makes_one_lead(cli, isolated_db):
    for name in ("generic.jsonl", "typeform.json", "tally.json", "facebook_lead.json"):
        cli("intake", input=(FIXTURES / name).read_text())
    first = _leads(cli)
    assert len(first) == 6
    ids = {lead["external_id"] for lead in first}
    assert any(str(i).startswith("typeform:") for i in ids) and any(str(i).startswith("tally:") for i in ids)
    again = cli("intake", "--json", input=(FIXTURES / "typeform.json").read_text())
    assert again.exit_code == 0 and json.loads(again.stdout)["created"] == 0
    # The same submission inside another batch is matched by its submission id.
    one = (FIXTURES / "generic.jsonl").read_text().splitlines()[0]
    assert json.loads(cli.ok("intake", "--json", input=one + "\n").stdout)["created"] == 0
    assert len(_leads(cli)) == 6


def test_utm_is_kept_and_failures_are_logged(cli, isolated_db, tmp_path):
    log = tmp_path / "failed.jsonl"
    result = cli.ok("intake", "--json", "--rejects", str(log), input=(FIXTURES / "generic.jsonl").read_text())
    summary = json.loads(result.stdout)
    assert {"run_id", "rows", "created", "updated", "skipped", "rejected", "encoding", "delimiter"} <= set(summary)
    assert summary["created"] == 3 and summary["rejected"] == 2
    failed = [json.loads(line) for line in log.read_text().splitlines()]
    assert [f["position"] for f in failed] == [4, 5] and all(f["reason"] for f in failed)
    ana = next(lead for lead in _leads(cli) if lead["name"] == "Ana Silva")
    assert ana["fields"]["utm_source"] == "google" and ana["fields"]["last_utm_campaign"] == "brand"


def test_nothing_readable_is_exit_1_and_max_rejects_writes_nothing(cli, isolated_db):
    assert cli("intake", input="not json\n").exit_code == 1
    bad = cli("intake", "--max-rejects", "0", input=(FIXTURES / "generic.jsonl").read_text())
    assert bad.exit_code == 1 and "nothing was written" in bad.stderr
    assert _leads(cli) == []
    assert cli("intake", input="").exit_code == 1


def test_intake_routes_new_leads_and_fires_hooks_after_commit(cli, isolated_db, tmp_path, monkeypatch):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    out = tmp_path / "events.txt"
    hook = hooks / "on-lead-created"
    hook.write_text(f"#!{sys.executable}\nimport json, os, sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                    "import dbshim\nevent = json.load(sys.stdin)\n"
                    "n = dbshim.connect(os.environ['LEADCLI_DB']).execute("
                    "'SELECT count(*) FROM lead WHERE id = ?', (event['lead_id'],)).fetchone()[0]\n"
                    f"open({str(out)!r}, 'a').write(f\"{{event['lead']['owner']}} {{n}}\\n\")\n")
    hook.chmod(0o755)
    monkeypatch.setenv("LEADCLI_HOOKS", str(hooks))
    cli.ok("intake", "--assign", "round-robin:ana,ben", input=(FIXTURES / "generic.jsonl").read_text())
    owners = [lead["owner"] for lead in sorted(_leads(cli), key=lambda r: r["id"])]
    assert owners == ["ana", "ben", "ana"]
    assert sorted(out.read_text().split("\n")[:-1]) == ["ana 1", "ana 1", "ben 1"]
    shown = cli.ok("show", str(_leads(cli)[0]["id"])).stdout
    assert shown
    cli.ok("--no-hooks", "intake", input='{"name": "Quiet One", "email": "q@one.io", "id": "q1"}\n')
    assert len(out.read_text().splitlines()) == 3
