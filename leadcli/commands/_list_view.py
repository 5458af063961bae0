"""What `list` reads and shows: its filter (a saved view overridden by the options given) and the
columns of its table, chosen by priority to fit the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.output import Column
    from leadcli.query import LeadFilter


def list_filter(s: Session, view: str | None, given: dict[str, Any], *, due: str | None, no_next_action: bool,
                stale: bool, custom: list[str]) -> tuple[LeadFilter, dict[str, Any]]:
    """The filter of `list` and how to show it (sort, desc, limit)."""
    from dataclasses import replace

    from leadcli import views
    from leadcli.errors import UsageError
    from leadcli.query import build_filter, owner_value

    if view is not None and views.reference(view) is None:
        raise UsageError(f"unexpected argument {view!r}", hint="name a saved view as @NAME (see `leadcli view list`)",
                         exit_code=2)
    options = views.ViewOptions(
        status=[getattr(st, "value", st) for st in given["status"] or []], source=given["source"],
        owner=given["owner"], tag=given["tag"], grade=given["grade"], search=given["search"], since=given["since"],
        until=given["until"], archived=given["archived"] or None, sort=given["sort"], desc=given["desc"],
        limit=given["limit"])
    chosen = views.resolve(s, view, options)
    extra = build_filter(due=due, no_next_action=no_next_action, stale=stale, custom=custom)
    flt = replace(chosen.lead_filter(), owner=owner_value(chosen.owner), due=extra.due,
                  no_next_action=extra.no_next_action, stale=extra.stale, custom=extra.custom)
    return flt, {"sort": chosen.sort, "desc": chosen.desc, "limit": chosen.limit, "columns": chosen.columns}


def table_columns(records: list[dict]) -> list[Column]:
    """What a salesperson needs to call, the least needed dropped first when the terminal is narrow."""
    from leadcli import output, when
    from leadcli.agenda import dial_format
    from leadcli.output import Column

    for r in records:
        r["display_name"] = r["name"] or f"Lead #{r['id']}"
        r["dial"] = dial_format(r["phone"])
        r["next_local"] = when.local_text(r.get("next_action_at"))
    scored = any(r["score"] is not None for r in records)
    # (column, priority: the highest goes first on a narrow terminal; 0 stays)
    wanted: list[tuple[Column, int]] = [
        (Column("id", justify="right", fmt=str), 0),
        (Column("display_name", header="name", max_width=26), 0),
        (Column("company", max_width=22), 4), (Column("dial", header="phone", fixed=True), 1),
        (Column("status", fixed=True), 2),
        (Column("score", justify="right"), 6 if scored else -1),
        (Column("grade", header="gr", fixed=True), 5 if scored else -1),
        (Column("next_local", header="next action", fixed=True), 3),
        (Column("email", max_width=28), 8), (Column("source", max_width=14), 7), (Column("owner", max_width=12), 9),
        (Column("created_at", header="created", fixed=True, fmt=lambda v: (v or "")[:10]), 10),
    ]
    # An optional column nobody filled in is left out rather than drawn empty.
    columns = [(c, p) for c, p in wanted if p == 0 or (p > 0 and any(r.get(c.key) not in (None, "") for r in records))]
    width = output.console().width
    while True:
        need = sum(_natural(c, records) for c, _ in columns) + 3 * (len(columns) - 1) + 2
        droppable = [(c, p) for c, p in columns if p > 0]
        if need <= width or not droppable:
            break
        columns.remove(max(droppable, key=lambda cp: cp[1]))
    return [c for c, _ in columns]


def _natural(col: Column, records: list[dict]) -> int:
    from leadcli.output import text_cell

    cells = [col.fmt(r.get(col.key)) if col.fmt else text_cell(r.get(col.key)) for r in records[:200]]
    longest = max([len(col.title), *(len(c) for c in cells)])
    return min(longest, col.max_width or longest)
