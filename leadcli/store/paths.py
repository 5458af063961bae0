"""Where the database is: `--db`, `LEADCLI_DB`, or the user data dir; and private files."""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
from pathlib import Path

from leadcli.errors import DatabaseError

ENV_DB = "LEADCLI_DB"

# A URL is a scheme and `://`; anything else (`?`, `#`, `%41`, `file:x.db`, spaces) is a file name, taken literally.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def default_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("leadcli", appauthor=False) / "leads.db"


def resolve_path(db: str | None = None) -> Path:
    """`db` (the `--db` option or a library caller's path), else `LEADCLI_DB`, else `leads.db` in the
    user data dir."""
    raw = db or os.environ.get(ENV_DB) or ""
    if not raw:
        return default_path()
    if is_url(raw):
        if raw.startswith("sqlite:///"):
            return Path(raw[len("sqlite:///"):]).expanduser()
        scheme = raw.split("://", 1)[0]
        if scheme in PG_SCHEMES:
            raise DatabaseError(f"{describe(raw)} is a PostgreSQL database, not a file",
                                hint="this command needs a SQLite file; see `leadcli db copy` to move data")
        raise DatabaseError(
            f"database URL scheme {scheme!r} is not supported by this version of leadcli",
            hint="use a SQLite file path (or sqlite:///PATH) or a postgresql+psycopg:// URL with --db or LEADCLI_DB",
        )
    return Path(raw).expanduser()


PG_SCHEMES = ("postgresql+psycopg", "postgresql", "postgres")


def is_url(raw: str) -> bool:
    """True when `raw` starts with a scheme followed by `://` (`sqlite:///…`, `postgresql+psycopg://…`)."""
    return _URL.match(raw) is not None


def server_url(db: str | None = None) -> str | None:
    """The PostgreSQL URL given by `db` or `LEADCLI_DB` (spelled for SQLAlchemy's psycopg 3 driver), or None
    when the database is a SQLite file."""
    raw = db or os.environ.get(ENV_DB) or ""
    scheme, sep, rest = raw.partition("://")
    if not sep or not is_url(raw) or scheme not in PG_SCHEMES:
        return None
    return f"postgresql+psycopg://{rest}"


def describe(db: str | None = None) -> str:
    """Where the database is, for messages and hooks: the file's path, or the URL without its password."""
    url = server_url(db)
    if url is None:
        return str(resolve_path(db))
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def now_iso() -> str:
    """The current UTC time as ISO 8601 with a Z suffix, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def private_folder(folder: Path) -> None:
    """Create `folder` and any missing parent, each readable by the owner only (0700, whatever the umask)."""
    missing = []
    for part in (folder, *folder.parents):
        if os.path.lexists(part):
            break
        missing.append(part)
    for part in reversed(missing):
        try:
            os.mkdir(part, 0o700)
        except FileExistsError:
            continue
        os.chmod(part, 0o700)


def create_private_file(path: Path) -> None:
    """Create `path` (and its folder) readable by the owner only: leads are personal data.

    A name that is a symbolic link to a missing file is refused: the database is never created
    somewhere else than the path given."""
    if path.is_symlink() and not path.exists():
        raise DatabaseError(f"{path} is a symbolic link to {os.readlink(path)}, which does not exist",
                            hint="point --db / LEADCLI_DB at the real file, or remove the link")
    try:
        private_folder(path.parent)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the database at {path}: {exc.strerror}",
            hint="pass a writable location with --db PATH or LEADCLI_DB",
        ) from exc


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
