"""Single-value normalisation shared by add/edit and import."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcli import validate
from leadcli.errors import InvalidValue


@pytest.mark.parametrize("raw, cents", [
    ("1500", 150000), ("1,500.50", 150050), ("1.500,50", 150050), ("$12,400.00", 1240000),
    ("95,570.69", 9557069), ("1 500", 150000), ("0", 0), ("12,5", 1250), ("EUR 10", 1000), ("€3.999,00", 399900),
    ("0.005", 1),
])
def test_money_parses_what_people_and_spreadsheets_write(raw, cents):
    assert validate.money(raw) == cents


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_money_round_trips_two_decimal_amounts(amount):
    assert validate.money(str(amount)) == int(amount * 100)
    assert validate.money(f"{amount:,.2f}") == int(amount * 100)


@pytest.mark.parametrize("raw", ["-1", "(5)", "abc", "1.2.3,4,5"])
def test_money_refuses(raw):
    with pytest.raises(InvalidValue):
        validate.money(raw)


def test_email_normalisation():
    assert validate.email("  Ana.Silva@ACME.IO ") == ("Ana.Silva@acme.io", "ana.silva@acme.io")
    assert validate.email("") == (None, None)
    assert validate.email("josé@exämple.com")[0] is not None
    for bad in ("a@", "@b.com", "a b@c.com", "a@b", "a..b@c.com"):
        with pytest.raises(InvalidValue):
            validate.email(bad)


def test_currency():
    assert validate.currency(" usd ") == "USD"
    with pytest.raises(InvalidValue):
        validate.currency("US$")


def test_user_dates():
    assert validate.user_date("2025-03-01") == "2025-03-01T00:00:00Z"
    assert validate.user_date("2025-03-01", end_of_day=True) == "2025-03-01T23:59:59Z"
    assert validate.user_date("2025-03-01T10:00:00+02:00") == "2025-03-01T08:00:00Z"
    assert validate.user_date("30d") < validate.user_date("today")
    with pytest.raises(InvalidValue):
        validate.user_date("2025-02-30")


def test_split_name():
    assert validate.split_name("Ana Maria Silva") == ("Ana Maria", "Silva")
    assert validate.split_name("Cher") == ("Cher", None)
    assert validate.split_name("  ") == (None, None)


@pytest.mark.parametrize("text, iso", [
    ("2024-03-12 09:14:00 PST", "2024-03-12T17:14:00Z"), ("3/12/2024 9:14 AM EDT", "2024-03-12T13:14:00Z"),
    ("2024-03-12 09:14 CEST", "2024-03-12T07:14:00Z"), ("12.03.2024 09:14 MSK", "2024-03-12T06:14:00Z"),
    ("2024-03-12 09:14:00 UTC", "2024-03-12T09:14:00Z"),
])
def test_dates_with_a_zone_abbreviation(text, iso):
    from leadcli.ingest.values import parse_date

    assert parse_date(text, "created") == iso


def test_an_unknown_zone_is_a_clear_error():
    from leadcli.errors import InvalidValue
    from leadcli.ingest.values import parse_date

    with pytest.raises(InvalidValue, match="time zone 'XYZ' is not one leadcli knows"):
        parse_date("2024-03-12 09:14 XYZ", "created")
