"""leadcli edit."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands import add as add_cmd
from leadcli.commands._options import StatusName

IdArg = Annotated[int, typer.Argument(help="The lead's id.", show_default=False)]
StatusOpt = Annotated[StatusName | None, typer.Option("--status", help="Move the lead to this status.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why the status changed (needed to disqualify).")]
RemoveTag = Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag (repeatable).",
                                                        show_default=False)]
AddTag = Annotated[list[str] | None, typer.Option("--tag", help="Add a tag (repeatable).", show_default=False)]
FirstName = Annotated[str | None, typer.Option("--first-name", help="Change the first name only.")]
LastName = Annotated[str | None, typer.Option("--last-name", help="Change the last name only.")]
AllowDuplicate = Annotated[bool, typer.Option(
    "--allow-duplicate", help="Save even if another lead has the new e-mail or phone.")]


def edit(
    lead_id: IdArg,
    name: Annotated[str | None, typer.Option("--name", help="Change the full name (first and last follow).")] = None,
    email: add_cmd.Email = None,
    phone: add_cmd.Phone = None,
    company: add_cmd.Company = None,
    title: add_cmd.Title = None,
    source: add_cmd.Source = None,
    owner: add_cmd.Owner = None,
    value: add_cmd.Value = None,
    currency: add_cmd.Currency = None,
    tag: AddTag = None,
    remove_tag: RemoveTag = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", help="Set a custom field KEY=VALUE; KEY= removes it (repeatable).", show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="Append a dated note.")] = None,
    first_name: FirstName = None,
    last_name: LastName = None,
    external_id: add_cmd.ExternalId = None,
    status: StatusOpt = None,
    reason: ReasonOpt = None,
    allow_duplicate: AllowDuplicate = False,
) -> None:
    """Change a lead's fields, tags, custom fields or status.

    Only the options given change; the rest of the lead stays as it is. A value given is checked
    as `add` checks it (e-mail, phone, amount, currency).

    \b
    Example:
      leadcli edit 42 --phone "+44 20 7946 0958" --tag vip --field "Industry=Retail"
      leadcli edit 42 --status qualified
      leadcli edit 42 --field Industry=        (removes the custom field)
    """
    from leadcli import leads, output
    from leadcli.commands._context import current_store

    data = leads.LeadInput(
        name=name, first_name=first_name, last_name=last_name, email=email, phone=phone, company=company,
        title=title, source=source, owner=owner, value=value, currency=currency, external_id=external_id,
        notes=note, tags=list(tag or []), fields=list(field or []),
    )
    with current_store().session(write=True) as s:
        lead = leads.get_lead(s, lead_id)
        before = lead.status
        leads.edit_lead(s, lead, data, remove_tags=list(remove_tag or []), allow_duplicate=allow_duplicate,
                        status=status.value if status else None, reason=reason)
        label, after = lead.display_name, lead.status
    output.message(f"updated lead #{lead_id} {label}")
    from leadcli.commands import _events

    _events.status_changed([(lead_id, label, before, after, reason)], "edit")
