"""leadcli route: rules that give new leads an owner, and owners who are away."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Routing: rules that give new leads an owner; owners away are skipped.",
                  no_args_is_help=True)

Owners = Annotated[list[str] | None, typer.Argument(help="Owner names.", show_default=False)]


@app.command("add")
def add(
    to: Annotated[str, typer.Option("--to", help="An owner, or round-robin:A,B,C or least-open:A,B.",
                                    show_default=False)],
    source: Annotated[str | None, typer.Option("--source", help="Leads from this source (any case).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Leads arriving in this status.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Leads with this tag.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Leads whose e-mail is at this domain.")] = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", help="A custom field KEY=VALUE the lead must have (repeatable).", show_default=False)] = None,
) -> None:
    """Add a routing rule: new leads matching every condition go to --to; prints the rule's id.

    Rules are tried oldest first; the first that matches and has an owner present wins. A lead that
    already has an owner keeps it; one no rule matches gets the --assign strategy of add, import or
    intake, if any.

    \b
    Example:
      leadcli route add --source referral --to ana
      leadcli route add --field Country=PT --to round-robin:rui,ines
      leadcli route add --tag enterprise --to least-open:ana,ben
    """
    from leadcli import output, routing
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        rule = routing.add_rule(s, routing.conditions(source, status, tag, domain, field or []), to)
        rule_id, target = rule.id, rule.target
    output.line(str(rule_id))
    output.message(f"added routing rule #{rule_id} -> {target}")


@app.command("list")
def list_rules() -> None:
    """List the routing rules in the order they are tried.

    \b
    Example:
      leadcli route list
      leadcli route list --format json
    """
    from leadcli import output, routing
    from leadcli.commands._context import current_store

    with current_store().session() as s:
        records = routing.rule_rows(s)
    output.rows(records, ["id", *routing.CONDITION_KEYS, "to"],
                empty="no routing rules; add one with `leadcli route add --source referral --to ana`")


@app.command("delete")
def delete(rule_id: Annotated[int, typer.Argument(help="The rule's id (see route list).", show_default=False)]
           ) -> None:
    """Delete a routing rule.

    \b
    Example:
      leadcli route delete 2
    """
    from leadcli import output, routing
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        routing.delete_rule(s, rule_id)
    output.message(f"deleted routing rule #{rule_id}")


@app.command("away")
def away(
    owners: Owners = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (holiday, leave...).")] = None,
) -> None:
    """Mark owners away: routing skips them until `route back`. Without names, list who is away.

    \b
    Example:
      leadcli route away ana --note "holiday until 12 May"
      leadcli route away
    """
    from leadcli import output, routing
    from leadcli.commands._context import current_store

    with current_store().session(write=bool(owners)) as s:
        changed = [o for o in owners or [] if routing.set_away(s, o, True, note)]
        records = [] if owners else routing.away_rows(s)
    if not owners:
        output.rows(records, ["owner", "since", "note"], empty="nobody is away")
        return
    for owner in owners or []:
        output.message(f"{owner} is away" + ("" if owner in changed else " (already)"))


@app.command("back")
def back(owners: Owners = None) -> None:
    """Mark owners back: routing gives them leads again.

    \b
    Example:
      leadcli route back ana
    """
    from leadcli import output, routing
    from leadcli.commands._context import current_store
    from leadcli.errors import UsageError

    if not owners:
        raise UsageError("name the owners who are back", hint="e.g. `leadcli route back ana`")
    with current_store().session(write=True) as s:
        changed = [o for o in owners if routing.set_away(s, o, False)]
    for owner in owners:
        output.message(f"{owner} is back" + ("" if owner in changed else " (was not away)"))
