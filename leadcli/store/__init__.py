"""The only code that knows which database it talks to: paths, engine, sessions, migrations.

Everything outside `leadcli/store/` goes through these names and never imports a driver.

    paths.py           where the database is (--db, LEADCLI_DB, the user data dir); private files
    migrations.py      the ordered, frozen schema migrations (data only)
    sqlite.py          the SQLite engine and pragmas, what its errors mean
    sqlite_migrate.py  applying migrations, each atomically with its record
    sqlite_admin.py    integrity checks and online backups
    transaction.py     one session, one transaction, per command
    dialect_ddl.py     the migrations' statements as PostgreSQL runs them
    postgres*.py       PostgreSQL: engine, sessions, migrations, checks, fast statements (the `postgres` extra)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from leadcli.store.paths import (
    ENV_DB,
    create_private_file,
    default_path,
    describe,
    file_mode,
    now_iso,
    resolve_path,
    server_url,
)
from leadcli.store.sqlite import (
    BUSY_TIMEOUT_MS,
    driver_error,
    schema_version,
    translate_error,
)
from leadcli.store.sqlite import engine as sqlite_engine
from leadcli.store.sqlite import raw_connection as sqlite_raw_connection
from leadcli.store.sqlite_admin import backup, check
from leadcli.store.sqlite_migrate import migrate as sqlite_migrate
from leadcli.store.transaction import session as sqlite_session

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from leadcli.ingest.bulk import BulkWriter

T = TypeVar("T")

# Older spelling still used by the import's error path.
_translate = translate_error


def raw_connection(s: Session) -> Any:
    """The driver connection under a session (same transaction), taking `?` placeholders on either database."""
    if s.get_bind().dialect.name == "postgresql":
        from leadcli.store.postgres import QmarkConnection

        return QmarkConnection(s.connection().connection.driver_connection)
    return sqlite_raw_connection(s)


def retry_conflicts(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)`, run again when a PostgreSQL server cancelled its transaction for a conflict
    with another writer (see `postgres_session`); on SQLite, where writers queue, just `work(...)`."""
    from leadcli.store.postgres_session import retry_conflicts as run

    return run(work, *args, **kwargs)


def session(write: bool = False, path: Path | None = None) -> AbstractContextManager[Session]:
    """One transaction on `path`, or on the database LEADCLI_DB names (a file or a PostgreSQL URL)."""
    return Store(path).session(write=write)


def migrate(path: Path | None = None, upto: int | None = None) -> list[str]:
    return Store(path).migrate(upto)


def engine(path: Path | None = None) -> Engine:
    return Store(path).engine()


def dispose_all() -> None:
    """Close every engine this process opened (SQLite files and PostgreSQL servers)."""
    from leadcli.store import postgres, sqlite

    sqlite.dispose_all()
    postgres.dispose_all()


class Store:
    """One database, named by a path (SQLite) or a URL (`postgresql+psycopg://…`): the handle library code
    is given.

    The CLI builds one from `--db` / `LEADCLI_DB` and keeps it on the command's context; library
    entry points that run their own transactions (an import, a migration) take it instead of
    reading any process-wide setting.
    """

    def __init__(self, path_or_url: str | Path | None = None) -> None:
        self._given = str(path_or_url) if path_or_url else None
        self._path: Path | None = None
        self.url: str | None = server_url(self._given)

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return "sqlite" if self.url is None else "postgresql"

    @property
    def path(self) -> Path:
        """The database file; resolved on first use, so a bad `--db` fails only the commands using it.
        A PostgreSQL store has none: DatabaseError says so."""
        if self._path is None:
            self._path = resolve_path(self._given)
        return self._path

    @property
    def location(self) -> str:
        """The file's path or the server URL without its password, for messages."""
        return describe(self._given)

    def session(self, write: bool = False) -> AbstractContextManager[Session]:
        """One transaction (see `store.session`); `write=True` takes SQLite's write lock first."""
        if self.url is not None:
            from leadcli.store.postgres_session import session as pg_session

            return pg_session(self.url, write=write)
        return sqlite_session(write=write, path=self.path)

    def engine(self) -> Engine:
        if self.url is not None:
            from leadcli.store import postgres

            return postgres.engine(self.url)
        return sqlite_engine(self.path)

    def bulk_writer(self) -> AbstractContextManager[BulkWriter]:
        """The import's writer for this database (one connection for a whole run): see `ingest/bulk.py`."""
        if self.url is not None:
            from leadcli.store.postgres_bulk import bulk_writer as pg_bulk_writer

            return pg_bulk_writer(self.url)
        from leadcli.store.sqlite_bulk import bulk_writer

        return bulk_writer(self.path)

    def migrate(self, upto: int | None = None) -> list[str]:
        if self.url is not None:
            from leadcli.store.postgres_migrate import migrate as pg_migrate

            return pg_migrate(self.url, upto)
        return sqlite_migrate(self.path, upto)

    def check(self) -> list[dict]:
        if self.url is not None:
            from leadcli.store.postgres_admin import check as pg_check

            return pg_check(self.url)
        return check(self.path)

    def backup(self, target: Path, *, force: bool = False) -> int:
        if self.url is not None:
            from leadcli.store.postgres_admin import backup as pg_backup

            return pg_backup(self.url, target)
        return backup(target, force=force, path=self.path)

    def __repr__(self) -> str:
        return f"Store({self.location!r})"


__all__ = [
    "Store",
    "BUSY_TIMEOUT_MS", "ENV_DB", "backup", "check", "create_private_file", "default_path", "describe",
    "dispose_all", "driver_error", "engine", "file_mode", "migrate", "now_iso", "raw_connection", "resolve_path",
    "retry_conflicts",
    "schema_version", "server_url", "session", "translate_error",
]
