"""`leadcli report` from the command line: formats, pipes, errors, and hand-made history edge cases."""

from __future__ import annotations

import csv
import io
import json

import pytest
import report_data
from sqlmodel import select

from leadcli import leads, reports, store
from leadcli.query import LeadFilter

FORMATS = ("table", "csv", "json", "jsonl", "markdown")


@pytest.fixture
def loaded(isolated_db):
    report_data.write(isolated_db, report_data.generate(200, seed=3))
    return isolated_db


@pytest.fixture
def story(isolated_db):
    """Five leads whose histories are the awkward cases (all created in January 2026).

    A: new → contacted → qualified → disqualified (01-10) → reopened qualified (02-01) → converted (02-10)
    B: new → converted (01-05) → back to qualified (01-20) → converted again (03-01)
    C: new → qualified → disqualified (01-15): disqualified after qualified
    D: created qualified (as an import may) → converted (01-25)
    E: new, nothing since
    """
    def at(day):
        return f"2026-{day}T12:00:00Z"

    plan = {
        "A": ("Web", [("contacted", "01-03"), ("qualified", "01-06"), ("disqualified", "01-10", "no budget"),
                      ("qualified", "02-01"), ("converted", "02-10")]),
        "B": ("Web", [("converted", "01-05"), ("qualified", "01-20"), ("converted", "03-01")]),
        "C": ("Referral", [("qualified", "01-04"), ("disqualified", "01-15", "competitor")]),
        "D": ("Referral", [("converted", "01-25")]),
        "E": ("Web", []),
    }
    with store.session(write=True) as s:
        for name, (source, moves) in plan.items():
            lead = leads.add_lead(s, leads.LeadInput(name=name, source=source, created=at("01-02")),
                                  status="qualified" if name == "D" else "new")
            for move in moves:
                leads.set_status(s, lead, move[0], move[2] if len(move) > 2 else None, at=at(move[1]),
                                 reopening=lead.status in ("disqualified", "converted"))
    return plan


def test_as_of_edge_cases(story, cli):
    def converted_as_of(day):
        out = json.loads(cli.ok("-f", "json", "report", "conversion", "--by", "status", "--as-of", day).stdout)
        return {r["group"]: r["total"] for r in out}

    assert converted_as_of("2026-01-01") == {}
    assert converted_as_of("2026-01-12") == {"disqualified": 1, "converted": 1, "qualified": 2, "new": 1}
    assert converted_as_of("2026-01-31") == {"disqualified": 2, "qualified": 1, "converted": 1, "new": 1}
    assert converted_as_of("2026-02-15") == {"disqualified": 1, "qualified": 1, "converted": 2, "new": 1}
    assert converted_as_of("2026-03-31") == {"disqualified": 1, "converted": 3, "new": 1}
    now = json.loads(cli.ok("-f", "json", "report", "conversion", "--by", "status").stdout)
    assert {r["group"]: r["total"] for r in now} == converted_as_of("2026-03-31")


def test_funnel_edge_cases(story, cli):
    loose = json.loads(cli.ok("-f", "json", "report", "funnel").stdout)
    assert [r["leads"] for r in loose] == [5, 4, 4, 3]
    strict = json.loads(cli.ok("-f", "json", "report", "funnel", "--strict").stdout)
    assert [r["leads"] for r in strict] == [4, 1, 1, 1]
    assert strict[1]["step_rate"] == 25.0 and strict[3]["cumulative_rate"] == 25.0
    early = json.loads(cli.ok("-f", "json", "report", "funnel", "--as-of", "2026-01-12").stdout)
    assert [r["leads"] for r in early] == [5, 4, 4, 1]  # only B converted; A and C stopped at qualified


def test_time_to_convert_and_lost_reasons_on_the_story(story, cli):
    ttc = json.loads(cli.ok("-f", "json", "report", "time-to-convert").stdout)
    assert ttc == [{"group": "all", "converted": 3, "median_days": 39.0, "mean_days": 40.0, "p90_days": 54.2,
                    "min_days": 23.0, "max_days": 58.0}]
    lost = json.loads(cli.ok("-f", "json", "report", "lost-reasons").stdout)
    assert lost == [{"reason": "competitor", "leads": 1, "share": 100.0}]


