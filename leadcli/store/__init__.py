"""The only code that knows which database it talks to: paths, engine, sessions, migrations.

Everything outside `leadcli/store/` goes through these names and never imports a driver.
"""

from __future__ import annotations

from pathlib import Path

from leadcli.store.paths import (
    ENV_DB,
    configure,
    create_private_file,
    default_path,
    file_mode,
    now_iso,
    resolve_path,
)
from leadcli.store.sqlite import (
    BUSY_TIMEOUT_MS,
    backup,
    check,
    dispose_all,
    engine,
    migrate,
    raw_connection,
    schema_version,
    session,
)


class Store:
    """One database, named by a path (SQLite) or a URL: the handle library code is given.

    Commands build one from `--db`; library entry points that run their own transactions
    (an import, a migration) take it instead of reading any process-wide setting.
    """

    def __init__(self, path_or_url: str | Path | None = None) -> None:
        self.path: Path = resolve_path(str(path_or_url) if path_or_url else None)

    def session(self, write: bool = False):  # noqa: ANN201 - a context manager of a sqlmodel Session
        return session(write=write, path=self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


__all__ = [
    "Store",
    "BUSY_TIMEOUT_MS", "ENV_DB", "backup", "check", "configure", "create_private_file", "default_path",
    "dispose_all", "engine", "file_mode", "migrate", "now_iso", "raw_connection", "resolve_path",
    "schema_version", "session",
]
