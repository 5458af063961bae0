"""leadcli deals: list, show, win, lose, reopen, and turn a deal back into a lead."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

app = typer.Typer(help="Deals created by `convert`: list, show, won, lost, reopen, to-lead.", no_args_is_help=True)

LOST_REASONS = ("price", "competitor", "no budget", "no decision", "bad timing", "went silent", "other")


class DealStatusName(str, Enum):
    open = "open"
    won = "won"
    lost = "lost"
    reverted = "reverted"


def _complete_lost(incomplete: str) -> list[str]:
    return [r for r in LOST_REASONS if r.startswith(incomplete.lower())]


DealId = Annotated[int, typer.Argument(help="The deal's id.", show_default=False)]


@app.command("list")
def list_deals(
    status: Annotated[list[DealStatusName] | None, typer.Option(
        "--status", help="Only deals in this status (repeat for several).", show_default=False)] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only deals of this owner.")] = None,
    lead: Annotated[int | None, typer.Option("--lead", help="Only deals made from this lead.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most N deals.")] = None,
) -> None:
    """List deals, newest first.

    \b
    Example:
      leadcli deals list
      leadcli deals list --status open --owner maria
      leadcli deals list --status won --format csv > won.csv
    """
    from leadcli import deal_records
    from leadcli.commands._context import current_store
    from leadcli.commands._deal_render import render_deals

    with current_store().session() as s:
        records = deal_records.list_deals(s, statuses=[st.value for st in status or []], owner=owner, lead_id=lead,
                                        limit=limit)
    render_deals(records)


@app.command("show")
def show(deal_id: DealId) -> None:
    """Show one deal: value, status, and the lead, contact and company it belongs to.

    \b
    Example:
      leadcli deals show 7
    """
    from leadcli import deal_records
    from leadcli.commands._context import current_store
    from leadcli.commands._deal_render import render_deal

    with current_store().session() as s:
        record = deal_records.deal_record(s, deal_id)
    render_deal(record)


@app.command("won")
def won(deal_id: DealId) -> None:
    """Mark an open deal as won.

    \b
    Example:
      leadcli deals won 7
    """
    _close(deal_id, "won")


@app.command("lost")
def lost(
    deal_id: DealId,
    reason: Annotated[str, typer.Option(
        "--reason", "-r", autocompletion=_complete_lost, show_default=False,
        help=f"Why it was lost (required): free text, or one of: {', '.join(LOST_REASONS)}.")],
) -> None:
    """Mark an open deal as lost, with a reason.

    \b
    Example:
      leadcli deals lost 7 --reason price
    """
    _close(deal_id, "lost", reason)


@app.command("reopen")
def reopen(deal_id: DealId) -> None:
    """Reopen a won or lost deal (a mistake, or the customer came back).

    \b
    Example:
      leadcli deals reopen 7
    """
    _close(deal_id, "open")


@app.command("to-lead")
def to_lead(
    deal_id: DealId,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why, for the lead's history.")] = None,
) -> None:
    """Turn a deal back into an open lead: the lead it came from reopens at the stage it had before
    converting, with the change in its history; the deal is kept, marked `reverted`. Its contact and
    company stay and are reused if the lead converts again.

    \b
    Example:
      leadcli deals to-lead 7
      leadcli deals to-lead 7 --reason "not ready to buy yet"
    """
    from leadcli import deal_records, output
    from leadcli.commands import _events
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        lead = deal_records.deal_to_lead(s, deal_records.get_deal(s, deal_id), reason)
        lead_id, label, stage = lead.key, lead.display_name, lead.status
    output.message(f"deal #{deal_id} is now lead #{lead_id} {label} again ({stage})")
    _events.status_changed([(lead_id, label, "converted", stage, reason)], "deals to-lead")


def _close(deal_id: int, to: str, reason: str | None = None) -> None:
    from leadcli import deal_records, output
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        deal = deal_records.get_deal(s, deal_id)
        if to == "won":
            deal_records.win_deal(s, deal)
        elif to == "lost":
            deal_records.lose_deal(s, deal, reason)
        else:
            deal_records.reopen_deal(s, deal)
        title = deal.title
    verb = {"won": "won", "lost": f"lost ({reason.strip() if reason else ''})", "open": "reopened"}[to]
    output.message(f"deal #{deal_id} {title}: {verb}")
