"""What both dialects share when they write: a Session on one connection's transaction, savepoints on a
driver connection, and the set-based match of staged import rows against existing leads."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session


_committed = [0]


def commits() -> int:
    """How many transactions this process has committed through `session_in_transaction` (a command that
    committed one since a moment cannot simply be run again from that moment)."""
    return _committed[0]


@contextmanager
def session_in_transaction(conn: Any, keep: bool = True,
                           after_begin: Callable[[Any], object] | None = None) -> Iterator[Session]:
    """A SQLModel session inside a new transaction on `conn`: committed at the end when `keep`, else
    rolled back (a dry run); rolled back on any error. `after_begin(conn)` runs first inside it
    (a dialect's lock, for instance). Library code may use savepoints (`session.begin_nested()`)."""
    from sqlmodel import Session

    trans = conn.begin()
    if after_begin is not None:
        after_begin(conn)
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
        s.flush()
        if keep:
            trans.commit()
            _committed[0] += 1
        else:
            trans.rollback()
    except BaseException:
        if trans.is_active:
            # The database may have rolled back on its own (a full disk, an interrupt): a failing second
            # rollback must not hide the error that caused it.
            with suppress(Exception):
                trans.rollback()
        raise
    finally:
        s.close()


def match_existing_sql(stage: str, keys: Sequence[str], veto: Callable[[str, str, str], str]) -> str:
    """The UPDATE that sets `target` on the staged table `stage` (named `import_stage`): the first
    existing lead each first-of-its-keys row is the same person as, keys tried in order.

    `veto(key, existing, incoming)` gives the SQL condition that must not hold for a match on `key`."""
    lookups = ", ".join(f"(SELECT min(id) FROM lead WHERE lead.{k} = import_stage.{k}"
                        f"{veto(k, 'lead', 'import_stage')})" for k in keys)
    has_key = " OR ".join(f"{k} IS NOT NULL" for k in keys)
    return (f"UPDATE {stage} SET target = {'coalesce(' + lookups + ')' if len(keys) > 1 else lookups}"
            f" WHERE root IS NULL AND ({has_key})")


@contextmanager
def savepoint(execute: Callable[[str], object], name: str) -> Iterator[None]:
    """Writes that stand or fall together, on a DB-API connection or cursor's `execute` (the spelling
    both dialects read): an exception inside rolls back to here and is re-raised."""
    execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        # When the database already rolled the whole transaction back (a full disk), the savepoint is
        # gone: the error to report is the one raised inside, not "no such savepoint".
        with suppress(Exception):
            execute(f"ROLLBACK TO SAVEPOINT {name}")
            execute(f"RELEASE SAVEPOINT {name}")
        raise
    execute(f"RELEASE SAVEPOINT {name}")
