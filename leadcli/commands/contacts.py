"""leadcli contacts list / companies list: the people and companies leads became."""

from __future__ import annotations

from typing import Annotated

import typer

contacts_app = typer.Typer(help="Contacts: the people converted leads became.", no_args_is_help=True)
companies_app = typer.Typer(help="Companies: the organisations converted leads became.", no_args_is_help=True)

SearchOpt = Annotated[str | None, typer.Option("--search", help="Text found in the name, e-mail, phone or domain.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most N rows.")]


@contacts_app.command("list")
def list_contacts(
    search: SearchOpt = None,
    company: Annotated[int | None, typer.Option("--company", help="Only contacts of this company id.")] = None,
    limit: LimitOpt = None,
) -> None:
    """List contacts, newest first, with how many leads and deals each has.

    \b
    Example:
      leadcli contacts list
      leadcli contacts list --search acme.io --format json
    """
    from leadcli import contacts, output
    from leadcli.commands._context import current_store
    from leadcli.output import Column

    with current_store().session() as s:
        records = contacts.list_contacts(s, search=search, company_id=company, limit=limit)
    table = [Column("id", justify="right"), Column("name", max_width=28), Column("email", max_width=30, drop=2),
             Column("phone", max_width=16, drop=3), Column("company", max_width=24, drop=1),
             Column("leads", justify="right"), Column("deals", justify="right"),
             Column("created_at", header="created", fixed=True, drop=4, fmt=lambda v: (v or "")[:10])]
    keys = ["id", "name", "email", "phone", "title", "company_id", "company", "owner", "leads", "deals", "lead_id",
            "created_at"]
    output.rows(records, keys, table_columns=table, empty="no contacts yet: `leadcli convert ID` makes them")


@companies_app.command("list")
def list_companies(search: SearchOpt = None, limit: LimitOpt = None) -> None:
    """List companies, newest first, with their contacts and open and won deals.

    \b
    Example:
      leadcli companies list
      leadcli companies list --search acme
    """
    from leadcli import contacts, output
    from leadcli.commands._context import current_store
    from leadcli.output import Column

    with current_store().session() as s:
        records = contacts.list_companies(s, search=search, limit=limit)
    table = [Column("id", justify="right"), Column("name", max_width=32), Column("domain", max_width=28, drop=1),
             Column("owner", max_width=14, drop=2), Column("contacts", justify="right"),
             Column("open_deals", header="open", justify="right"), Column("won_deals", header="won", justify="right"),
             Column("created_at", header="created", fixed=True, drop=3, fmt=lambda v: (v or "")[:10])]
    keys = ["id", "name", "domain", "owner", "contacts", "open_deals", "won_deals", "lead_id", "created_at"]
    output.rows(records, keys, table_columns=table, empty="no companies yet: `leadcli convert ID` makes them")
