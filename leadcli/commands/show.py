"""leadcli show."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._lead_extras import lead_extras

IdArg = Annotated[int, typer.Argument(help="The lead's id.", show_default=False)]


def show(lead_id: IdArg) -> None:
    """Show one lead as a card: its fields, custom fields, tags and status history.

    On a terminal the history is part of a timeline with the lead's activities, newest first.

    \b
    Example:
      leadcli show 42
      leadcli show 42 --format json      (also: leadcli --format json show 42)
    """
    from leadcli import leads
    from leadcli.commands._context import current_store

    with current_store().session() as s:
        lead = leads.get_lead(s, lead_id)
        record = leads.lead_dict(lead, leads.tags_for(s, [lead.key]).get(lead.key))
        record["history"] = leads.history(s, lead.key)
        extras = lead_extras(s, lead)
    record.update(extras.data)
    render(record, lead.display_name, extras)


def render(record: dict, display_name: str, extras) -> None:
    from leadcli import output
    from leadcli.output import Section

    value = record["value"]
    status = record["status"] + (f" ({record['status_reason']})" if record.get("status_reason") else "")
    score = None
    if record.get("score") is not None:
        score = f"{record['score']} · grade {record['grade']} · {record['trend'] or 'not enough info'}"
    fields = [
        ("id", record["id"]), ("first name", record["first_name"]), ("last name", record["last_name"]),
        ("e-mail", record["email"]), ("phone", record["phone"]), ("company", record["company"]),
        ("title", record["title"]), ("source", record["source"]), ("owner", record["owner"]),
        ("value", None if value is None else f"{value:,.2f} {record['currency'] or ''}".strip()),
        ("status", status), ("score", score), ("tags", record["tags"]),
        ("external id", record["external_id"]), ("created", record["created_at"]), ("added by", record["created_by"]),
        ("updated", record["updated_at"]), ("converted", record["converted_at"]),
        ("archived", record["archived_at"]), ("notes", record["notes"]),
        *extras.fields,
    ]
    custom = [{"field": k, "value": v} for k, v in (record["fields"] or {}).items()]
    history = [{"at": h["at"], "from": h["from"] or "", "to": h["to"], "reason": h["reason"] or ""}
               for h in record["history"]]
    output.card(
        record,
        title=f"Lead #{record['id']}: {display_name}",
        fields=fields,
        # The timeline (activities and status changes, newest first) holds the history on a terminal;
        # csv and json keep `history` as it was.
        sections=[Section("Custom fields", custom), *(Section(t, d) for t, d in extras.sections),
                  *([] if any(t.startswith("Timeline") for t, _ in extras.sections)
                    else [Section("History", history)])],
        # Lists of records (history, deals ...) are sections of the card, not cells of a CSV row.
        flat={k: v for k, v in record.items()
              if k != "history" and not (isinstance(v, list) and v and isinstance(v[0], dict))},
    )
