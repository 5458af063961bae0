"""Applying the migrations of `migrations.py` to a PostgreSQL database, each with its record, atomically.

DDL is transactional on PostgreSQL: a migration's statements and its `schema_migration` row commit
together or not at all. Concurrent migrators queue on an advisory lock and re-read the version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadcli.errors import DatabaseError
from leadcli.store.dialect_ddl import to_postgres
from leadcli.store.migrations import LATEST, MIGRATIONS
from leadcli.store.paths import now_iso
from leadcli.store.postgres import engine, is_driver_error, shown, translate_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# pg_advisory_xact_lock key of leadcli's migrations ("lead" in ASCII).
LOCK_KEY = 0x6C656164


def schema_version(conn: Connection) -> int:
    exists = conn.exec_driver_sql("SELECT to_regclass('schema_migration') IS NOT NULL").scalar()
    if not exists:
        return 0
    return int(conn.exec_driver_sql("SELECT coalesce(max(version), 0) FROM schema_migration").scalar() or 0)


def migrate(url: str, upto: int | None = None) -> list[str]:
    """Apply every pending migration (or those up to version `upto`); return the names applied.

    Refuses databases newer than this program."""
    try:
        return _migrate(url, upto)
    except Exception as exc:
        if isinstance(exc, DatabaseError) or not is_driver_error(exc):
            raise
        raise translate_error(exc, url) from exc


def _migrate(url: str, upto: int | None) -> list[str]:
    eng = engine(url)
    with eng.connect() as conn:
        current = schema_version(conn)
        conn.rollback()
    if current > LATEST:
        raise DatabaseError(
            f"the database {shown(url)} has schema version {current}, "
            f"newer than this leadcli understands ({LATEST}); it was left untouched",
            hint="upgrade leadcli (pip install -U leadcli) or point --db at another database",
        )
    if current == LATEST:
        return []
    applied = []
    for version, name, statements in MIGRATIONS:
        if version <= current or (upto is not None and version > upto):
            continue
        with eng.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            if schema_version(conn) >= version:
                continue
            for statement in statements:
                conn.exec_driver_sql(to_postgres(statement))
            conn.exec_driver_sql("INSERT INTO schema_migration (version, name, applied_at) VALUES (%s, %s, %s)",
                                 (version, name, now_iso()))
        applied.append(name)
    return applied
