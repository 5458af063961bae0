"""PostgreSQL (psycopg 3): the engine, one transaction per command, what the server's errors mean.

Installed by the `postgres` extra (`pip install 'leadcli[postgres]'`). Sessions run at READ COMMITTED;
a serialization failure or a deadlock is retried by `retrying()` around a whole unit of work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from leadcli.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

T = TypeVar("T")
# SQLSTATEs worth running the unit of work again for: serialization_failure, deadlock_detected.
RETRYABLE = {"40001", "40P01"}
RETRIES = 5

_engines: dict[str, Engine] = {}


def require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseError("PostgreSQL needs the psycopg driver, which this installation lacks",
                            hint="pip install 'leadcli[postgres]'") from None


def shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _on_connect(dbapi_conn, _record) -> None:
    from psycopg.adapt import Dumper, Loader

    class FlagDumper(Dumper):
        # Flags (lead.repeat_lead, score_model.active) are INTEGER 0/1 on both databases, as the SQL that
        # compares them with 1 expects: a Python bool goes in as an untyped '1'/'0', which the server reads
        # as that integer in an integer column and as true/false where a boolean is expected.
        oid = 0

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    class NumberLoader(Loader):
        # sum(bigint) and avg() are numeric here; SQLite gives int and float: so do we, for the same output.
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    dbapi_conn.adapters.register_loader("numeric", NumberLoader)
    dbapi_conn.adapters.register_dumper(bool, FlagDumper)


def engine(url: str) -> Engine:
    """The engine of the database at `url` (made once per URL and process)."""
    if url not in _engines:
        require_driver()
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        eng = create_engine(url, poolclass=NullPool,
                            connect_args={"options": "-c TimeZone=UTC -c lock_timeout=30000"})
        event.listen(eng, "connect", _on_connect)
        _engines[url] = eng
    return _engines[url]


def dispose_all() -> None:
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None)


def is_driver_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(getattr(exc, "orig", exc), psycopg.Error)


def translate_error(exc: BaseException, url: str) -> DatabaseError:
    """A server or connection error as a message that says what happened and what to do."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    state = sqlstate(exc) or ""
    if state in RETRYABLE:
        return DatabaseError(f"the database {shown(url)} stayed busy with other writers ({text})",
                             hint="run the command again")
    if state.startswith("08") or state in ("", "3D000", "28000", "28P01"):
        return DatabaseError(f"cannot reach the PostgreSQL database {shown(url)}: {text}",
                             hint="check the URL given with --db / LEADCLI_DB and that the server is running")
    return DatabaseError(f"database error on {shown(url)}: {text}")


def retrying(work: Callable[[], T], attempts: int = RETRIES) -> T:
    """Run `work` (which opens its own transaction) again when the server aborted it for a serialization
    failure or a deadlock: another writer won, nothing of ours was kept, so running it again is safe."""
    for attempt in range(attempts):
        try:
            return work()
        except Exception as exc:
            cause = exc.__cause__ if isinstance(exc, DatabaseError) else exc
            if attempt + 1 == attempts or cause is None or sqlstate(cause) not in RETRYABLE:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
