"""Hot paths on SQLite: SQLAlchemy Core statements compiled once, run on the driver.

Code outside the store writes its statements in SQLAlchemy Core (portable) and hands them here with
plain parameter dicts. Each statement is compiled once per set of parameter names for the session's
dialect, then executed on the DBAPI connection of the same transaction: a conversion of thousands of
leads, one savepoint each, or a `score run` over a million leads, costs what the hand-written SQL
did, without the per-call statement building, cache-key and row-object work of
`Connection.execute`. PostgreSQL's runner is `postgres_fast.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from leadcli.store.fast_errors import WriteRefused
from leadcli.store.session_common import savepoint
from leadcli.store.sqlite import raw_connection

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = ["FastSQL", "WriteRefused"]


class FastSQL:
    """Core statements run on the session's driver connection, inside its transaction.

    On a PostgreSQL session `FastSQL(s)` is a `postgres_fast.PgFastSQL`, which has the same methods."""

    def __new__(cls, s: Session) -> FastSQL:
        if s.get_bind().dialect.name == "postgresql":
            from leadcli.store.postgres_fast import PgFastSQL

            return PgFastSQL(s)  # type: ignore[return-value]
        return super().__new__(cls)

    def __init__(self, s: Session) -> None:
        self._raw = raw_connection(s)
        self._dialect = s.get_bind().dialect
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[Any, str, tuple[str, ...], dict[str, Any]]] = {}

    def _prepare(self, stmt: Any, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """(SQL, bind names in order, values of the binds the statement carries itself)."""
        cached = self._compiled.get((id(stmt), keys))
        if cached is None or cached[0] is not stmt:
            compiled = stmt.compile(dialect=self._dialect, column_keys=list(keys))
            fixed = {k: v for k, v in compiled.params.items() if k not in keys}
            cached = (stmt, compiled.string, tuple(compiled.positiontup or ()), fixed)
            self._compiled[(id(stmt), keys)] = cached
        return cached[1], cached[2], cached[3]

    def _run(self, stmt: Any, params: Mapping[str, Any]) -> sqlite3.Cursor:
        sql, order, fixed = self._prepare(stmt, tuple(params))
        try:
            return self._raw.execute(sql, [params[n] if n in params else fixed[n] for n in order])
        except sqlite3.Error as exc:
            raise WriteRefused(str(exc)) from None

    def fetchall(self, stmt: Any) -> list[tuple]:
        """The rows of a SELECT (its values all in the statement) as plain tuples; compiled per call."""
        compiled = stmt.compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        return self._raw.execute(compiled.string, [params[n] for n in compiled.positiontup or ()]).fetchall()

    def execute(self, stmt: Any, params: Mapping[str, Any]) -> int:
        """Run an UPDATE or DELETE (or INSERT); the number of rows it touched."""
        return self._run(stmt, params).rowcount

    def insert(self, stmt: Any, params: Mapping[str, Any]) -> int:
        """Run an INSERT of one row; the id the database gave it."""
        return int(self._run(stmt, params).lastrowid or 0)

    def executemany(self, stmt: Any, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows of values, each in the order of `names` (tuples, not dicts:
        this is the path of a million-lead `score run`)."""
        sql, order, fixed = self._prepare(stmt, tuple(names))
        if fixed:
            raise ValueError(f"executemany needs every bind named: {sorted(fixed)}")
        if tuple(order) != tuple(names):
            at = [list(names).index(n) for n in order]
            rows = ([r[i] for i in at] for r in rows)
        self._raw.executemany(sql, rows)

    def savepoint(self, name: str = "leadcli_item") -> AbstractContextManager[None]:
        """Writes that stand or fall together; a WriteRefused inside rolls back to here and is re-raised."""
        return savepoint(self._raw.execute, name)
