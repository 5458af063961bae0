"""Saved views: stored in the database, validated at save, turned into the filters of list at use."""

from __future__ import annotations

import json

import pytest

from leadcli import leads, store, views
from leadcli.errors import InvalidValue, NotFound


def _views(cli) -> list[dict]:
    return json.loads(cli.ok("-f", "json", "view", "list").stdout)


def test_save_list_replace_and_delete(cli):
    cli.ok("view", "save", "Hot-Web", "--source", "web", "--grade", "a", "--since", "30d", "--sort", "score",
           "--columns", "id,name,score", "--status", "new", "--status", "contacted")
    (view,) = _views(cli)
    assert view["name"] == "hot-web"
    assert view["source"] == "web" and view["grade"] == "A" and view["since"] == "30d"
    assert view["status"] == ["new", "contacted"] and view["columns"] == ["id", "name", "score"]
    assert view["owner"] is None and view["sort"] == "score"

    replaced = cli.ok("view", "save", "hot-web", "--owner", "ana")
    assert "replaced" in replaced.stderr
    (view,) = _views(cli)
    assert view["owner"] == "ana" and view["source"] is None  # a save replaces the whole view

    cli.ok("view", "delete", "@hot-web")
    assert _views(cli) == []
    missing = cli("view", "delete", "hot-web")
    assert missing.exit_code == 1 and "no saved view" in missing.stderr


@pytest.mark.parametrize("args", [
    ["bad name!", "--source", "web"],
    ["empty"],
    ["x", "--since", "next tuesday-ish"],
    ["x", "--since", "2025-05-01", "--until", "2025-01-01"],
    ["x", "--sort", "shoe-size"],
    ["x", "--columns", "id,salary"],
    ["x", "--grade", "E"],
])
def test_bad_views_are_usage_errors_and_nothing_is_saved(cli, args):
    result = cli("view", "save", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    assert _views(cli) == []


def _add(s, name, **kw):
    return leads.add_lead(s, leads.LeadInput(name=name, **kw), allow_duplicate=True)


def test_a_view_selects_what_the_same_options_of_list_select(cli):
    with store.session(write=True) as s:
        _add(s, "Old web", source="web", created="2020-01-01")
        _add(s, "New web", source="web", owner="ana", tags=["vip"])
        _add(s, "New referral", source="referral", owner="ana")
        lead = _add(s, "Lost web", source="web")
        leads.set_status(s, lead, "disqualified", "no budget")
    cli.ok("view", "save", "mine", "--source", "web", "--since", "30d", "--status", "new")
    expected = json.loads(cli.ok("-f", "json", "list", "--source", "web", "--since", "30d",
                                 "--status", "new").stdout)
    with store.session() as s:
        options = views.resolve(s, "@mine")
        got = leads.list_leads(s, options.lead_filter(), **options.list_kwargs())
    assert [r["name"] for r in got] == [r["name"] for r in expected] == ["New web"]


def test_options_given_with_the_view_override_it(cli):
    cli.ok("view", "save", "web", "--source", "web", "--owner", "ana", "--sort", "name", "--limit", "5")
    with store.session() as s:
        options = views.resolve(s, "@web", views.ViewOptions(owner="ben", limit=0))
        plain = views.resolve(s, "not-a-view", views.ViewOptions(owner="ben"))
    assert options.source == "web" and options.owner == "ben" and options.limit == 0 and options.sort == "name"
    flt = options.lead_filter()
    assert flt.source == "web" and flt.owner == "ben"
    assert plain.source is None and plain.owner == "ben"
    with store.session(write=True) as s:
        views.save(s, "tagged", views.ViewOptions(tag="  expo   2025 "))
        assert views.get(s, "tagged").tag == "expo 2025"


def test_relative_dates_are_read_again_at_each_use(cli, monkeypatch):
    cli.ok("view", "save", "recent", "--since", "7d")
    from leadcli import validate

    with store.session() as s:
        first = views.get(s, "recent").lead_filter().since
        monkeypatch.setattr(validate, "user_date", lambda value, field, end_of_day=False: f"moved:{value}")
        second = views.get(s, "recent").lead_filter().since
    assert first and first.endswith("Z") and second == "moved:7d"


def test_reference_and_names():
    assert views.reference("@Hot-Web") == "hot-web"
    assert views.reference("hot") is None and views.reference("@") is None and views.reference(None) is None
    with pytest.raises(InvalidValue):
        views.reference("@no spaces")


def test_unknown_view_is_not_found(isolated_db):
    with store.session() as s, pytest.raises(NotFound):
        views.resolve(s, "@nope")


def test_bad_options_given_beside_a_view_are_usage_errors(cli):
    cli.ok("view", "save", "web", "--source", "web")
    with store.session() as s, pytest.raises(InvalidValue) as caught:
        views.resolve(s, "@web", views.ViewOptions(since="the day after"))
    assert caught.value.exit_code == 2


def test_view_list_as_a_table(cli, tmp_path):
    cli.ok("view", "save", "web", "--source", "web", "--asc", "--status", "new", "--status", "qualified")
    out = cli.ok("-f", "table", "view", "list").stdout
    assert "web" in out and "--source web" in out and "--status new,qualified" in out and "--asc" in out
    assert "no saved views" in cli.ok("--db", str(tmp_path / "other.db"), "-f", "table", "view", "list").stderr


def test_export_and_report_conversion_take_a_view(cli, isolated_db):
    import json as _json

    for name, source in (("Ana One", "web"), ("Bo Two", "web"), ("Cy Three", "referral")):
        cli.ok("add", name, "--source", source)
    cli.ok("view", "save", "webby", "--source", "web", "--sort", "name", "--desc")
    exported = _json.loads(cli.ok("export", "@webby", "--format", "json").stdout)
    assert [r["name"] for r in exported] == ["Bo Two", "Ana One"]
    rows = _json.loads(cli.ok("report", "conversion", "@webby", "--format", "json").stdout)
    assert sum(r["total"] for r in rows) == 2
    by_owner = _json.loads(cli.ok("report", "conversion", "@webby", "--by", "status", "--format", "json").stdout)
    assert [r["group"] for r in by_owner] == ["new"]
    assert cli("export", "@nope").exit_code == 1
    assert cli("export", "webby").exit_code == 2
