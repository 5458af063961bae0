"""How `leadcli report` shows its rows: columns, bars, captions. Rows come from `leadcli.reports`."""

from __future__ import annotations

from typing import Any

from leadcli import output
from leadcli.commands import _report_period
from leadcli.output import Column

NONE = "(none)"


def _pct(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}%"


def _group(value: Any) -> str:
    return NONE if value is None else str(value)


def _window(scope) -> str:
    parts = []
    if scope.as_of:
        parts.append(f"as of {scope.as_of[:10]}")
    field = "created or converted" if scope.date_field == "converted" else "created"
    if scope.since and scope.until:
        parts.append(f"{field} {scope.since[:10]} to {scope.until[:10]}")
    elif scope.since:
        parts.append(f"{field} since {scope.since[:10]}")
    elif scope.until:
        parts.append(f"{field} until {scope.until[:10]}")
    else:
        parts.append("all time")
    return ", ".join(parts)


def conversion(result, scope) -> None:
    if scope.date_field == "converted":
        _report_period.conversion(result, _window(scope), _group)
        return
    overall = result.overall
    value = result.measure == "value"
    columns = [Column("group", header=result.by.spec, fmt=_group, max_width=30, fixed=True),
               Column("total", header="leads", justify="right"),
               Column("converted", justify="right", drop=4 if value else 0),
               Column("rate", justify="right", fmt=_pct)]
    bar_key = "rate"
    if value and result.currencies:
        for code in result.currencies:
            columns += [Column(f"total_value_{code}", header=f"value {code}", justify="right", drop=3),
                        Column(f"converted_value_{code}", header=f"converted {code}", justify="right", drop=2),
                        Column(f"value_rate_{code}", header=f"rate {code}", justify="right", fmt=_pct)]
        bar_key = f"value_rate_{result.currencies[0]}"
    elif value:
        columns += [Column("currency", header="", fixed=True, drop=1), Column("total_value", justify="right", drop=3),
                    Column("converted_value", justify="right", drop=2),
                    Column("value_rate", header="value rate", justify="right", fmt=_pct)]
        bar_key = "value_rate"
    caption = (f"all: {overall['total']:,} leads, {overall['converted']:,} converted, "
               f"{_pct(overall['rate']) or 'no rate'}")
    if bar_key != "rate":
        caption += f"; bars: {'value rate' if bar_key == 'value_rate' else 'rate ' + bar_key[11:]}"
    output.bars(result.rows, columns, value_key=bar_key,
                title=f"Conversion by {result.by.spec} ({_window(scope)})",
                caption=caption, empty="no leads in this window (try --all-time or --since)")


def scorecard(row: dict, scope) -> None:
    if scope.date_field == "converted":
        _report_period.scorecard(row, scope, _window(scope))
        return
    detail = f"{row['converted']:,} of {row['total']:,} leads converted ({_window(scope)})"
    output.scorecard({**row, "since": scope.since, "until": scope.until, "as_of": scope.as_of},
                     value=_pct(row["rate"]) or "-", label="Conversion rate", detail=detail)


def drill(rows: list[dict], group: str) -> None:
    table = [Column("id", justify="right"), Column("converted", header="✓", fixed=True,
                                                   fmt=lambda v: "✓" if v else ""),
             Column("name", max_width=28), Column("company", max_width=24, drop=2),
             Column("source", max_width=16, drop=3), Column("owner", max_width=14, drop=4),
             Column("status", fixed=True), Column("value", justify="right"), Column("currency", header="", fixed=True),
             Column("created_at", header="created", fixed=True, fmt=lambda v: (v or "")[:10]),
             Column("converted_at", header="converted", fixed=True, drop=1, fmt=lambda v: (v or "")[:10])]
    converted = sum(1 for r in rows if r["converted"])
    output.rows(rows, list(rows[0].keys()), table_columns=table, title=f"Leads in {group}",
                caption=f"{len(rows):,} lead(s), {converted:,} converted")


def funnel(rows: list[dict], strict: bool) -> None:
    columns = [Column("stage"), Column("leads", justify="right"), Column("step_rate", header="step", justify="right",
                                                                          fmt=_pct),
               Column("cumulative_rate", header="of all", justify="right", fmt=_pct),
               Column("dropped", justify="right")]
    output.bars(rows, columns, value_key="leads", title="Funnel" + (" (strict order)" if strict else ""))


def time_to_convert(rows: list[dict], by: str | None) -> None:
    columns = [Column("group", header=by or "", fmt=_group, max_width=30, fixed=True),
               Column("converted", justify="right"),
               Column("median_days", header="median d", justify="right"),
               Column("mean_days", header="mean d", justify="right"),
               Column("p90_days", header="p90 d", justify="right"),
               Column("min_days", header="min d", justify="right", drop=2),
               Column("max_days", header="max d", justify="right", drop=1)]
    output.bars(rows, columns, value_key="median_days", title="Days from creation to conversion",
                empty="no converted leads in this window")


def lost_reasons(rows: list[dict]) -> None:
    columns = [Column("reason", fmt=_group, max_width=40), Column("leads", justify="right"),
               Column("share", justify="right", fmt=_pct)]
    total = sum(r["leads"] for r in rows)
    output.bars(rows, columns, value_key="share", title="Why leads were disqualified",
                caption=f"{total:,} disqualified lead(s)", empty="no disqualified leads in this window")


_COST_COLUMNS = {  # key: (header, drop: on a narrow terminal the highest goes first; 0 = always shown)
    "currency": ("cur", 5), "roi": ("roi %", 0), "converted_value": ("conv. value", 4), "converted": ("converted", 3),
    "spend": ("spend", 2), "cost_per_conversion": ("per conversion", 1), "cost_per_lead": ("per lead", 0)}


def cost(rows: list[dict]) -> None:
    keys = list(rows[0].keys()) if rows else ["source", "spend"]
    columns = [Column(k, header=_COST_COLUMNS.get(k, (None, 0))[0], drop=_COST_COLUMNS.get(k, (None, 0))[1],
                      justify="left" if k in ("period", "currency", keys[0]) else "right",
                      fixed=True if k == "currency" else None, fmt=_pct if k == "roi" else None) for k in keys]
    output.rows(rows, columns, title="Cost per lead and per conversion", empty="the spend file has no rows",
                caption="per lead / per conversion: spend ÷ leads / ÷ conversions" if rows else None)


def traffic(rows: list[dict]) -> None:
    keys = ["period", "source", "visitors", "sessions", "spend", "leads", "converted", "lead_rate",
            "conversions_per_session", "cost_per_lead"]
    columns = [Column(k, justify="left" if k in ("period", "source") else "right",
                      fmt=_pct if k in ("lead_rate", "conversions_per_session") else None,
                      header={"lead_rate": "leads/visitor", "conversions_per_session": "conv/session"}.get(k))
               for k in keys]
    output.rows(rows, columns, title="Leads per visitor and conversions per session",
                empty="the traffic file has no rows")


def deals(rows: list[dict], by: str | None) -> None:
    columns = [Column("group", header=by or "", fmt=_group, max_width=30, fixed=True),
               Column("deals", justify="right"), Column("open", justify="right"), Column("won", justify="right"),
               Column("lost", justify="right"), Column("win_rate", header="won/closed", justify="right", fmt=_pct)]
    output.bars(rows, columns, value_key="win_rate", title="Deal conversion (won × 100 / (won + lost))",
                empty="no deals in this window")
