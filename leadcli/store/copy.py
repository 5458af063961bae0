"""`db copy`: a whole database from one store to another (SQLite file <-> PostgreSQL), checked table by table.

Tables are copied in the order the migrations create them, in one transaction on the target; foreign keys
that point forward in that order (lead -> contact/company/deal) are filled in by a second pass. Each
table's rows are compared by count and by a SHA-256 over its rows in key order, read back from the target.
JSON columns travel as their text, so a round trip keeps every byte.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from leadcli.errors import DatabaseError
from leadcli.store.migrations import MIGRATIONS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from leadcli.store import Store

BATCH = 5_000
KEPT = "schema_migration"


def table_order() -> list[str]:
    """Every table, in the order the migrations create it."""
    names: list[str] = []
    for _version, _name, statements in MIGRATIONS:
        for statement in statements:
            m = re.match(r"\s*CREATE TABLE (\w+)", statement)
            if m and m.group(1) not in names:
                names.append(m.group(1))
    return names


def _columns(conn: Connection, table: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(columns, primary key columns, {column: referenced table}) of `table`, read from the database."""
    from sqlalchemy import inspect

    from leadcli.store.postgres import native_bools

    with native_bools(conn) if conn.dialect.name == "postgresql" else nullcontext():
        insp = inspect(conn)
        columns = [c["name"] for c in insp.get_columns(table)]
        key = insp.get_pk_constraint(table)["constrained_columns"] or columns
        refs = {fk["constrained_columns"][0]: fk["referred_table"] for fk in insp.get_foreign_keys(table)}
    return columns, key, refs


def _select(conn: Connection, table: str, columns: Sequence[str], key: Sequence[str]) -> Any:
    from sqlalchemy import Text, cast, column, select
    from sqlalchemy import table as table_

    pg = conn.dialect.name == "postgresql"
    cols = [cast(column(c), Text) if pg and c == "fields" and table == "lead" else column(c) for c in columns]
    return select(*cols).select_from(table_(table)).order_by(*(column(k) for k in key))


def _rows(conn: Connection, table: str, columns: Sequence[str], key: Sequence[str]) -> Iterator[Sequence[Any]]:
    result = conn.execution_options(yield_per=BATCH).execute(_select(conn, table, columns, key))
    for part in result.partitions():
        yield from part


def _digest(rows: Iterable[Sequence[Any]]) -> tuple[int, str]:
    """Row count and a checksum that does not depend on row order: the two databases sort text by
    different collations (SQLite's NOCASE columns, the server's locale), so rows are summed, not chained."""
    total, n = 0, 0
    for row in rows:
        total = (total + int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest()[:16], "big")) % (1 << 128)
        n += 1
    return n, f"{total:032x}"[:16]


def has_rows(conn: Connection) -> list[str]:
    from sqlalchemy import text

    return [t for t in table_order() if t != KEPT
            and conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {t})")).scalar()]


def copy(source: Store, target: Store, *, force: bool = False) -> list[dict]:
    """Copy every row of `source` into `target` (both migrated to this leadcli's schema); one finding per
    table: rows in the source and the target, and whether their checksums agree."""
    if source.location == target.location:
        raise DatabaseError("the source and the target are the same database", hint="pass another --to")
    source.migrate()
    target.migrate()
    with source.session() as src_s, target.session(write=True) as dst_s:
        src, dst = src_s.connection(), dst_s.connection()
        filled = has_rows(dst)
        if filled and not force:
            raise DatabaseError(f"{target.location} already holds data (in {', '.join(filled)})",
                                hint="copy into an empty database, or pass --force to replace its rows")
        _empty(dst, filled)
        findings = [_copy_table(src, dst, table) for table in table_order() if table != KEPT]
        _link_forward(src, dst)
        if dst.dialect.name == "postgresql":
            _move_sequences(dst)
        findings = [{**f, **_verify(src, dst, f["table"])} for f in findings]
        bad = [f["table"] for f in findings if not f["ok"]]
        if bad:
            raise DatabaseError(f"the copy differs from the source in {', '.join(bad)}; nothing was written",
                                hint="make sure nothing writes to the source during the copy and retry")
    return findings


def _empty(dst: Connection, filled: list[str]) -> None:
    from sqlalchemy import text

    if not filled:
        return
    if dst.dialect.name == "postgresql":
        names = ", ".join(t for t in table_order() if t != KEPT)
        dst.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    for table in reversed(table_order()):
        if table != KEPT:
            dst.execute(text(f"DELETE FROM {table}"))


def _forward(table: str, refs: dict[str, str]) -> list[str]:
    order = table_order()
    return [c for c, parent in refs.items() if parent in order and order.index(parent) > order.index(table)]


def _copy_table(src: Connection, dst: Connection, table: str) -> dict:
    from sqlalchemy import column, insert
    from sqlalchemy import table as table_

    columns, key, refs = _columns(src, table)
    later = set(_forward(table, refs))
    stmt = insert(table_(table, *(column(c) for c in columns)))
    batch: list[dict[str, Any]] = []
    n = 0
    for row in _rows(src, table, columns, key):
        batch.append({c: (None if c in later else v) for c, v in zip(columns, row, strict=True)})
        if len(batch) >= BATCH:
            dst.execute(stmt, batch)
            n += len(batch)
            batch = []
    if batch:
        dst.execute(stmt, batch)
        n += len(batch)
    return {"table": table, "rows": n}


def _link_forward(src: Connection, dst: Connection) -> None:
    """Set the foreign keys that pointed at tables copied after their own."""
    from sqlalchemy import bindparam, column, update
    from sqlalchemy import table as table_

    for table in table_order():
        if table == KEPT:
            continue
        columns, key, refs = _columns(src, table)
        later = _forward(table, refs)
        if not later or len(key) != 1:
            continue
        t = table_(table, *(column(c) for c in [*key, *later]))
        stmt = update(t).where(t.c[key[0]] == bindparam("k")).values({c: bindparam("v_" + c) for c in later})
        rows = [{"k": r[0], **{"v_" + c: v for c, v in zip(later, r[1:], strict=True)}}
                for r in _rows(src, table, [key[0], *later], key) if any(v is not None for v in r[1:])]
        for i in range(0, len(rows), BATCH):
            dst.execute(stmt, rows[i:i + BATCH])


def _move_sequences(dst: Connection) -> None:
    """Explicit ids do not advance an identity: start each after the highest id copied."""
    from sqlalchemy import text

    from leadcli.store.dialect_ddl import identity_tables

    for table in identity_tables([st for _v, _n, statements in MIGRATIONS for st in statements]):
        seq = dst.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
        if seq:
            dst.execute(text(f"SELECT setval(:s, coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"),
                        {"s": seq})


def _verify(src: Connection, dst: Connection, table: str) -> dict:
    columns, key, _refs = _columns(src, table)
    n_src, sum_src = _digest(_rows(src, table, columns, key))
    n_dst, sum_dst = _digest(_rows(dst, table, columns, key))
    return {"rows": n_src, "copied": n_dst, "checksum": sum_src, "ok": n_src == n_dst and sum_src == sum_dst}
