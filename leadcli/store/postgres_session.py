"""One transaction per command on PostgreSQL, and the command run again when the server says it must be.

Writing sessions run at SERIALIZABLE: the server lets writers go on side by side (an `add` beside a big
import, six people logging calls) and checks that the outcome is one some serial order would give. When it
cannot, it cancels one transaction with a serialization failure (40001), or breaks a deadlock (40P01):
nothing of that transaction is kept, and the whole command runs again (`retry_conflicts`), with a jittered
backoff, a bounded number of times. So a lead converted by two people at the same moment is converted once
(the second run finds it converted), two `add`s of one e-mail at once make one lead and one refusal, and no
global lock makes every writer wait for the slowest. Hooks fire after a commit, so a cancelled attempt fires
none; a command that already committed a transaction is never run again (its conflict is shown instead).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from leadcli.errors import DatabaseError
from leadcli.store.postgres import RETRYABLE, engine, is_driver_error, shown, sqlstate, translate_error
from leadcli.store.postgres_migrate import migrate
from leadcli.store.session_common import commits, session_in_transaction

if TYPE_CHECKING:
    from sqlmodel import Session

T = TypeVar("T")

# How many times a command runs in all when the server keeps cancelling it, and the backoff between runs:
# random in [0, min(CAP, BASE * 2**attempt)] seconds (full jitter), so colliding writers spread out.
ATTEMPTS = 10
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 1.0


class Conflict(DatabaseError):
    """The server cancelled the command's transaction (serialization failure or deadlock); nothing was kept,
    and the command can simply run again."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"the database {shown(url)} stayed busy with other writers ({detail})",
                         hint="run the command again")


@contextmanager
def session(url: str, write: bool = False) -> Iterator[Session]:
    """A SQLModel session inside one transaction: committed on success, rolled back on any error.

    `write=True`: SERIALIZABLE; a conflict with another writer raises `Conflict` (see `retry_conflicts`)."""
    migrate(url)
    try:
        with engine(url).connect() as conn:
            if write:
                conn = conn.execution_options(isolation_level="SERIALIZABLE")
            with session_in_transaction(conn) as s:
                yield s
    except Exception as exc:
        if isinstance(exc, DatabaseError) or not is_driver_error(exc):
            raise
        if sqlstate(exc) in RETRYABLE:
            orig = getattr(exc, "orig", exc)
            raise Conflict(url, str(orig).strip().splitlines()[0] if str(orig).strip() else "conflict") from exc
        raise translate_error(exc, url) from exc


def retry_conflicts(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)`, run again after a `Conflict` as long as none of its transactions committed
    (the cancelled one left nothing, so nothing is done twice), up to ATTEMPTS runs in all."""
    attempt = 1
    while True:
        before = commits()
        try:
            return work(*args, **kwargs)
        except Conflict:
            if commits() != before or attempt >= ATTEMPTS:
                raise
        time.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt)))
        attempt += 1
