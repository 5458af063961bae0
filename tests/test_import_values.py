"""The value rules of the import, one by one: dates, currencies, phones, names, tags, missing markers,
placeholders that are no identity."""

from __future__ import annotations

import pytest

from leadcli import duplicates, validate
from leadcli.errors import InvalidValue
from leadcli.ingest import values
from leadcli.ingest.locale_data import currency_codes, iso_currencies


@pytest.mark.parametrize("text, iso", [
    ("15 Apr, 2021 00:03:00", "2021-04-15T00:03:00Z"), ("Apr 15, 2021", "2021-04-15T00:00:00Z"),
    ("15-Apr-2021 3:30 PM", "2021-04-15T15:30:00Z"), ("3. März 2024", "2024-03-03T00:00:00Z"),
    ("12 avril 2024", "2024-04-12T00:00:00Z"), ("5 de", None), ("15 апреля 2021", "2021-04-15T00:00:00Z"),
    ("12 kwietnia 2024 10:00", "2024-04-12T10:00:00Z"), ("2 março 2024", "2024-03-02T00:00:00Z"),
    ("7 agosto 2023", "2023-08-07T00:00:00Z"), ("2024-04-02T13:45:00.0000000Z", "2024-04-02T13:45:00Z"),
    ("2022-02-03T16:16:51+0000", "2022-02-03T16:16:51Z"), ("2022-02-03T11:16:51-0500", "2022-02-03T16:16:51Z"),
    ("45631", "2024-12-05T00:00:00Z"), ("May-20", None), ("01-May", None), ("not a date", None),
])
def test_dates_as_the_file_means_them(text, iso):
    if iso is None:
        with pytest.raises(InvalidValue):
            values.parse_date(text, "d")
    else:
        assert values.parse_date(text, "d") == iso


def test_a_column_order_is_never_guessed_against():
    with pytest.raises(InvalidValue):
        values.parse_date("29/09/2024", "d", order=("mdy", "09/30/2024"))


@pytest.mark.parametrize("text, codes", [
    ("XXX", {"XXX"}), ("eur", {"EUR"}), ("Рубль", {"RUB"}), ("руб.", {"RUB"}), ("Euro", {"EUR"}),
    ("US Dollar", {"USD"}), ("Доллар США", {"USD"}), ("Turkish lira", {"TRY"}), ("€", {"EUR"}), ("zł", {"PLN"}),
    ("£", {"GBP"}), ("₽", {"RUB"}), ("XYZ", set()),
])
def test_currencies_by_code_symbol_or_name(text, codes):
    cache = values.ValueCache()
    if not codes:
        with pytest.raises(InvalidValue):
            cache.currency_code(text)
    else:
        assert {cache.currency_code(text)} == codes
    assert "XXX" in iso_currencies() and "USD" in iso_currencies()


@pytest.mark.parametrize("text", ["$", "Dollar", "Rupee", "¥", "kr"])
def test_an_ambiguous_currency_needs_the_option(text):
    assert len(currency_codes(text)) > 1
    assert values.ValueCache().currency_code(text) is None
    options = sorted(currency_codes(text))
    assert values.ValueCache(currency=options[0]).currency_code(text) == options[0]


def test_an_amount_names_its_currency_unless_it_is_ambiguous():
    cache = values.ValueCache()
    assert cache.amount_currency("150 руб.") == "RUB" and cache.amount_currency("1.234,56 €") == "EUR"
    assert cache.amount_currency("$1,200") is None and values.ValueCache(currency="CAD").amount_currency("$5") == "CAD"


@pytest.mark.parametrize("text, stored, key", [
    ("+19495989920 ext 1148", "+19495989920 ext. 1148", "+19495989920"),
    ("\u202a+49 30 55501234\u202c", "+493055501234", "+493055501234"),
    ("\u200e+49 151 55501234", "+4915155501234", "+4915155501234"),
    ("+44\u00a020\u00a07946\u00a00958", "+442079460958", "+442079460958"),
    ("p:+15125550148", "+15125550148", "+15125550148"),
    ("(512) 555-0143", "(512) 555-0143", None),  # no country code, no region: as written, no key
    ("+11111111111", "+11111111111", None), ("1234567890", "1234567890", None),
])
def test_phones(text, stored, key):
    assert values.ValueCache().phone(text) == (stored, key)


@pytest.mark.parametrize("text", ["1.15164E+11", "800-38-AVAIL", "4Tech-gt - on facebook"])
def test_no_phone_at_all_is_an_error_never_a_fixed_number(text):
    with pytest.raises(InvalidValue):
        values.ValueCache().phone(text)


def test_two_numbers_give_the_first_and_say_so():
    with pytest.raises(values.PartialValue) as caught:
        values.ValueCache().phone("+7 912 345-67-89, +7 495 123-45-67")
    assert caught.value.value == ("+79123456789", "+79123456789")


def test_names_tags_and_missing_markers():
    assert validate.split_name("Lewis, James") == ("James", "Lewis")
    assert validate.split_name("Anne-Marie O'Neill, Jr.") == ("Anne-Marie O'Neill,", "Jr.")
    assert values.tags("Hot, Warm;Cold") == '["Hot", "Warm", "Cold"]'
    assert set(values.DEFAULT_MISSING) == {"", "#n/a", "n/a", "null", "nan", "-"}


@pytest.mark.parametrize("email, key", [
    ("your@gmail.com", False), ("test@test.com", False), ("none@acme.io", False), ("noemail@noemail.com", False),
    ("no-reply@nordlys.no", False), ("ana@example.com", False), ("ana@acme.io", True), ("nora@acme.io", True),
])
def test_placeholder_emails_are_no_identity(email, key):
    assert duplicates.email_is_key(email) is key
    assert (validate.email(email)[1] is not None) is key
    assert (validate.emails([email, "bo@acme.io"])[1][0] is not None) is key  # type: ignore[index]


@pytest.mark.parametrize("phone, key", [
    ("+10000000000", False), ("+11111111111", False), ("+11234567890", False), ("+1234", False),
    ("+15125550148", True), ("+442079460958", True),
])
def test_placeholder_phones_are_no_identity(phone, key):
    assert duplicates.phone_is_key(phone) is key
    assert (duplicates.phone_keys([phone, "+15125550149"])[0] is not None) is key


def test_internationalised_addresses_take_the_column_path():
    column = ["maría.garcía.7@Acme.com", "ольга.петрова@mail.ru", "ana@acme.io"]
    stored, keys = validate.emails(column)  # type: ignore[misc]
    assert stored == [validate.email(v)[0] for v in column] and keys == [validate.email(v)[1] for v in column]
