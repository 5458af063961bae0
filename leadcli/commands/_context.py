"""The database of the running command: built once from `--db` / `LEADCLI_DB` by the root callback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadcli.store import Store

if TYPE_CHECKING:
    from leadcli.hooks import Batch


def current_store() -> Store:
    """The `Store` the root callback put on the command's context (or one from LEADCLI_DB outside a command)."""
    # Typer vendors Click; its context stack is the one way to reach the root's object from a command.
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    found = ctx.find_object(Store) if ctx is not None else None
    return found if found is not None else Store()


def current_hooks() -> Batch:
    """An empty `hooks.Batch` for the command's database, off under `--no-hooks`."""
    from typer._click.globals import get_current_context

    from leadcli.hooks import Batch

    ctx = get_current_context(silent=True)
    no_hooks = bool(ctx.meta.get("leadcli.no_hooks")) if ctx is not None else False
    store = current_store()
    # A hook reaches the same database: the file's path, or the server's URL.
    return Batch(database=store.url or str(store.path), enabled=not no_hooks)
