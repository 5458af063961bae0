"""Every report against an independent pandas computation over the same generated leads."""

from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal

import dbshim
import pandas as pd
import pytest
import report_data

from leadcli import reports, store
from leadcli.query import LeadFilter

DATA = report_data.generate(400, seed=11)
STAGES = ["new", "contacted", "qualified", "converted"]


@pytest.fixture
def loaded(isolated_db):
    report_data.write(isolated_db, DATA)
    return isolated_db


@pytest.fixture(scope="module")
def frames():
    leads = pd.DataFrame(DATA["lead"])
    changes = pd.DataFrame(DATA["status_change"])
    changes["seq"] = range(len(changes))  # insertion order = the rows' ids
    changes = changes.rename(columns={"at": "when"})  # `.at` is a pandas indexer
    tags = pd.DataFrame(DATA["lead_tag"])
    return leads, changes, tags


def scope(since=None, until=None, date_field="created", as_of=None, **flt):
    return reports.Scope(filter=LeadFilter(include_archived=True, **flt), since=since, until=until,
                         date_field=date_field, as_of=as_of)


def run(fn, *args, **kw):
    with store.session() as s:
        return fn(s, *args, **kw)


def close(a, b, tol=0.0051):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol


def as_map(rows, key="group", fold=True):
    return {(r[key].casefold() if fold and isinstance(r[key], str) else r[key]): r for r in rows}


def expected_conversion(df: pd.DataFrame, key) -> dict:
    """{group: (total, converted)} with the converted flag in column `conv`."""
    keys = key(df)
    out = {}
    for group, part in df.groupby(keys, dropna=False):
        group = None if pd.isna(group) else group
        out[group] = (len(part), int(part["conv"].sum()))
    return out


def check(rows, expected):
    got = as_map(rows)
    assert set(got) == set(expected), (set(got) ^ set(expected))
    for group, (total, converted) in expected.items():
        row = got[group]
        assert (row["total"], row["converted"]) == (total, converted), group
        assert close(row["rate"], converted * 100 / total if total else None), group


def window(leads, since=None, until=None):
    part = leads
    if since:
        part = part[part.created_at >= since]
    if until:
        part = part[part.created_at <= until]
    return part.assign(conv=part.status == "converted")


def fold(series):
    return series.map(lambda v: v.casefold() if isinstance(v, str) else None)


# ---------------------------------------------------------------- conversion


