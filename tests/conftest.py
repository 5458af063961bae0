"""Shared fixtures: every test runs on its own temporary database and can never touch a real one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import leadcli.output
import leadcli.store
import leadcli.store.paths

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# `LEADCLI_TEST_DB=postgres` (or --db-backend postgres) runs every test on PostgreSQL: see pg_fixtures.py.
pytest_plugins = ["pg_fixtures"]


@pytest.fixture(autouse=True)
def isolated_db(request: pytest.FixtureRequest, db_backend: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Path | str:
    """Point LEADCLI_DB, HOME and the platformdirs default at tmp_path for every test.

    On a PostgreSQL run LEADCLI_DB is the URL of a migrated, empty database (and the value yielded)."""
    db_path: Path | str = tmp_path / "leads.db"
    if db_backend == "postgres" and not request.node.get_closest_marker("sqlite_only"):
        db_path = request.getfixturevalue("pg_clean_url")
    monkeypatch.setenv("LEADCLI_DB", str(db_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for var in ("LEADCLI_FORMAT", "LEADCLI_REGION", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(leadcli.store.paths, "default_path", lambda: tmp_path / "default" / "leads.db")
    yield db_path
    leadcli.store.dispose_all()
    leadcli.output.configure("auto", False, False)


class Cli:
    """Runs leadcli in-process and returns typer's Result (stdout and stderr kept apart)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict | None = None):
        from leadcli.cli import app

        return self.runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    def ok(self, *args: str, **kw):
        result = self(*args, **kw)
        assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        return result


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def shared_data() -> Path:
    """The team's real data sets; tests using them skip when ../shared is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is not present")
    return data
