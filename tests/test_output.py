"""The output module: formats, CSV neutralisation, JSON encoding, bars."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcli import output


@pytest.mark.parametrize("text", ["=1+2", "+44", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cell_neutralises_formula_starts(text):
    assert output.csv_cell(text) == "'" + text


def test_csv_cell_keeps_numbers_numeric():
    assert output.csv_cell(-3) == "-3"
    assert output.csv_cell(Decimal("12.50")) == "12.50"
    assert output.csv_cell(None) == ""
    assert output.csv_cell(float("nan")) == ""


def test_json_handles_decimal_and_nan():
    assert json.loads(output.dumps({"a": Decimal("1.50"), "b": float("nan"), "c": Decimal("3")})) == {
        "a": 1.5, "b": None, "c": 3}


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_bar_length_is_monotonic_and_bounded(fraction):
    bar = output.bar_text(fraction, width=20)
    assert len(bar) <= 20
    assert len(output.bar_text(min(1.0, fraction + 0.1), width=20)) >= len(bar)


def test_bar_extremes():
    assert output.bar_text(0, 10) == ""
    assert output.bar_text(1, 10) == "█" * 10
    assert output.bar_text(None) == ""


def test_unknown_format_is_a_usage_error():
    from leadcli.errors import UsageError

    with pytest.raises(UsageError):
        output.configure("yaml")
    output.configure("auto")


def test_no_color_env_and_flag(monkeypatch):
    output.configure("table", False, True)
    assert output.settings.color is False
    monkeypatch.setenv("NO_COLOR", "1")
    output.configure("table", False, False)
    assert output.settings.color is False
    output.configure("auto")