@pytest.mark.parametrize("by,key", [
    ("source", lambda d: fold(d.source)),
    ("owner", lambda d: fold(d.owner)),
    ("status", lambda d: d.status),
    ("grade", lambda d: fold(d.grade)),
    ("field.Industry", lambda d: fold(d.fields.map(lambda f: json.loads(f).get("Industry")))),
    ("created:day", lambda d: d.created_at.str[:10]),
    ("created:month", lambda d: d.created_at.str[:7]),
    ("created:year", lambda d: d.created_at.str[:4]),
    ("created:quarter", lambda d: d.created_at.str[:4] + "-q"
     + ((d.created_at.str[5:7].astype(int) + 2) // 3).astype(str)),
    ("created:week", lambda d: pd.to_datetime(d.created_at.str[:10]).map(
        lambda t: (t - pd.Timedelta(days=t.weekday())).strftime("%Y-%m-%d"))),
    ("converted:month", lambda d: d.converted_at.str[:7]),
])
def test_conversion_by_matches_pandas(loaded, frames, by, key):
    leads, _, _ = frames
    since, until = "2025-09-01T00:00:00Z", "2026-08-31T23:59:59Z"
    result = run(reports.conversion, scope(since, until), by)
    check(result.rows, expected_conversion(window(leads, since, until), key))
    part = window(leads, since, until)
    assert result.overall["total"] == len(part) and result.overall["converted"] == int(part.conv.sum())


def test_conversion_by_tag_counts_each_tag_and_untagged(loaded, frames):
    leads, _, tags = frames
    part = window(leads).merge(tags, how="left", left_on="id", right_on="lead_id")
    check(run(reports.conversion, scope(), "tag").rows, expected_conversion(part, lambda d: fold(d.tag)))


def test_filters_of_list_narrow_the_report(loaded, frames):
    leads, _, tags = frames
    vip = set(tags[tags.tag == "vip"].lead_id)
    part = window(leads)
    part = part[(fold(part.owner) == "maria") & part.id.isin(vip) & part.status.isin(["converted", "new"])]
    rows = run(reports.conversion, scope(owner="maria", tag="vip", statuses=["converted", "new"]), "source").rows
    check(rows, expected_conversion(part, lambda d: fold(d.source)))


def test_date_field_converted_counts_conversions_made_in_the_window(loaded, frames):
    leads, _, _ = frames
    since, until = "2026-01-01T00:00:00Z", "2026-06-30T23:59:59Z"
    created = leads[(leads.created_at >= since) & (leads.created_at <= until)]
    conv = leads[(leads.status == "converted") & (leads.converted_at >= since) & (leads.converted_at <= until)]
    rows = run(reports.conversion, scope(since, until, date_field="converted"), "source").rows
    got = as_map(rows)
    groups = {None if pd.isna(v) else v for v in pd.concat([fold(created.source), fold(conv.source)])}
    assert set(got) == groups
    for g in groups:
        total = int((fold(created.source) == g).sum()) if g else int(created.source.isna().sum())
        converted = int((fold(conv.source) == g).sum()) if g else int(conv.source.isna().sum())
        assert (got[g]["total"], got[g]["converted"]) == (total, converted)
        assert close(got[g]["rate"], converted * 100 / total if total else None)


def asof_status(leads, changes, moment):
    """Each lead created by `moment` with the status its latest change at or before it gave."""
    past = changes[changes.when <= moment].sort_values(["when", "seq"])
    latest = past.groupby("lead_id").tail(1).set_index("lead_id")
    part = leads[leads.created_at <= moment].copy()
    part["asof_status"] = part.id.map(latest.to_status)
    part["asof_at"] = part.id.map(latest.when)
    return part


@pytest.mark.parametrize("day", ["2025-09-30", "2026-02-14", "2026-11-30"])
def test_as_of_rebuilds_statuses_from_history(loaded, frames, day):
    leads, changes, _ = frames
    moment = f"{day}T23:59:59Z"
    part = asof_status(leads, changes, moment)
    part = part[part.created_at >= f"{day[:4]}-01-01"].assign(conv=lambda d: d.asof_status == "converted")
    sc = reports.default_scope(LeadFilter(), since=None, until=None, as_of=moment)
    check(run(reports.conversion, sc, "source").rows, expected_conversion(part, lambda d: fold(d.source)))
    check(run(reports.conversion, sc, "status").rows, expected_conversion(part, lambda d: d.asof_status))


def test_as_of_by_conversion_month(loaded, frames):
    leads, changes, _ = frames
    moment = "2026-03-31T23:59:59Z"
    part = asof_status(leads, changes, moment).assign(conv=lambda d: d.asof_status == "converted")
    part["month"] = part.asof_at.where(part.conv).str[:7]
    rows = run(reports.conversion, scope(as_of=moment), "converted:month").rows
    check(rows, expected_conversion(part, lambda d: d.month))


def test_measure_value_per_currency_and_converted_with_rates(loaded, frames):
    leads, _, _ = frames
    part = window(leads)
    result = run(reports.conversion, scope(), "source", measure="value")
    assert result.notes and "currencies" in result.notes[0]
    assert result.currencies == sorted(part.currency.dropna().unique())
    # One row per group (a spreadsheet's key), its counts over all its leads, values per currency.
    assert len({(row["group"] or "").casefold() for row in result.rows}) == len(result.rows)
    for row in result.rows:
        sub = part[(fold(part.source) == (row["group"] or "").casefold()) if row["group"] else part.source.isna()]
        assert (row["total"], row["converted"]) == (len(sub), int(sub.conv.sum()))
        for code in result.currencies:
            cur = sub[sub.currency == code]
            assert row[f"total_value_{code}"] == Decimal(int(cur.value_cents.fillna(0).sum())) / 100
            assert row[f"converted_value_{code}"] == Decimal(int(cur[cur.conv].value_cents.fillna(0).sum())) / 100
    assert result.overall["total"] == len(part)
    with store.session(write=True) as s:
        reports.set_rates(s, ["EUR=1.08"], "USD")
    usd = part[part.currency.notna()]  # leads without a currency have no value either
    rows = run(reports.conversion, scope(), "source", measure="value", currency="usd").rows
    factor = usd.currency.map({"USD": 1.0, "EUR": 1.08})
    for row in rows:
        sub = usd[(fold(usd.source) == (row["group"] or "").casefold()) if row["group"] else usd.source.isna()]
        f = factor[sub.index]
        assert row["currency"] == "USD"
        assert close(row["total_value"], (sub.value_cents.fillna(0) * f).sum() / 100, 0.011)
        assert close(row["converted_value"], (sub.value_cents.fillna(0) * f)[sub.conv].sum() / 100, 0.011)


def test_drill_lists_the_leads_behind_a_group(loaded, frames):
    leads, _, _ = frames
    part = window(leads)
    part = part[fold(part.source) == "web"]
    rows = run(reports.drill, scope(), "source", "WEB")
    assert [r["id"] for r in rows] == list(part.sort_values(["created_at", "id"]).id)
    assert sum(r["converted"] for r in rows) == int(part.conv.sum())
    none = run(reports.drill, scope(), "source", "(none)")
    assert len(none) == int(window(leads).source.isna().sum())


# ---------------------------------------------------------------- funnel


def expected_funnel(leads, changes, strict, moment=None):
    hist = changes[changes.lead_id.isin(leads.id)]
    if moment:
        hist = hist[hist.when <= moment]
    counts = [0, 0, 0, 0]
    for lead_id in leads.id:
        rows = hist[hist.lead_id == lead_id].sort_values(["when", "seq"])
        if not strict:
            ranks = [STAGES.index(s) for s in rows.to_status if s in STAGES]
            reach = max(ranks, default=0)
        else:
            reach, last = -1, None
            for i, stage in enumerate(STAGES):
                hits = rows[(rows.to_status == stage) & ((rows.when >= last) if last else True)]
                if hits.empty:
                    break
                reach, last = i, hits.when.min()
        for i in range(reach + 1):
            counts[i] += 1
    return counts


@pytest.mark.parametrize("strict", [False, True])
def test_funnel_matches_pandas(loaded, frames, strict):
    leads, changes, _ = frames
    rows = run(reports.funnel, scope(), strict=strict)
    counts = expected_funnel(leads, changes, strict)
    assert [r["leads"] for r in rows] == counts
    for i, row in enumerate(rows):
        assert close(row["cumulative_rate"], counts[i] * 100 / counts[0] if counts[0] else None)
        if i:
            assert close(row["step_rate"], counts[i] * 100 / counts[i - 1] if counts[i - 1] else None)


def test_funnel_as_of_and_window(loaded, frames):
    leads, changes, _ = frames
    moment = "2026-01-31T23:59:59Z"
    part = leads[(leads.created_at >= "2025-10-01") & (leads.created_at <= moment)]
    rows = run(reports.funnel, scope(since="2025-10-01T00:00:00Z", as_of=moment), strict=True)
    assert [r["leads"] for r in rows] == expected_funnel(part, changes, True, moment)


# ---------------------------------------------------------------- the other reports


def test_time_to_convert_matches_pandas(loaded, frames):
    leads, _, _ = frames
    conv = leads[leads.status == "converted"].copy()
    conv["days"] = (pd.to_datetime(conv.converted_at) - pd.to_datetime(conv.created_at)).dt.total_seconds() / 86400
    conv["g"] = fold(conv.source)
    rows = as_map(run(reports.time_to_convert, scope(), "source"))
    assert set(rows) == {None if pd.isna(v) else v for v in conv.g}
    for g, part in conv.groupby("g", dropna=False):
        row = rows[None if pd.isna(g) else g]
        assert row["converted"] == len(part)
        assert close(row["median_days"], part.days.median())
        assert close(row["mean_days"], part.days.mean())
        assert close(row["p90_days"], part.days.quantile(0.9))
    overall = run(reports.time_to_convert, scope())
    assert len(overall) == 1 and close(overall[0]["p90_days"], conv.days.quantile(0.9))


def test_lost_reasons_matches_pandas(loaded, frames):
    leads, _, _ = frames
    lost = leads[(leads.status == "disqualified") & (leads.created_at >= "2025-12-01")]
    counts = lost.status_reason.map(lambda v: v.casefold() if isinstance(v, str) else None).value_counts(dropna=False)
    rows = as_map(run(reports.lost_reasons, scope(since="2025-12-01T00:00:00Z")), "reason")
    assert {k: r["leads"] for k, r in rows.items()} == {(None if pd.isna(k) else k): v for k, v in counts.items()}
    for row in rows.values():
        assert close(row["share"], row["leads"] * 100 / len(lost))


def test_cost_per_source_matches_pandas(loaded, frames, tmp_path):
    leads, _, _ = frames
    spend = tmp_path / "spend.csv"
    spend.write_text("source,spend,currency\nWeb,1500,USD\nReferral,0,USD\nPodcast,300,USD\n")
    with store.session(write=True) as s:
        reports.set_rates(s, ["EUR=1.08"], "USD")
    part = window(leads, "2025-07-01T00:00:00Z")
    rows = as_map(run(reports.cost, scope(since="2025-07-01T00:00:00Z"), spend), "source")
    for name, amount in (("web", 1500), ("referral", 0), ("podcast", 300)):
        sub = part[fold(part.source) == name]
        conv = sub[sub.conv]
        value = (conv.value_cents.fillna(0) * conv.currency.map({"USD": 1.0, "EUR": 1.08}).fillna(1)).sum() / 100
        row = rows[name]
        assert (row["leads"], row["converted"]) == (len(sub), len(conv))
        assert close(row["converted_value"], value, 0.011)
        assert close(row["cost_per_lead"], amount / len(sub) if len(sub) and amount else (0 if len(sub) else None))
        assert close(row["cost_per_conversion"], amount / len(conv) if len(conv) else None)
        assert close(row["roi"], (value - amount) * 100 / amount if amount else None, 0.02)


def test_traffic_rates_per_visitor_and_session(loaded, frames, tmp_path):
    leads, _, _ = frames
    traffic = tmp_path / "traffic.csv"
    traffic.write_text("period,source,visitors,sessions,spend\n2026-01,Web,1000,1500,200\n"
                       "2026-02,web,0,0,0\n2026-03,Cold Call,400,480,100\n")
    rows = run(reports.traffic, scope(), traffic)
    for row in rows:
        sub = leads[(leads.created_at.str[:7] == row["period"]) & (fold(leads.source) == row["source"].casefold())]
        conv = int((sub.status == "converted").sum())
        assert (row["leads"], row["converted"]) == (len(sub), conv)
        assert close(row["lead_rate"], len(sub) * 100 / row["visitors"] if row["visitors"] else None)
        assert close(row["conversions_per_session"], conv * 100 / row["sessions"] if row["sessions"] else None)
    assert rows[1]["lead_rate"] is None and rows[1]["conversions_per_session"] is None


def test_periods_agree_between_sql_and_python(isolated_db):
    moments = ["2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", "2026-03-31T12:00:00Z", "2026-04-01T00:00:00Z",
               "2024-02-29T08:00:00Z", "2026-11-22T10:00:00Z", "2026-11-23T00:00:00Z"]
    from sqlalchemy import literal, select

    with store.session() as s:
        for moment in moments:
            for period in reports.PERIODS:
                sql = s.connection().execute(select(reports.period_expr(literal(moment), period))).scalar()
                assert sql == reports.period_of(moment, period), (moment, period)
    assert reports.period_of("2026-11-22T10:00:00Z", "week") == "2026-11-16"


def test_pct_is_half_up_and_null_without_denominator():
    assert reports.pct(1, 3) == 33.33 and reports.pct(2, 3) == 66.67 and reports.pct(1, 8) == 12.5
    assert reports.pct(0, 0) is None and reports.pct(5, None) is None
    assert reports.quantile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)


def test_default_window_is_the_calendar_year():
    sc = reports.default_scope(LeadFilter(), since=None, until=None, today=_dt.date(2026, 5, 4))
    assert sc.since == "2026-01-01T00:00:00Z" and sc.filter.include_archived
    assert reports.default_scope(LeadFilter(), since=None, until=None, as_of="2025-03-01T23:59:59Z").since \
        == "2025-01-01T00:00:00Z"
    assert reports.default_scope(LeadFilter(), since=None, until=None, all_time=True).since is None


def test_deals_win_rate_matches_pandas(loaded, frames, isolated_db):
    import random

    leads, _, _ = frames
    rng = random.Random(5)
    rows = []
    for i, lead_id in enumerate(rng.sample(list(leads.id), 150), start=1):
        created = f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}T09:00:00Z"
        status = rng.choice(["open", "won", "won", "lost", "reverted"])
        rows.append((i, f"Deal {i}", rng.choice(["maria", "Maria", "sam", None]), status, int(lead_id), created,
                     created, created if status in ("won", "lost") else None))
    con = dbshim.connect(isolated_db)
    with con:
        con.executemany("INSERT INTO deal (id, title, owner, status, lead_id, created_at, updated_at, closed_at) "
                        "VALUES (?,?,?,?,?,?,?,?)", rows)
    con.close()
    df = pd.DataFrame(rows, columns=["id", "title", "owner", "status", "lead_id", "created_at", "u", "closed_at"])
    df = df[df.created_at >= "2026-03-01"]
    df = df.merge(leads[["id", "source"]].rename(columns={"id": "lead_id"}), on="lead_id")
    for by, key in (("owner", lambda d: fold(d.owner)), ("source", lambda d: fold(d.source)),
                    ("created:quarter", lambda d: d.created_at.str[:4] + "-q"
                     + ((d.created_at.str[5:7].astype(int) + 2) // 3).astype(str))):
        got = as_map(run(reports.deals, scope(since="2026-03-01T00:00:00Z"), by))
        want = {}
        for g, part in df.groupby(key(df), dropna=False):
            won, lost = int((part.status == "won").sum()), int((part.status == "lost").sum())
            want[None if pd.isna(g) else g] = (len(part), won, lost)
        assert {g: (r["deals"], r["won"], r["lost"]) for g, r in got.items()} == want, by
        for g, (_, won, lost) in want.items():
            assert close(got[g]["win_rate"], won * 100 / (won + lost) if won + lost else None)


def test_period_view_by_month_buckets_leads_and_conversions_by_their_own_dates(loaded, frames):
    leads, _, _ = frames
    since, until = "2025-10-01T00:00:00Z", "2026-09-30T23:59:59Z"
    new = leads[(leads.created_at >= since) & (leads.created_at <= until)].created_at.str[:7].value_counts()
    conv = leads[(leads.status == "converted") & (leads.converted_at >= since) & (leads.converted_at <= until)]
    conv = conv.converted_at.str[:7].value_counts()
    rows = run(reports.conversion, scope(since, until, date_field="converted"), "converted:month").rows
    assert {r["group"]: (r["total"], r["converted"]) for r in rows} == {
        m: (int(new.get(m, 0)), int(conv.get(m, 0))) for m in set(new.index) | set(conv.index)}
    same = run(reports.conversion, scope(since, until, date_field="converted"), "created:month").rows
    assert same == rows
