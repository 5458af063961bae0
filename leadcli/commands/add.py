"""leadcli add."""

from __future__ import annotations

from typing import Annotated

import typer

NameArg = Annotated[str | None, typer.Argument(help="The lead's full name.", show_default=False)]
Email = Annotated[str | None, typer.Option("--email", help="E-mail address (domain stored lower-case).")]
Phone = Annotated[str | None, typer.Option("--phone", help="Phone; stored as E.164 when it parses "
                                                            "(set LEADCLI_REGION for numbers without +).")]
Company = Annotated[str | None, typer.Option("--company", help="Company name.")]
Title = Annotated[str | None, typer.Option("--title", help="Job title.")]
Source = Annotated[str | None, typer.Option("--source", help="Where the lead came from (web, referral...).")]
Owner = Annotated[str | None, typer.Option("--owner", help="The salesperson who owns the lead.")]
Value = Annotated[str | None, typer.Option("--value", help="Expected deal value, e.g. 1500 or 1,500.50.")]
Currency = Annotated[str | None, typer.Option("--currency", help="ISO 4217 code of the value, e.g. EUR.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat for several).",
                                                   show_default=False)]
Fields = Annotated[list[str] | None, typer.Option("--field", help="A custom field KEY=VALUE (repeatable).",
                                                     show_default=False)]
Note = Annotated[str | None, typer.Option("--note", help="A note about the lead.")]
FirstName = Annotated[str | None, typer.Option("--first-name", help="First name (default: from NAME).")]
LastName = Annotated[str | None, typer.Option("--last-name", help="Last name (default: from NAME).")]
ExternalId = Annotated[str | None, typer.Option("--external-id", help="The lead's id in another system.")]
Created = Annotated[str | None, typer.Option(
    "--created", metavar="DATE", help="When the lead came in: YYYY-MM-DD, an ISO time, yesterday, 3d... "
                                      "(default: now; not in the future without --allow-future).")]
AllowFuture = Annotated[bool, typer.Option("--allow-future", help="Accept a --created date in the future.")]
Assign = Annotated[str | None, typer.Option(
    "--assign", help="Owner when no --owner and no routing rule: round-robin:A,B or least-open:A,B.")]
AllowDuplicate = Annotated[bool, typer.Option("--allow-duplicate",
                                              help="Add even if a lead has the same e-mail or phone.")]


def add(
    name: NameArg = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    source: Source = None,
    owner: Owner = None,
    value: Value = None,
    currency: Currency = None,
    tag: Tags = None,
    field: Fields = None,
    note: Note = None,
    first_name: FirstName = None,
    last_name: LastName = None,
    external_id: ExternalId = None,
    created: Created = None,
    allow_duplicate: AllowDuplicate = False,
    assign: Assign = None,
    allow_future: AllowFuture = False,
) -> None:
    """Add a lead and print its id.

    \b
    Example:
      leadcli add "Ana Silva" --email ana@acme.io --company Acme --source referral --value 5000 --currency EUR
      id=$(leadcli -q add "Bo Chen" --phone "+1 415 555 0100")
    """
    from leadcli import arrivals, leads, output, scoring
    from leadcli.commands import _events
    from leadcli.commands._context import current_store

    if created is not None and not allow_future:
        _refuse_future(created)
    data = leads.LeadInput(
        name=name, first_name=first_name, last_name=last_name, email=email, phone=phone, company=company,
        title=title, source=source, owner=owner, value=value, currency=currency, external_id=external_id,
        notes=note, created=created, tags=list(tag or []), fields=list(field or []),
    )
    with current_store().session(write=True) as s:
        lead = leads.add_lead(s, data, allow_duplicate=allow_duplicate)
        record = leads.lead_dict(lead, sorted(set(data.tags)))
        arrivals.route(s, [record], assign)
        unscored = scoring.model_problem(s)
    if unscored:
        output.warn(f"{unscored}; the lead is left unscored")
    if output.current_format() in ("json", "jsonl"):
        output.card(record, title="", fields=[])
    else:
        output.line(str(record["id"]))
    output.message(f"added lead #{record['id']} {lead.display_name}"
                   + (f" for {record['owner']}" if record.get("owner") and not owner else ""))
    _events.lead_created(record, "add")


def _refuse_future(created: str) -> None:
    """A creation date after now is almost always a typo (2062 for 2026): refuse it unless asked."""
    from leadcli import validate, when
    from leadcli.errors import InvalidValue

    moment = validate.user_date(created, "created")
    if moment > when.now_iso():
        raise InvalidValue("created", f"{created!r} is in the future ({moment[:10]})",
                           hint="check the date, or pass --allow-future to keep it")
