"""A throwaway PostgreSQL server for tests and CI, started from the server binaries on this machine.

    with running() as server:          # initdb + pg_ctl start in a fresh temporary folder
        url = server.create_database("leadcli_test")   # postgresql+psycopg://postgres@/leadcli_test?host=…
    # stopped, folder removed

The server listens on a Unix socket inside its own temporary folder (and, with `tcp=True`, on
127.0.0.1 at a free port), trusts local connections as the superuser `postgres`, and trades
durability for speed (fsync off): it holds nothing worth keeping.

PostgreSQL refuses to run as root. As root, `initdb` and `pg_ctl` run as the `postgres` user
(`LEADCLI_PG_USER` to name another) and the folder is handed to that user. Anything that prevents
a start raises `Unavailable`, whose message is the reason a test should skip with.

Only the standard library is imported, so `.ci/postgres-up` can run this file before any
virtualenv exists:

    python3 tests/pgserver.py up [--dir DIR] [--tcp] [--db NAME]   # prints the URL; idempotent
    python3 tests/pgserver.py down [--dir DIR]                      # stops it, removes DIR
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ENV_BINDIR = "LEADCLI_PG_BINDIR"
ENV_USER = "LEADCLI_PG_USER"
SUPERUSER = "postgres"
# Settings for a disposable server: no fsync (a crash loses nothing we need), room for the
# million-row COPY benchmarks without a checkpoint in the middle, and enough connections for
# the concurrency tests (8 writers) plus the admin connection.
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "2GB",
    "shared_buffers": "128MB",
    "max_connections": "60",
    "log_min_messages": "warning",
    "log_statement": "none",
}


class Unavailable(RuntimeError):
    """No server can be started here; the message says why (a test skips with it)."""


def find_bindir() -> Path:
    """`LEADCLI_PG_BINDIR`, else the newest /usr/lib/postgresql/N/bin, else `pg_ctl` on PATH."""
    candidates: list[Path] = []
    if os.environ.get(ENV_BINDIR):
        candidates.append(Path(os.environ[ENV_BINDIR]))
    else:
        root = Path("/usr/lib/postgresql")
        if root.is_dir():
            versions = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
            candidates += [v / "bin" for v in reversed(versions)]
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise Unavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in "
        + (", ".join(map(str, candidates)) or "/usr/lib/postgresql/*/bin or on PATH")
        + f"; install the server package or set {ENV_BINDIR}"
    )


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None when we run it as ourselves."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(ENV_USER, "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise Unavailable(
            f"running as root and there is no {name!r} user to run PostgreSQL as (it refuses root); "
            f"create one or set {ENV_USER}"
        ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One PostgreSQL cluster in `base` (data/ and the socket); `start()` creates it if needed."""

    def __init__(self, base: Path | None = None, *, tcp: bool = False) -> None:
        self.bindir = find_bindir()
        self.account = _server_account()
        self.owns_base = base is None
        # A short path under /tmp: a socket path must stay under ~107 bytes, and the server's
        # user must be able to reach it (pytest's tmp folders are private to root).
        self.base = Path(base or tempfile.mkdtemp(prefix="leadcli-pg-", dir="/tmp"))
        self.tcp = tcp
        self.port = 0

    # ------------------------------------------------------------------ addresses

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def host(self) -> str:
        return "127.0.0.1" if self.tcp else str(self.base)

    def url(self, dbname: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server (psycopg 3 driver)."""
        if self.tcp:
            return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.base}&port={self.port}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """The libpq connection string (for psycopg.connect, psql "…")."""
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={dbname}"

    # ------------------------------------------------------------------ life cycle

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        # Not inheriting a pytest pipe on stdin/stdout: pg_ctl's child server would hold it open.
        try:
            proc = subprocess.run(list(argv), cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=120, **kwargs)
        except (OSError, subprocess.SubprocessError) as exc:
            raise Unavailable(f"cannot run {argv[0]}: {exc}") from exc
        if check and proc.returncode != 0:
            raise Unavailable(f"{Path(argv[0]).name} failed ({proc.returncode}): "
                              f"{(proc.stderr or proc.stdout).strip()[-800:]}")
        return proc

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._run(str(self.bindir / "pg_ctl"), "status", "-D", str(self.data), check=False).returncode == 0

    def start(self) -> PgServer:
        """initdb (first time) and start; idempotent when it already runs. A failed start of a
        server in a folder of our own removes the folder again."""
        try:
            return self._start()
        except BaseException:
            if self.owns_base:
                self.stop()
            raise

    def _start(self) -> PgServer:
        self.base.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.account is not None:
            os.chown(self.base, self.account.pw_uid, self.account.pw_gid)
        state = self.base / "address"
        if self.running() and state.exists():
            # Already up (an earlier `up`): keep the address it was started with.
            port, mode = state.read_text().split()
            self.port, self.tcp = int(port), mode == "tcp"
            return self
        if self.running():
            raise Unavailable(f"a server already runs in {self.data} but {state} is missing; stop it first "
                              f"(pg_ctl stop -D {self.data})")
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        self.port = free_port()
        options = dict(SETTINGS, port=str(self.port), unix_socket_directories=f"'{self.base}'",
                       listen_addresses="'127.0.0.1'" if self.tcp else "''")
        # postgresql.auto.conf is read last, so these win over postgresql.conf on every restart.
        (self.data / "postgresql.auto.conf").write_text("".join(f"{k} = {v}\n" for k, v in options.items()))
        log = self.base / "server.log"
        self._run(str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(log))
        state.write_text(f"{self.port} {'tcp' if self.tcp else 'socket'}\n")
        return self

    def stop(self, remove: bool | None = None) -> None:
        """Stop at once (nothing here needs a clean shutdown) and remove the folder we made."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w",
                      check=False)
        if self.owns_base if remove is None else remove:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ databases

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with the server's own psql (no Python driver needed); returns its output."""
        proc = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-d", self.conninfo(dbname), "-c", sql],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, name: str, template: str | None = None, *, replace: bool = True) -> str:
        """A fresh database (dropped first when `replace`); returns its URL."""
        if replace:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)


@contextlib.contextmanager
def running(tcp: bool = False) -> Iterator[PgServer]:
    """A started server in a new temporary folder, stopped and removed on exit."""
    with PgServer(tcp=tcp) as server:
        yield server


def skip_reason() -> str | None:
    """Why no server can be started here, or None when one probably can (binaries and a user)."""
    try:
        find_bindir()
        _server_account()
    except Unavailable as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop a throwaway PostgreSQL for leadcli's tests.")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", default=os.environ.get("LEADCLI_PG_DIR", "/tmp/leadcli-ci-pg"),
                        help="folder of the cluster and its socket (default %(default)s)")
    parser.add_argument("--tcp", action="store_true", help="also listen on 127.0.0.1 at a free port")
    parser.add_argument("--db", default="leadcli_test", help="database to create on `up` (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        server = PgServer(Path(args.dir), tcp=args.tcp)
        if args.action == "down":
            server.stop(remove=True)
            return 0
        if args.action == "status":
            return 0 if server.running() else 3
        server.start()
        if not server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{args.db}'").strip():
            server.create_database(args.db, replace=False)
        print(server.url(args.db))
    except Unavailable as exc:
        print(f"error: cannot start PostgreSQL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
