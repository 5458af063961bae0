"""PostgreSQL (psycopg 3): the engine, one transaction per command, what the server's errors mean.

Installed by the `postgres` extra (`pip install 'leadcli[postgres]'`). Reading sessions and imports run at
READ COMMITTED; writing commands at SERIALIZABLE, and a transaction the server cancels (RETRYABLE) makes
the command run again (`postgres_session.retry_conflicts`). Outside a command (an import's own transaction,
the library) such a conflict is reported as "run the command again": nothing of it was kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from leadcli.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# serialization_failure, deadlock_detected: the whole command can simply be run again.
RETRYABLE = {"40001", "40P01"}

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


def _flag_dumper() -> Any:
    from psycopg.adapt import Dumper
    from psycopg.postgres import types

    class FlagDumper(Dumper):
        # Flags (lead.repeat_lead, score_model.active) are INTEGER 0/1 on both databases, as the SQL that
        # compares them with 1 expects; a Python bool goes in as that integer (and CASE ... THEN True reads
        # back 1, truthy, as from SQLite).
        oid = types["int4"].oid

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    return FlagDumper


def _on_connect(dbapi_conn, _record) -> None:
    from psycopg.adapt import Loader
    from psycopg.types.string import TextLoader

    class NumberLoader(Loader):
        # sum(bigint) and avg() are numeric here; SQLite gives int and float: so do we, for the same output.
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    dbapi_conn.adapters.register_loader("numeric", NumberLoader)
    dbapi_conn.adapters.register_dumper(bool, _flag_dumper())
    # JSON arrives as its text, as from SQLite: raw reads (type_coerce(fields, String)) get the same str,
    # and SQLAlchemy's JSON type decodes it (see engine()).
    for name in ("json", "jsonb"):
        dbapi_conn.adapters.register_loader(name, TextLoader)


@contextmanager
def native_bools(conn: Any) -> Iterator[None]:
    """PostgreSQL's own booleans on this connection for a while (SQLAlchemy's catalogue queries pass some)."""
    from psycopg.types.bool import BoolDumper

    raw = conn.connection.driver_connection
    raw.adapters.register_dumper(bool, BoolDumper)
    try:
        yield
    finally:
        raw.adapters.register_dumper(bool, _flag_dumper())


def engine(url: str) -> Engine:
    """The engine of the database at `url` (made once per URL and process)."""
    if url not in _engines:
        require_driver()
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool

        eng = create_engine(url, poolclass=NullPool, json_serializer=json.dumps, json_deserializer=json.loads,
                            connect_args={"options": "-c TimeZone=UTC -c lock_timeout=30000"})
        event.listen(eng, "connect", _on_connect)
        # The generic JSON type, which decodes the text the connection returns (psycopg's own JSON type
        # expects the driver to have decoded it already).
        from sqlalchemy import types as sqltypes
        from sqlalchemy.dialects.postgresql.json import JSON as PlainJSON

        eng.dialect.colspecs = {**eng.dialect.colspecs, sqltypes.JSON: PlainJSON}
        eng.dialect.supports_native_json_deserialization = False
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
    if state == "22003":
        return DatabaseError("a number given is too large", hint="ids and counts go up to 9223372036854775807",
                             exit_code=2)
    if state in RETRYABLE:
        return DatabaseError(f"the database {shown(url)} stayed busy with other writers ({text})",
                             hint="run the command again")
    if state.startswith("08") or state in ("3D000", "28000", "28P01") or (
            not state and type(orig).__name__ == "OperationalError"):
        return DatabaseError(f"cannot reach the PostgreSQL database {shown(url)}: {text}",
                             hint="check the URL given with --db / LEADCLI_DB and that the server is running")
    return DatabaseError(f"database error on {shown(url)}: {text}")


class QmarkConnection:
    """The psycopg connection under a session, taking sqlite3's `?` placeholders (execute, executemany), for
    code written against `store.raw_connection` (same transaction)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.raw.execute(self._sql(sql), params or None)

    def executemany(self, sql: str, rows: Any) -> Any:
        cur = self.raw.cursor()
        cur.executemany(self._sql(sql), list(rows))
        return cur