def test_default_report_is_clean_csv_in_a_pipe(loaded, cli):
    result = cli.ok("report", "conversion")
    assert "\x1b[" not in result.stdout and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["group", "total", "converted", "rate"]
    with store.session() as s:
        expected = reports.conversion(s, reports.default_scope(LeadFilter(), since=None, until=None), "source")
    assert [(r["group"], int(r["total"])) for r in rows] == [(r["group"] or "", r["total"]) for r in expected.rows]
    # Rates keep both decimals in CSV (48.00, never 48.0), and JSON still carries numbers.
    assert all(r["rate"] == "" or len(r["rate"].split(".")[1]) == 2 for r in rows)
    assert all(r["rate"] is None or isinstance(r["rate"], float)
               for r in json.loads(cli.ok("-f", "json", "report", "conversion").stdout))


def test_whole_rates_print_two_decimals(isolated_db, cli):
    for name, status in (("A", "converted"), ("B", None)):
        lead = cli.ok("-q", "add", name, "--source", "web").stdout.strip()
        if status:
            cli.ok("-q", "convert", lead, "--no-contact", "--no-company", "--no-deal")
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "conversion", "--all-time").stdout)))
    assert rows[0]["rate"] == "50.00"
    assert json.loads(cli.ok("-f", "json", "report", "conversion", "--all-time").stdout)[0]["rate"] == 50.0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", [
    ["conversion", "--all-time"], ["conversion", "--by", "created:month", "--all-time", "--measure", "value"],
    ["conversion", "--scorecard", "--all-time"], ["conversion", "--drill", "Web", "--all-time"],
    ["funnel", "--all-time"], ["time-to-convert", "--by", "owner", "--all-time"], ["lost-reasons", "--all-time"],
])
def test_every_report_in_every_format(loaded, cli, fmt, args):
    result = cli.ok("--format", fmt, "report", *args)
    out = result.stdout
    assert out.strip() and "NaN" not in out and "nan," not in out
    if fmt != "table":
        assert "\x1b[" not in out
    if fmt == "json":
        assert isinstance(json.loads(out), list)
    elif fmt == "jsonl":
        assert all(isinstance(json.loads(line), dict) for line in out.splitlines())
    elif fmt == "csv":
        assert len(list(csv.reader(io.StringIO(out)))) >= 2
    elif fmt == "markdown":
        assert out.splitlines()[1].startswith("|")


def test_table_has_bars_and_a_total_caption(loaded, cli):
    out = cli.ok("-f", "table", "report", "conversion", "--all-time").stdout
    assert "█" in out and "all: 200 leads" in out and "rate" in out


def test_scorecard_is_a_big_number_on_a_terminal_and_one_row_otherwise(loaded, cli):
    big = cli.ok("-f", "table", "report", "conversion", "--scorecard", "--all-time").stdout
    assert "Conversion rate" in big and "███" in big and "of 200 leads converted" in big
    row = json.loads(cli.ok("-f", "json", "report", "conversion", "--scorecard", "--all-time").stdout)
    assert len(row) == 1 and row[0]["total"] == 200 and set(row[0]) >= {"group", "total", "converted", "rate"}


def test_rate_is_null_without_leads_never_nan(isolated_db, cli):
    assert json.loads(cli.ok("-f", "json", "report", "conversion", "--scorecard").stdout)[0]["rate"] is None
    row = next(csv.DictReader(io.StringIO(cli.ok("-f", "csv", "report", "conversion", "--scorecard").stdout)))
    assert (row["total"], row["converted"], row["rate"]) == ("0", "0", "")
    assert json.loads(cli.ok("-f", "json", "report", "conversion").stdout) == []


def test_period_view_rate_is_empty_where_nothing_was_created(story, cli):
    rows = json.loads(cli.ok("-f", "json", "report", "conversion", "--date-field", "converted", "--since",
                             "2026-02-01", "--by", "source").stdout)
    web = next(r for r in rows if r["group"] == "Web")
    assert (web["total"], web["converted"], web["rate"]) == (0, 2, None)


def test_drill_marks_converted_leads(story, cli):
    rows = json.loads(cli.ok("-f", "json", "report", "conversion", "--drill", "web").stdout)
    assert [(r["name"], r["converted"]) for r in rows] == [("A", True), ("B", True), ("E", False)]
    table = cli.ok("-f", "table", "report", "conversion", "--drill", "Web").stdout
    assert "✓" in table


