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


def connect(target: str | Path, **kw: Any) -> Any:
    if "://" in str(target):
        return PgConnection(str(target))
    return sqlite3.connect(target, **kw)
