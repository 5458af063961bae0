"""pytest fixtures that run leadcli's tests on PostgreSQL: a plugin, wired in by tests/conftest.py.

Which database the suite runs on:

    LEADCLI_TEST_DB=postgres python -m pytest -q      # or: python -m pytest -q --db-backend postgres
    LEADCLI_TEST_PG_URL=postgresql+psycopg://…        # use this running server (e.g. .ci/postgres-up's URL)
                                                      # instead of starting one (tests/pgserver.py)

Fixtures:
  db_backend     (session)  "sqlite" or "postgres", as chosen above.
  pg_server      (session)  a superuser URL of a server: LEADCLI_TEST_PG_URL, or a throwaway one
                            started in /tmp and stopped at the end. Skips, saying why, when neither.
  pg_url         (session)  a fresh, empty database for this session (dropped at the end).
  pg_clean_url   (function) a database migrated by leadcli and holding no rows when the test starts:
                            the session's database is emptied with TRUNCATE … RESTART IDENTITY (~12 ms),
                            or cloned again from a migrated template (~120-440 ms) when the last test
                            changed its schema or the migrations leave rows of their own.

Wiring (conftest.py), so every test's `isolated_db` follows the chosen backend:

    pytest_plugins = ["pg_fixtures"]      # no `import pg_fixtures` there: pytest would not rewrite its asserts

    @pytest.fixture(autouse=True)
    def isolated_db(request, db_backend, tmp_path, monkeypatch):
        db = request.getfixturevalue("pg_clean_url") if db_backend == "postgres" else tmp_path / "leads.db"
        monkeypatch.setenv("LEADCLI_DB", str(db))
        …

Tests that treat `isolated_db` as a file (file modes, backups, SQLite pragmas) are marked
`@pytest.mark.sqlite_only` and skip on PostgreSQL. Tests that only read rows back with
`sqlite3.connect(isolated_db)` can use `db_query(sql, params)` instead, which runs on either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

ENV_BACKEND = "LEADCLI_TEST_DB"
ENV_URL = "LEADCLI_TEST_PG_URL"
BACKENDS = ("sqlite", "postgres")

# Everything a test could change about the schema: tables, columns and their types, indexes.
FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), ''))
FROM (SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) AS item
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL
      SELECT indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public') AS s
"""
# The migrations' own record is part of a fresh database; everything else starts empty.
KEPT_TABLES = {"schema_migration"}


def backend(config: pytest.Config) -> str:
    chosen = config.getoption("db_backend", default=None) or os.environ.get(ENV_BACKEND) or "sqlite"
    if chosen not in BACKENDS:
        raise pytest.UsageError(f"{ENV_BACKEND}={chosen!r}: expected one of {', '.join(BACKENDS)}")
    return chosen


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db-backend", choices=BACKENDS, default=None,
                     help=f"database every test runs on (default: ${ENV_BACKEND} or sqlite)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test needs a SQLite file; skipped on PostgreSQL")


def pytest_report_header(config: pytest.Config) -> str:
    return f"leadcli test database: {backend(config)}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend(config) != "postgres":
        return
    skip = pytest.mark.skip(reason="needs a SQLite file (this run is on PostgreSQL)")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


