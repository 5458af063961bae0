"""Intake parsing: the payload shapes of generic forms, Facebook lead ads, Typeform and Tally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcli import intake

FIXTURES = Path(__file__).parent / "fixtures" / "intake"


def _items(name: str) -> list[intake.IntakeItem]:
    return intake.parse((FIXTURES / name).read_text())


def test_facebook_lead_from_the_graph_api():
    (item,) = _items("facebook_lead.json")
    assert item.kind == "facebook" and item.error is None
    assert item.key == item.row["external_id"] == "facebook:1184920337485112"
    row = item.row
    assert (row["name"], row["email"], row["phone"], row["company"], row["title"]) == (
        "Inês Carvalho", "ines.carvalho@lusologistica.pt", "+351912345678", "Luso Logística", "Operations Manager")
    assert row["how_many_vehicles_do_you_run?"] == "20-50"  # a custom question stays a custom field
    assert row["created"] == "2025-05-06T08:41:17Z"
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"], row["utm_content"]) == (
        "instagram", "paid_social", "spring-demo-2025", "Spring demo - carousel")
    assert row["last_utm_campaign"] == "spring-demo-2025" and row["source"] == "instagram"


def test_a_page_of_facebook_leads_gives_one_item_each():
    first, second = _items("facebook_leads_page.json")
    assert (first.row["first_name"], first.row["last_name"]) == ("Tomás", "Ferreira")
    assert first.row["utm_medium"] == "organic_social" and first.row["source"] == "facebook"
    assert second.row["services_of_interest"] == "tracking, fuel cards"
    assert "utm_medium" not in second.row  # is_organic not given: not guessed
    assert first.key != second.key


def test_a_bare_leadgen_notification_says_how_to_get_the_answers():
    (item,) = _items("facebook_webhook.json")
    assert item.key == "facebook:1184920337485113"
    assert item.error and "Graph API" in item.error and "GET /1184920337485113" in item.error


def test_a_leadgen_webhook_with_field_data_parses():
    payload = json.loads((FIXTURES / "facebook_webhook.json").read_text())
    payload["entry"][0]["changes"][0]["value"]["field_data"] = [{"name": "email", "values": ["x@y.io"]}]
    (item,) = intake.parse_object(payload)
    assert item.error is None and item.row["email"] == "x@y.io" and item.row["created"] == "2025-05-06T08:41:16Z"


def test_typeform_webhook():
    (item,) = _items("typeform.json")
    row = item.row
    assert item.kind == "typeform" and item.key == "typeform:a3f9c2e17b6d4058a1b2c3d4e5f60718"
    assert (row["name"], row["email"], row["company"], row["phone"]) == (
        "Bo Chen", "bo.chen@globex.example", "Globex", "+14155550123")
    assert row["products"] == "Tracking, Fuel cards, Tachograph" and row["fleet_size"] == "50-200"
    assert row["may_call"] == "yes" and row["created"] == "2025-05-08T14:04:53Z"
    # Hidden fields name a first touch; the plain utm_* are this submission's, the last touch.
    assert (row["utm_source"], row["utm_medium"]) == ("google", "cpc") and "utm_campaign" not in row
    assert (row["last_utm_source"], row["last_utm_medium"], row["last_utm_campaign"]) == (
        "newsletter", "email", "may-webinar")
    assert row["last_utm_content"] == "button-top"  # from the referer's query string
    assert row["source"] == "google"


def test_typeform_opaque_refs_fall_back_to_the_question():
    payload = json.loads((FIXTURES / "typeform.json").read_text())
    response = payload["form_response"]
    response["answers"].append({"type": "text", "text": "Lisbon",
                                "field": {"id": "zz1", "type": "short_text", "ref": "01HZX3Q5K8M2N4P6R8T0V2W4Y6"}})
    response["definition"]["fields"].append({"id": "zz1", "title": "City", "ref": "01HZX3Q5K8M2N4P6R8T0V2W4Y6"})
    (item,) = intake.parse_object(payload)
    assert item.row["City"] == "Lisbon"


def test_tally_webhook():
    (item,) = _items("tally.json")
    row = item.row
    assert item.kind == "tally" and item.key == "tally:2wgx4n"
    assert (row["name"], row["email"], row["phone"], row["company"]) == (
        "Chen Wei", "chen.wei@initech.example", "+44 20 7946 0018", "Initech")
    assert row["Team size"] == "11-50" and row["Interested in"] == "Reporting, API"
    assert not any(k.startswith("Interested in (") for k in row)
    assert "Anything else?" not in row
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == ("linkedin", "paid_social", "q2-abm")
    assert row["created"] == "2025-05-09T09:30:11Z" and row["source"] == "linkedin"


def test_generic_json_lines():
    items = _items("generic.jsonl")
    assert [i.position for i in items] == [1, 2, 3, 4, 5]
    ana, rui, third, bad, empty = items
    assert ana.key == "web-1001" and ana.row["name"] == "Ana Silva"
    assert (ana.row["utm_source"], ana.row["utm_term"], ana.row["last_utm_term"]) == ("google", "crm tool", "crm tool")
    assert ana.row["source"] == "google"  # its first touch, so utm_source stays a field of its own
    assert rui.key == "web-1002" and rui.row["Industry"] == "Retail"
    assert (rui.row["utm_source"], rui.row["last_utm_source"]) == ("facebook", "newsletter")
    assert (rui.row["utm_medium"], rui.row["last_utm_medium"]) == ("paid_social", "email")
    assert third.key == "1003" and "id" not in third.row and third.row["notes"] == "Call me after 5pm"
    assert (third.row["utm_source"], third.row["last_utm_source"]) == ("linkedin", "direct")
    assert bad.error and bad.error.startswith("not JSON")
    assert empty.error == "no name, e-mail, phone or company in the payload"


def test_a_json_array_and_odd_items():
    items = intake.parse(json.dumps([{"email": "a@b.io"}, 42, {"name": "B"}]))
    assert [i.error is None for i in items] == [True, False, True]
    assert "expected a JSON object" in (items[1].error or "")
    assert intake.parse("  \n") == []


def test_merge_touches_keeps_the_first_and_moves_the_last():
    existing = {"Industry": "Retail", "utm_source": "google", "last_utm_source": "google"}
    incoming = {"utm_source": "newsletter", "last_utm_source": "newsletter", "last_utm_medium": "email"}
    merged = intake.merge_touches(existing, incoming)
    assert merged == {"Industry": "Retail", "utm_source": "google", "last_utm_source": "newsletter",
                      "last_utm_medium": "email"}
    assert intake.merge_touches({}, incoming)["utm_source"] == "newsletter"


@pytest.mark.parametrize("value,expected", [
    (1746520876, "2025-05-06T08:41:16Z"),
    ("2015-11-12T15:27:06+0000", "2015-11-12T15:27:06Z"),
    ("2025-05-09T09:30:11.000Z", "2025-05-09T09:30:11Z"),
    ("2025-05-09T11:30:11+02:00", "2025-05-09T09:30:11Z"),
    ("last tuesday", "last tuesday"),
    (None, None),
])
def test_iso_time(value, expected):
    assert intake.iso_time(value) == expected


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@given(st.dictionaries(_text, st.one_of(_text, st.integers(), st.booleans(), st.none(), st.lists(_text, max_size=3)),
                       max_size=8))
def test_any_flat_object_parses_without_crashing_to_text_cells(obj):
    for item in intake.parse(json.dumps(obj)):
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in item.row.items())
        assert (item.error is None) == any(item.row.get(k) for k in ("name", "first_name", "last_name", "email",
                                                                     "phone", "company"))


@given(st.lists(st.fixed_dictionaries({"email": st.emails(), "utm_source": _text}), min_size=1, max_size=5))
def test_json_lines_and_a_json_array_read_the_same(objs):
    lines = "\n".join(json.dumps(o) for o in objs)
    as_lines = [i.row for i in intake.parse(lines)]
    as_array = [i.row for i in intake.parse(json.dumps(objs))]
    assert as_lines == as_array and len(as_lines) == len(objs)


def test_as_table_gives_the_import_a_header_and_rows():
    items = _items("generic.jsonl")
    header, rows = intake.as_table(items)
    assert len(rows) == 3 and len(set(header)) == len(header)
    assert all(len(row) == len(header) for row in rows)
    by_column = [dict(zip(header, row, strict=True)) for row in rows]
    assert [r["external_id"] for r in by_column] == ["web-1001", "web-1002", "1003"]
    assert by_column[1]["name"] == "" and by_column[1]["Industry"] == "Retail"
    assert {"utm_source", "last_utm_source", "source"} <= set(header)
