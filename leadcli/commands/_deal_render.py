"""How deals are shown: the list's table columns, a deal's card, amounts of money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadcli import output
from leadcli.output import Column


def money_text(value: Decimal | None, currency: str | None) -> str | None:
    """`1,234.50 EUR` for an amount of money (None stays None)."""
    if value is None:
        return None
    return f"{Decimal(value):,.2f} {currency or ''}".strip()


def render_deals(records: list[dict[str, Any]]) -> None:
    from leadcli.deal_records import DEAL_KEYS

    table = [Column("id", justify="right"), Column("title", max_width=32), Column("status", fixed=True),
             Column("value", justify="right"), Column("currency", header="", fixed=True),
             Column("owner", max_width=14, drop=3), Column("company", max_width=24, drop=2),
             Column("contact", max_width=24, drop=1), Column("lead_id", header="lead", justify="right"),
             Column("closed_at", header="closed", fixed=True, drop=4, fmt=lambda v: (v or "")[:10])]
    output.rows(records, list(DEAL_KEYS), table_columns=table, empty="no deals")


def render_deal(record: dict[str, Any]) -> None:
    value = money_text(record["value"], record["currency"])
    output.card(record, title=f"Deal #{record['id']}: {record['title']}", fields=[
        ("id", record["id"]), ("title", record["title"]), ("status", record["status"]), ("value", value),
        ("owner", record["owner"]),
        ("lead", f"#{record['lead_id']}" if record["lead_id"] else None),
        ("contact", f"#{record['contact_id']} {record['contact'] or ''}".strip() if record["contact_id"] else None),
        ("company", f"#{record['company_id']} {record['company'] or ''}".strip() if record["company_id"] else None),
        ("lost reason", record["lost_reason"]), ("created", record["created_at"]),
        ("updated", record["updated_at"]), ("closed", record["closed_at"]),
    ])


def summarise_conversions(results, dry_run: bool) -> None:
    """The closing line, and the error (exit 1) when any lead failed."""
    from leadcli import output
    from leadcli.errors import LeadcliError

    failed = [r for r in results if r.outcome == "error"]
    unchanged = [r for r in results if r.outcome == "unchanged"]
    done = len(results) - len(failed) - len(unchanged)
    left = f"; {len(unchanged)} already converted, left as they were" if unchanged else ""
    if dry_run:
        output.message(f"dry run: {done} lead(s) would convert, {len(failed)} would fail{left}; nothing was written")
    elif len(results) > 1 or not failed:
        output.message(f"converted {done} lead(s)" + (f"; {len(failed)} failed" if failed else "") + left)
    if failed:
        first = failed[0]
        if len(results) == 1:
            raise LeadcliError(first.reason or "conversion failed", hint=first.hint)
        raise LeadcliError(f"{len(failed)} of {len(results)} lead(s) could not be converted"
                           + ("" if dry_run else "; the others were"),
                           hint=first.hint or "see the reason column")


def render_conversions(results, dry_run: bool) -> None:
    from leadcli import output
    from leadcli.output import Column

    def record(kind: str):
        def fmt(r) -> str:
            action, rec_id = getattr(r, kind), getattr(r, f"{kind}_id")
            if action in ("none", "skipped"):
                return "-"
            if rec_id is None:
                return "new" if action == "created" else f"{action} (new)"
            return f"#{rec_id} {action}" if action != "created" else f"#{rec_id} new"
        return fmt

    rows = [{**r.as_dict(), "_contact": record("contact")(r), "_company": record("company")(r),
             "_deal": record("deal")(r)} for r in results]
    columns = ["lead_id", "lead", "contact_id", "contact", "company_id", "company", "deal_id", "deal", "outcome",
               "reason"]
    table = [Column("lead_id", header="lead", justify="right"), Column("lead", header="name", max_width=24),
             Column("_contact", header="contact", fixed=True), Column("_company", header="company", fixed=True),
             Column("_deal", header="deal", fixed=True), Column("outcome", fixed=True),
             Column("reason", max_width=60, wrap=True)]
    clean = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    if output.current_format() == "table":
        output.rows(rows, columns, table_columns=table, title="Dry run: nothing written" if dry_run else None,
                    empty="no leads to convert")
    else:
        output.rows(clean, columns, empty="no leads to convert")
