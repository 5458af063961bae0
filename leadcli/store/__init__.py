"""The only code that knows which database it talks to: paths, engine, sessions, migrations.

Everything outside `leadcli/store/` goes through these names and never imports a driver.

    paths.py           where the database is (--db, LEADCLI_DB, the user data dir); private files
    migrations.py      the ordered, frozen schema migrations (data only)
    sqlite.py          the SQLite engine and pragmas, what its errors mean
    sqlite_migrate.py  applying migrations, each atomically with its record
    sqlite_admin.py    integrity checks and online backups
    transaction.py     one session, one transaction, per command
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from leadcli.store.paths import ENV_DB, create_private_file, default_path, file_mode, now_iso, resolve_path
from leadcli.store.sqlite import (
    BUSY_TIMEOUT_MS,
    dispose_all,
    driver_error,
    engine,
    raw_connection,
    schema_version,
    translate_error,
)
from leadcli.store.sqlite_admin import backup, check
from leadcli.store.sqlite_migrate import migrate
from leadcli.store.transaction import session

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

# Older spelling still used by the import's error path.
_translate = translate_error


class Store:
    """One database, named by a path (SQLite) or a URL: the handle library code is given.

    The CLI builds one from `--db` / `LEADCLI_DB` and keeps it on the command's context; library
    entry points that run their own transactions (an import, a migration) take it instead of
    reading any process-wide setting.
    """

    def __init__(self, path_or_url: str | Path | None = None) -> None:
        self._given = str(path_or_url) if path_or_url else None
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        """The database file; resolved on first use, so a bad `--db` fails only the commands using it."""
        if self._path is None:
            self._path = resolve_path(self._given)
        return self._path

    def session(self, write: bool = False) -> AbstractContextManager[Session]:
        """One transaction (see `store.session`); `write=True` takes the write lock first."""
        return session(write=write, path=self.path)

    def engine(self) -> Engine:
        return engine(self.path)

    def migrate(self, upto: int | None = None) -> list[str]:
        return migrate(self.path, upto)

    def check(self) -> list[dict]:
        return check(self.path)

    def backup(self, target: Path, *, force: bool = False) -> int:
        return backup(target, force=force, path=self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


__all__ = [
    "Store",
    "BUSY_TIMEOUT_MS", "ENV_DB", "backup", "check", "create_private_file", "default_path", "dispose_all",
    "driver_error", "engine", "file_mode", "migrate", "now_iso", "raw_connection", "resolve_path",
    "schema_version", "session", "translate_error",
]
