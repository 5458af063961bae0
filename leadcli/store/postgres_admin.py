"""`db check` and `db backup` on PostgreSQL: the schema, the constraints the server enforces, and pg_dump."""

from __future__ import annotations

from pathlib import Path

from leadcli.errors import DatabaseError
from leadcli.store.migrations import LATEST
from leadcli.store.postgres import engine, shown
from leadcli.store.postgres_migrate import migrate, schema_version

# Every foreign key of the schema, checked by a query (the server enforces them, unless someone
# disabled triggers during a restore): (table, column, referenced table).
_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname
  FROM pg_constraint c
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
  JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
 WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
 ORDER BY 1, 2
"""


def check(url: str) -> list[dict]:
    """The schema version, and rows pointing at missing rows; one finding per check."""
    migrate(url)
    with engine(url).connect() as conn:
        version = schema_version(conn)
        findings: list[dict] = [{"check": "schema version", "ok": version <= LATEST,
                                 "detail": f"{version} (this leadcli knows up to {LATEST})"}]
        server = conn.exec_driver_sql("SHOW server_version").scalar()
        findings.append({"check": "integrity", "ok": True,
                         "detail": f"PostgreSQL {server} checks its own pages; for a deep check use "
                                   "pg_amcheck (superuser)"})
        orphans = []
        for table, column, parent, key in conn.exec_driver_sql(_FOREIGN_KEYS).all():
            n = conn.exec_driver_sql(
                f'SELECT count(*) FROM "{table}" t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{parent}" p WHERE p."{key}" = t."{column}")').scalar()
            if n:
                orphans.append(f"{n} {table} row(s) point at a missing {parent}")
        findings.append({"check": "foreign keys", "ok": not orphans,
                         "detail": "ok" if not orphans else "; ".join(orphans[:20])})
        conn.rollback()
    return findings


def backup(url: str, target: Path) -> int:
    """`db backup` copies a SQLite file; a server database is backed up by the server's own tool."""
    raise DatabaseError(f"`db backup` copies a SQLite file; {shown(url)} is a PostgreSQL database",
                        hint=f"use pg_dump (pg_dump -Fc -f {target} DBNAME), or copy it to a file with "
                             f"`leadcli db copy --to sqlite:///{target}`")
