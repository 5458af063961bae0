"""The only code that knows which database it talks to: paths, engine, sessions, migrations.

Everything outside `leadcli/store/` goes through these names and never imports a driver.
"""

from __future__ import annotations

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

__all__ = [
    "BUSY_TIMEOUT_MS", "ENV_DB", "backup", "check", "configure", "create_private_file", "default_path",
    "dispose_all", "engine", "file_mode", "migrate", "now_iso", "raw_connection", "resolve_path",
    "schema_version", "session",
]
