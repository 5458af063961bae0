"""`connect(isolated_db)` for tests that read rows back with SQL: sqlite3 on a file, psycopg on a URL.

The PostgreSQL side takes the same `?` placeholders and returns the same tuples, so a test that only
reads (or writes plain rows) runs on either backend unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


class PgConnection:
    """The part of sqlite3.Connection the tests use, on psycopg (autocommit off, like sqlite3)."""

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.types.string import TextLoader
        from sqlalchemy.engine import make_url

        self.con = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        for name in ("json", "jsonb"):
            self.con.adapters.register_loader(name, TextLoader)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.con.execute(self._sql(sql), params or None)

    def executemany(self, sql: str, rows: Any) -> Any:
        cur = self.con.cursor()
        cur.executemany(self._sql(sql), list(rows))
        return cur

    def commit(self) -> None:
        self.con.commit()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.con.commit()
        else:
            self.con.rollback()


def is_postgres(target: str | Path) -> bool:
    return "://" in str(target)


def connect(target: str | Path, **kw: Any) -> Any:
    if is_postgres(target):
        return PgConnection(str(target))
    return sqlite3.connect(target, **kw)


def dump(target: str | Path) -> list[str]:
    """Every row of every table as text, in a stable order: SQLite's iterdump, or its counterpart on PostgreSQL
    (table by table, rows sorted), so a test can check that an undo restores the database exactly."""
    if not is_postgres(target):
        con = sqlite3.connect(target)
        try:
            return list(con.iterdump())
        finally:
            con.close()
    with PgConnection(str(target)) as pg:
        tables = [t for (t,) in pg.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'public' ORDER BY table_name")]
        out = []
        for table in tables:
            rows = pg.execute(f'SELECT * FROM "{table}"').fetchall()
            out += sorted(f"{table}: {row!r}" for row in rows)
        return out
