"""leadcli archive / restore."""

from __future__ import annotations

from typing import Annotated

import typer

IdsArg = Annotated[list[int], typer.Argument(help="Lead ids.", show_default=False)]


def archive(ids: IdsArg) -> None:
    """Archive leads: they leave lists but stay in reports.

    \b
    Example:
      leadcli archive 12 13 14
    """
    _set(ids, True)


def restore(ids: IdsArg) -> None:
    """Bring archived leads back into lists.

    \b
    Example:
      leadcli restore 12
    """
    _set(ids, False)


def _set(ids: list[int], archived: bool) -> None:
    from leadcli import leads, output
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        changed = leads.set_archived(s, ids, archived)
    verb = "archived" if archived else "restored"
    output.message(f"{verb} {len(changed)} lead(s)" + (f" ({len(ids) - len(changed)} already {verb})"
                                                       if len(changed) < len(ids) else ""))
