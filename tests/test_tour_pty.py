"""The tour on a real pseudo-terminal at 60 and 120 columns: no cut numbers, honest bars, local times."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leads.csv"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPEND = "source,spend\nWeb,12000\nPartner Referral,3000.50\nCold Call,8000\nPaid Ads,15000\nTrade Show,22000\n" \
        "Phone Inquiry,1000\n"


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tour")
    env = {**os.environ, "LEADCLI_DB": str(folder / "leads.db"), "NO_COLOR": "1", "TZ": "America/New_York"}
    env.pop("COLUMNS", None)
    env.pop("LEADCLI_FORMAT", None)
    subprocess.run([sys.executable, "-m", "leadcli", "-q", "import", str(EXAMPLE)], env=env, check=True)
    (folder / "spend.csv").write_text(SPEND)
    return folder, env


def screen(env, width, *args):
    child = pexpect.spawn(sys.executable, ["-m", "leadcli", *args], env=env, encoding="utf-8",
                          dimensions=(400, width), timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    text = ANSI.sub("", child.before).replace("\r\n", "\n")
    assert all(len(line) <= width for line in text.splitlines()), text
    return text


def pipe(env, *args):
    run = subprocess.run([sys.executable, "-m", "leadcli", "-f", "json", *args], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout)


def _bar(line: str) -> float:
    blocks = " ▏▎▍▌▋▊▉█"
    cells = re.findall(r"[▏▎▍▌▋▊▉█]+", line)
    if not cells:
        return 0.0
    return sum(blocks.index(ch) / 8 for ch in cells[-1])


@pytest.mark.parametrize("width", [60, 120])
def test_conversion_bars_follow_the_printed_rates(tour, width):
    _folder, env = tour
    for measure, key in (("count", "rate"), ("value", "value_rate")):
        text = screen(env, width, "report", "conversion", "--all-time", "--measure", measure)
        rows = pipe(env, "report", "conversion", "--all-time", "--measure", measure)
        top = max(r[key] for r in rows)
        longest = None
        for row in rows:
            printed = f"{row[key]:,.2f}%"
            line = next(ln for ln in text.splitlines() if ln.lstrip().startswith(row["group"][:8]))
            assert printed in line, (printed, line)
            length = _bar(line)
            if row[key] == top:
                longest = length
            assert length >= 0
        assert longest
        for row in rows:
            line = next(ln for ln in text.splitlines() if ln.lstrip().startswith(row["group"][:8]))
            assert abs(_bar(line) / longest - row[key] / top) <= 1 / longest + 0.01, line


@pytest.mark.parametrize("width", [60, 120])
def test_cost_keeps_its_numbers(tour, width):
    folder, env = tour
    text = screen(env, width, "report", "cost", "--spend", str(folder / "spend.csv"), "--all-time")
    rows = pipe(env, "report", "cost", "--spend", str(folder / "spend.csv"), "--all-time")
    for row in rows:
        for key in ("leads", "cost_per_lead", "roi"):
            value = row[key]
            shown = f"{value:,.2f}%" if key == "roi" else f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
            assert shown in text, (key, shown)
        if width == 120:
            assert row["source"] in text
            assert f"{row['spend']:,.2f}" in text and f"{row['converted_value']:,.2f}" in text
    if width == 120:
        assert "…" not in text


@pytest.mark.parametrize("width", [60, 120])
def test_show_prints_local_times(tour, width):
    _folder, env = tour
    from leadcli import when

    record = pipe(env, "show", "5")
    text = screen(env, width, "show", "5")
    os.environ["TZ"], saved = "America/New_York", os.environ.get("TZ")
    try:
        local = when.local_text(record["created_at"])
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
    assert local in text and record["created_at"] not in text
