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
