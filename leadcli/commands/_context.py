"""The database of the running command: built once from `--db` / `LEADCLI_DB` by the root callback."""

from __future__ import annotations

from leadcli.store import Store


def current_store() -> Store:
    """The `Store` the root callback put on the command's context (or one from LEADCLI_DB outside a command)."""
    # Typer vendors Click; its context stack is the one way to reach the root's object from a command.
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    found = ctx.find_object(Store) if ctx is not None else None
    return found if found is not None else Store()