def test_rates_and_value_measure(story, cli):
    with store.session(write=True) as s:
        for name, value, cur in (("A", "1000", "EUR"), ("B", "500", "USD")):
            lead = s.exec(select(leads.Lead).where(leads.Lead.name == name)).one()
            lead.value_cents, lead.currency = int(value) * 100, cur
            s.add(lead)
    mixed = cli.ok("-f", "json", "report", "conversion", "--measure", "value", "--by", "source")
    assert "2 currencies" in mixed.stderr
    missing = cli("report", "conversion", "--measure", "value", "--currency", "USD")
    assert missing.exit_code == 1 and "rates set EUR=" in missing.stderr
    cli.ok("report", "rates", "set", "EUR=1.10", "--base", "USD")
    rows = json.loads(cli.ok("-f", "json", "report", "conversion", "--measure", "value", "--currency", "USD").stdout)
    web = next(r for r in rows if r["group"] == "Web")
    assert (web["currency"], web["total_value"], web["converted_value"]) == ("USD", 1600, 1600)
    assert "EUR" in cli.ok("report", "rates", "list").stdout


def test_cost_and_traffic_from_files(story, cli, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("source,spend\nWeb,300\nReferral,0\n")
    rows = json.loads(cli.ok("-f", "json", "report", "cost", "--spend", spend).stdout)
    assert rows[0] == {"source": "Web", "spend": 300, "currency": None, "leads": 3, "converted": 2,
                       "converted_value": 0, "cost_per_lead": 100, "cost_per_conversion": 150, "roi": -100.0}
    assert rows[1]["roi"] is None and rows[1]["cost_per_lead"] == 0
    traffic = tmp_path / "traffic.csv"
    traffic.write_text("period,source,visitors,sessions,spend\n2026-01,Web,300,600,90\n")
    got = json.loads(cli.ok("-f", "json", "report", "conversion", "--traffic", traffic).stdout)
    assert got[0]["leads"] == 3 and got[0]["lead_rate"] == 1.0 and got[0]["conversions_per_session"] == 0.33


@pytest.mark.parametrize("args,code,text", [
    (["conversion", "--by", "colour"], 2, "cannot group by"),
    (["conversion", "--by", "created:fortnight"], 2, "not a period"),
    (["conversion", "--by", "source:month"], 2, "takes no period"),
    (["conversion", "--as-of", "yesterdayish"], 2, "--as-of"),
    (["conversion", "--measure", "money"], 2, "money"),
    (["conversion", "--drill", "Nowhere"], 1, "no leads in the group"),
    (["conversion", "--traffic", "missing.csv"], 1, "no such traffic file"),
    (["cost", "--spend", "missing.csv"], 1, "no such spend file"),
    (["rates", "set", "EUR=-1"], 2, "above 0"),
])
def test_errors_are_messages_not_tracebacks(story, cli, args, code, text):
    result = cli("report", *args)
    assert result.exit_code == code, result.stderr
    assert text in result.stderr and "Traceback" not in result.stderr


def test_custom_field_by_plain_name(isolated_db, cli):
    cli.ok("add", "Ana", "--field", "Industry=Retail", "--source", "Web")
    cli.ok("add", "Bo", "--field", "Industry=Finance")
    rows = json.loads(cli.ok("-f", "json", "report", "conversion", "--by", "Industry").stdout)
    assert sorted(r["group"] for r in rows) == ["Finance", "Retail"]
    # Any case will do when only one custom field is spelled that way; a typo lists the fields there are.
    assert json.loads(cli.ok("-f", "json", "report", "conversion", "--by", "industry").stdout) == rows
    typo = cli("report", "conversion", "--by", "indstry")
    assert typo.exit_code == 2 and "custom fields of recent leads: Industry" in typo.stderr


def test_deals_report_from_the_command_line(isolated_db, cli):
    for name in ("Ana", "Bo", "Cy"):
        cli.ok("add", name, "--owner", "maria", "--source", "Web")
    cli.ok("convert", "1", "2", "3")
    cli.ok("deals", "won", "1")
    cli.ok("deals", "lost", "2", "--reason", "price")
    rows = json.loads(cli.ok("-f", "json", "report", "deals").stdout)
    assert rows == [{"group": "maria", "deals": 3, "open": 1, "won": 1, "lost": 1, "win_rate": 50.0}]
    assert "won/closed" in cli.ok("-f", "table", "report", "deals", "--by", "source").stdout
    bad = cli("report", "deals", "--by", "colour")
    assert bad.exit_code == 2 and "cannot be grouped" in bad.stderr
