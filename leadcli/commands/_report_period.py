"""`report conversion --date-field converted`: leads created in a window beside conversions made in it.

Those are two different sets of leads (a conversion in March may come from a lead created in
January), so their ratio is shown as conversions per lead created, never as a rate.
"""

from __future__ import annotations

from leadcli import output
from leadcli.output import Column


def conversion(result, window: str, group_fmt) -> None:
    """`--date-field converted`: leads created in the window and conversions made in it, whenever
    those leads were created. Their ratio is conversions per lead created, not a rate (it can pass 1),
    so `rate` is left empty and `per_lead_created` carries it.
    """
    rows = []
    for row in result.rows:
        ratio = round(row["converted"] / row["total"], 2) if row["total"] else None
        rows.append({"group": row["group"], "total": row["total"], "converted": row["converted"],
                     "rate": None, "per_lead_created": ratio})
    overall = result.overall
    ratio = f"{overall['converted'] / overall['total']:.2f}" if overall["total"] else "-"
    columns = [Column("group", header=result.by.spec, fmt=group_fmt, max_width=30, fixed=True),
               Column("total", header="created", justify="right"),
               Column("converted", header="conversions", justify="right"),
               Column("per_lead_created", header="per lead created", justify="right",
                      fmt=lambda v: "" if v is None else f"{v:,.2f}")]
    output.bars(rows, columns, value_key="per_lead_created",
                title=f"Conversions per lead created by {result.by.spec} ({window})",
                caption=f"all: {overall['total']:,} created, {overall['converted']:,} conversions, "
                        f"{ratio} per lead created (not a rate: conversions may come from earlier leads)",
                empty="no leads in this window (try --all-time or --since)")


def scorecard(row: dict, scope, window: str) -> None:
    """The overall figure of `--date-field converted`: conversions per lead created."""
    ratio = round(row["converted"] / row["total"], 2) if row["total"] else None
    output.scorecard({**row, "rate": None, "per_lead_created": ratio, "since": scope.since,
                      "until": scope.until, "as_of": scope.as_of},
                     value="-" if ratio is None else f"{ratio:.2f}", label="Conversions per lead created",
                     detail=f"{row['converted']:,} conversions, {row['total']:,} leads created "
                            f"({window})")