class Databases:
    """Creates and drops databases on one server through a superuser connection."""

    def __init__(self, server_url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.admin = psycopg.connect(self.conninfo("postgres"), autocommit=True)
        self.prefix = f"leadcli_test_{os.getpid()}"
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def conninfo(self, name: str) -> str:
        # libpq reads the same URL once the SQLAlchemy driver suffix is gone (host=/socket works too).
        return self.server.set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        self.drop(name)
        # PostgreSQL 15's default WAL_LOG strategy: FILE_COPY is faster on an idle server but
        # checkpoints twice, and after a test has dirtied the buffers that costs ~2x (measured).
        clause = f' TEMPLATE "{template}"' if template else ""
        self.admin.execute(f'CREATE DATABASE "{name}"{clause}')
        if name not in self.created:
            self.created.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in reversed(self.created):
            try:
                self.drop(name)
            except Exception:
                pass
        self.admin.close()


@pytest.fixture(scope="session")
def db_backend(pytestconfig: pytest.Config) -> str:
    return backend(pytestconfig)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A superuser URL of a PostgreSQL server for this session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg 3 is not installed (pip install 'psycopg[binary]>=3.1')")
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    import pgserver

    try:
        server = pgserver.PgServer().start()
    except pgserver.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_databases(pg_server: str) -> Iterator[Databases]:
    dbs = Databases(pg_server)
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def pg_url(pg_databases: Databases) -> str:
    """A fresh, empty database (no schema) for this test session."""
    return pg_databases.create(f"{pg_databases.prefix}_session")


class CleanDatabase:
    """One work database, reset before each test to the state leadcli's migrations leave."""

    def __init__(self, dbs: Databases) -> None:
        self.dbs = dbs
        self.template = f"{dbs.prefix}_template"
        self.work = f"{dbs.prefix}_work"
        self._migrate(dbs.create(self.template))
        with self._connect(self.template) as conn:
            self.fingerprint = conn.execute(FINGERPRINT).fetchone()[0]
            self.tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
            # Rows that the migrations themselves write (beyond their record) would be lost by TRUNCATE.
            self.seeded = any(conn.execute(f'SELECT EXISTS (SELECT FROM "{t}")').fetchone()[0]
                              for t in self.tables if t not in KEPT_TABLES)
        self.url = dbs.create(self.work, template=self.template)
        self.dirty = False

    def _connect(self, name: str):  # noqa: ANN202 - a psycopg connection
        import psycopg

        return psycopg.connect(self.dbs.conninfo(name), autocommit=True)

    @staticmethod
    def _migrate(url: str) -> None:
        import leadcli.errors
        import leadcli.store

        try:
            # Opening a session migrates, as every command does.
            with leadcli.store.Store(url).session():
                pass
        except leadcli.errors.LeadcliError as exc:
            pytest.skip(f"leadcli cannot open the test PostgreSQL database: {exc}")
        finally:
            # The template must have no open connections to be cloned.
            leadcli.store.dispose_all()

    def reset(self) -> str:
        if not self.dirty:
            self.dirty = True
            return self.url
        if self.seeded or not self._truncate():
            self.dbs.create(self.work, template=self.template)
        return self.url

    def _truncate(self) -> bool:
        """Empty the work database in place; False when it must be cloned again instead."""
        import psycopg

        emptied = ", ".join(f'"{t}"' for t in self.tables if t not in KEPT_TABLES)
        try:
            with self._connect(self.work) as conn:
                # A connection a test leaked would make TRUNCATE wait forever for its lock.
                conn.execute("SET lock_timeout = '2s'")
                if conn.execute(FINGERPRINT).fetchone()[0] != self.fingerprint:
                    return False
                conn.execute(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE")
        except psycopg.Error:
            return False
        return True


@pytest.fixture(scope="session")
def _pg_clean(pg_databases: Databases) -> CleanDatabase:
    return CleanDatabase(pg_databases)


@pytest.fixture
def pg_clean_url(_pg_clean: CleanDatabase) -> Iterator[str]:
    """A migrated database holding no rows, for this test alone."""
    yield _pg_clean.reset()
    import leadcli.store

    leadcli.store.dispose_all()


@pytest.fixture
def db_query(isolated_db: object):  # noqa: ANN201 - a function (sql, params) -> list of tuples
    """Run SQL (`:name` parameters) on this test's database, SQLite file or PostgreSQL URL alike."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    target = str(isolated_db)
    url = target if "://" in target else f"sqlite:///{target}"

    def run(sql: str, params: dict | None = None) -> list[tuple]:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(sql), params or {})
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    return run
