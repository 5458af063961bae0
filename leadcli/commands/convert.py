"""leadcli convert: turn leads into a contact, a company and a deal, reusing what exists."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._options import (
    ArchivedOpt,
    GradeOpt,
    Ids,
    OwnerOpt,
    SearchOpt,
    SinceOpt,
    SourceOpt,
    StatusOpt,
    TagOpt,
    UntilOpt,
    YesOpt,
    lead_filter,
)

NoContact = Annotated[bool, typer.Option("--no-contact", help="Do not create or link a contact.")]
NoCompany = Annotated[bool, typer.Option("--no-company", help="Do not create or link a company.")]
NoDeal = Annotated[bool, typer.Option("--no-deal", help="Do not create a deal.")]
DealTitle = Annotated[str | None, typer.Option("--deal-title", help="The deal's title (default: company - name).")]
DealValue = Annotated[str | None, typer.Option("--deal-value", help="The deal's value (default: the lead's).")]
DealCurrency = Annotated[str | None, typer.Option("--deal-currency",
                                                     help="The deal value's currency (default: the lead's).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be created or reused; write nothing.")]


def convert(
    ids: Ids = None,
    no_contact: NoContact = False,
    no_company: NoCompany = False,
    no_deal: NoDeal = False,
    deal_title: DealTitle = None,
    deal_value: DealValue = None,
    deal_currency: DealCurrency = None,
    dry_run: DryRun = False,
    status: StatusOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    grade: GradeOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    archived: ArchivedOpt = False,
    yes: YesOpt = False,
) -> None:
    """Convert leads into a contact, a company and an open deal (any combination), by id or by filters.

    An existing company is reused when its name matches (ignoring case, punctuation and Inc/Ltd/GmbH...)
    or when the lead's e-mail is at the company's domain (never gmail.com and other free-mail domains);
    an existing contact is reused when the e-mail or phone matches. Reused records only get their empty
    fields filled. The deal takes the lead's value, currency and owner. Each lead converts on its own:
    one that fails is reported (exit 1) and the others stay converted.

    \b
    Example:
      leadcli convert 12
      leadcli convert 12 --no-deal
      leadcli convert 12 --deal-title "Acme rollout" --deal-value 12000
      leadcli convert --status qualified --source referral --dry-run
      leadcli convert --status qualified --yes
    """
    from leadcli import deals, validate
    from leadcli.commands._context import current_store
    from leadcli.errors import UsageError

    options = deals.ConvertOptions(
        contact=not no_contact, company=not no_company, deal=not no_deal,
        deal_title=validate.clean_text(deal_title),
        deal_value_cents=validate.money(deal_value, "deal-value") if deal_value is not None else None,
        deal_currency=validate.currency(deal_currency, "deal-currency"), dry_run=dry_run)
    if no_deal and (deal_title or deal_value or deal_currency):
        raise UsageError("--deal-title, --deal-value and --deal-currency need a deal", hint="drop --no-deal")
    flt = lead_filter(status, source, owner, tag, grade, search, since, until, archived)
    ids = list(ids or [])
    if not ids:
        _confirm_filtered(flt, dry_run, yes)
    with current_store().session(write=not dry_run) as s:
        results = deals.convert(s, ids, flt, options)
    from leadcli.commands._deal_render import render_conversions, summarise_conversions

    render_conversions(results, dry_run)
    from leadcli.commands import _events

    _events.conversions(results, dry_run)
    summarise_conversions(results, dry_run)


def _confirm_filtered(flt, dry_run: bool, yes: bool) -> None:
    """Converting by filters asks first (or needs --yes), as every bulk command does."""
    from leadcli import deals
    from leadcli.commands._context import current_store
    from leadcli.commands._options import confirm_bulk
    from leadcli.errors import UsageError

    if flt.is_empty():
        raise UsageError("convert needs lead ids or filters",
                         hint="e.g. `leadcli convert 12` or `leadcli convert --status qualified --yes`")
    if not dry_run:
        with current_store().session() as s:
            count = deals.count_targets(s, flt)
        if count:
            confirm_bulk("Convert", count, yes)
