"""Hot paths on PostgreSQL: the `FastSQL` interface of `sqlite_fast.py` on the psycopg connection.

Statements are SQLAlchemy Core, compiled once per set of parameter names for the session's dialect
(named `%(name)s` parameters), then run on the driver connection of the session's transaction. Raw
rows read like SQLite's: JSON columns come back as their text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from leadcli.store.fast_errors import WriteRefused
from leadcli.store.session_common import savepoint

if TYPE_CHECKING:
    from sqlmodel import Session


class PgFastSQL:
    """Core statements run on the session's psycopg connection, inside its transaction."""

    def __init__(self, s: Session) -> None:
        from psycopg.types.string import TextLoader

        raw: Any = s.connection().connection.driver_connection
        self._raw = raw
        self._dialect = s.get_bind().dialect
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[Any, str, dict[str, Any]]] = {}
        self._cur = raw.cursor()
        for name in ("json", "jsonb"):
            self._cur.adapters.register_loader(name, TextLoader)

    def _prepare(self, stmt: Any, keys: tuple[str, ...], returning: bool = False) -> tuple[str, dict[str, Any]]:
        cached = self._compiled.get((id(stmt), keys))
        if cached is None or cached[0] is not stmt:
            compiled = stmt.compile(dialect=self._dialect, column_keys=list(keys))
            fixed = {k: v for k, v in compiled.params.items() if k not in keys}
            sql = compiled.string
            if returning and " RETURNING " not in sql:
                sql += " RETURNING id"
            cached = (stmt, sql, fixed)
            self._compiled[(id(stmt), keys)] = cached
        return cached[1], cached[2]

    def _run(self, stmt: Any, params: Mapping[str, Any], returning: bool = False) -> Any:
        import psycopg

        sql, fixed = self._prepare(stmt, tuple(params), returning)
        try:
            return self._cur.execute(sql, {**fixed, **params})
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) in ("40001", "40P01"):
                raise
            raise WriteRefused(str(exc).strip()) from None

    def fetchall(self, stmt: Any) -> list[tuple]:
        """The rows of a SELECT (its values all in the statement) as plain tuples; compiled per call."""
        compiled = stmt.compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True})
        return self._cur.execute(compiled.string, compiled.construct_params()).fetchall()

    def execute(self, stmt: Any, params: Mapping[str, Any]) -> int:
        """Run an UPDATE or DELETE (or INSERT); the number of rows it touched."""
        return self._run(stmt, params).rowcount

    def insert(self, stmt: Any, params: Mapping[str, Any]) -> int:
        """Run an INSERT of one row; the id the database gave it."""
        row = self._run(stmt, params, returning=True).fetchone()
        return int(row[0]) if row else 0

    def executemany(self, stmt: Any, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows of values, each in the order of `names`."""
        sql, fixed = self._prepare(stmt, tuple(names))
        if fixed:
            raise ValueError(f"executemany needs every bind named: {sorted(fixed)}")
        batch = [dict(zip(names, r, strict=True)) for r in rows]
        if batch:
            self._cur.executemany(sql, batch)

    def savepoint(self, name: str = "leadcli_item") -> AbstractContextManager[None]:
        """Writes that stand or fall together; a WriteRefused inside rolls back to here and is re-raised."""
        return savepoint(self._cur.execute, name)
