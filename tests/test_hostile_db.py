"""Another application's database is not ours; a damaged, read-only or newer database is refused for writes
with an `error:` and a `hint:`, never a traceback; every refused command leaves the file's bytes as they were;
SQLite's own rollback (a full disk) is reported as what it is."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from leadcli import store
from leadcli.store.migrations import LATEST

pytestmark = pytest.mark.sqlite_only


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _companions(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def places_sqlite(path: Path) -> Path:
    """The shape of a browser's history database: its own tables and its own user_version."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, visit_count INTEGER);
        CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, place_id INTEGER, visit_date INTEGER);
        CREATE INDEX moz_places_url ON moz_places (url);
        INSERT INTO moz_places (url, title, visit_count) VALUES ('https://example.org/', 'Example', 3);
        PRAGMA user_version = 77;
    """)
    con.close()
    return path


def app_db(path: Path) -> Path:
    """Any application's database: user_version 0, a table called `lead` even, but no leadcli schema."""
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE lead (id INTEGER PRIMARY KEY, who TEXT); INSERT INTO lead (who) VALUES ('x');")
    con.close()
    return path


def ours(path: Path, leads: int = 3) -> Path:
    from leadcli import leads as leads_

    with store.session(write=True, path=path) as s:
        for i in range(leads):
            leads_.add_lead(s, leads_.LeadInput(name=f"Lead {i}", email=f"l{i}@x.io"))
    store.dispose_all()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def corrupt(path: Path) -> Path:
    """A leadcli database whose e-mail index root page is scribbled over (the file header stays valid)."""
    ours(path, 200)
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_lead_email_key'").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start:start + 64] = b"\x55" * 64
    path.write_bytes(bytes(data))
    return path


def newer(path: Path) -> Path:
    ours(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 5}")
    con.commit()
    con.close()
    return path


def restored(path: Path) -> Path:
    """A leadcli database as `db backup` writes it: rollback-journal mode, not WAL."""
    ours(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    return path


def text_file(path: Path) -> Path:
    path.write_text("name,email\nAna,ana@x.io\n" * 50)
    return path


def random_bytes(path: Path) -> Path:
    path.write_bytes(os.urandom(4096 * 3))
    return path


def short_file(path: Path) -> Path:
    path.write_bytes(b"SQLite")
    return path


FOREIGN = {"places": places_sqlite, "app": app_db}
NOT_SQLITE = {"text": text_file, "random": random_bytes, "short": short_file}
COMMANDS = [("list",), ("add", "Ana"), ("show", "1"), ("export",), ("report", "conversion"), ("db", "migrate"),
            ("db", "check"), ("import", "IN"), ("today",)]


def _run(cli, db: Path, args: tuple[str, ...], tmp_path: Path):
    src = tmp_path / "in.csv"
    src.write_text("name,email\nZed,zed@x.io\n")
    return cli("--db", str(db), *[str(src) if a == "IN" else a for a in args])


# ---------------------------------------------------------------- not ours


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("kind", FOREIGN)
def test_another_applications_database_is_refused_untouched(cli, tmp_path, kind, args):
    (tmp_path / "data").mkdir()
    db = FOREIGN[kind](tmp_path / "data" / "other.sqlite")
    before = sha(db)
    result = _run(cli, db, args, tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "another application" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert sha(db) == before and _companions(db) == []


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("kind", NOT_SQLITE)
def test_a_file_that_is_not_sqlite_is_refused_untouched(cli, tmp_path, kind, args):
    (tmp_path / "data").mkdir()
    db = NOT_SQLITE[kind](tmp_path / "data" / "file.db")
    before = sha(db)
    result = _run(cli, db, args, tmp_path)
    assert result.exit_code == 1, result.stderr
    assert "not a readable leadcli database" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert sha(db) == before and _companions(db) == []


def test_an_empty_file_is_a_new_database(cli, tmp_path):
    db = tmp_path / "new.db"
    db.touch(mode=0o600)
    cli.ok("--db", str(db), "add", "Ana")
    assert "Ana" in cli.ok("--db", str(db), "list").stdout


def test_foreign_check_happens_before_the_journal_switch(tmp_path):
    """The WAL switch rewrites the header: it must never run on a file that is not ours."""
    from leadcli.errors import DatabaseError

    db = places_sqlite(tmp_path / "places.sqlite")
    with pytest.raises(DatabaseError, match="another application"):
        store.engine(db)
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


# ---------------------------------------------------------------- damaged


def test_damaged_database_is_refused_for_writes(cli, tmp_path):
    db = corrupt(tmp_path / "leads.db")
    before = sha(db)
    for args in (("add", "Ana", "--email", "new@x.io"), ("edit", "1", "--company", "Acme"), ("archive", "2"),
                 ("db", "migrate")):
        result = cli("--db", str(db), *args)
        assert result.exit_code == 1, (args, result.stderr)
        assert "damaged" in result.stderr and "db check" in result.stderr and "db backup" in result.stderr
        assert "Traceback" not in result.stderr
        assert sha(db) == before
    check = cli("--db", str(db), "db", "check")
    assert check.exit_code == 1 and "integrity" in check.stdout + check.stderr
    assert sha(db) == before


def test_damaged_database_can_still_be_backed_up(cli, tmp_path):
    db = corrupt(tmp_path / "leads.db")
    before = sha(db)
    cli.ok("--db", str(db), "db", "backup", str(tmp_path / "saved.db"))
    assert sha(db) == before and (tmp_path / "saved.db").stat().st_size > 0


def test_corruption_found_by_sqlite_on_a_big_file_is_reported_with_the_hint(cli, tmp_path, monkeypatch):
    """Above the size where a quick_check is cheap, SQLite's own SQLITE_CORRUPT is what stops the write."""
    import leadcli.store.sqlite_file as sqlite_file

    monkeypatch.setattr(sqlite_file, "QUICK_CHECK_BYTES", 0)
    db = corrupt(tmp_path / "leads.db")
    before = sha(db)
    result = cli("--db", str(db), "add", "Ana", "--email", "l7@x.io")  # the duplicate check reads the index
    assert result.exit_code == 1, result.stderr
    assert "damaged" in result.stderr and "db check" in result.stderr and "Traceback" not in result.stderr
    assert sha(db) == before


# ---------------------------------------------------------------- read-only


@pytest.fixture
def read_only(tmp_path):
    """A folder mounted read-only (a bind mount): even root cannot write there. Needs root; skipped elsewhere."""
    src, view = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(view)], capture_output=True, check=False).returncode:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True, check=False)
        if remount.returncode or os.access(view, os.W_OK):
            pytest.skip("cannot make a read-only mount here")
        yield src, view
    finally:
        store.dispose_all()
        subprocess.run(["umount", "-l", str(view)], check=False)


READS = [("list",), ("show", "1"), ("report", "conversion"), ("export",), ("db", "check"), ("today",),
         ("list", "--search", "Lead")]
WRITES = [("add", "Ana"), ("edit", "1", "--company", "Acme"), ("archive", "1"), ("import", "IN")]


def test_read_commands_work_on_a_read_only_database(cli, tmp_path, read_only):
    src, view = read_only
    ours(src / "leads.db")
    before = sha(src / "leads.db")
    db = view / "leads.db"
    for args in READS:
        result = _run(cli, db, args, tmp_path)
        if args == ("db", "check"):  # the file mode finding is the only complaint
            assert "integrity,true" in result.stdout.replace(" ", ""), result.stdout
            continue
        assert result.exit_code == 0, (args, result.stderr)
    assert "Lead 0" in cli.ok("--db", str(db), "list").stdout
    for args in WRITES:
        result = _run(cli, db, args, tmp_path)
        assert result.exit_code == 1, (args, result.stderr)
        assert "read-only" in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
    assert sha(src / "leads.db") == before and _companions(src / "leads.db") == []


def test_read_only_database_that_needs_an_upgrade_says_so(cli, tmp_path, read_only):
    src, view = read_only
    store.migrate(src / "leads.db", upto=LATEST - 1)
    store.dispose_all()
    result = cli("--db", str(view / "leads.db"), "list")
    assert result.exit_code == 1
    assert "read-only" in result.stderr and "upgrade" in result.stderr and "db migrate" in result.stderr


# ---------------------------------------------------------------- SQLite's own rollback


def test_a_full_disk_is_reported_not_the_second_rollback(tmp_path):
    """SQLite rolls back on its own; the session's ROLLBACK afterwards must not replace the real error."""
    from leadcli.errors import DatabaseError

    db = ours(tmp_path / "leads.db")
    with pytest.raises(DatabaseError) as caught, store.session(write=True, path=db) as s:
        raw = store.raw_connection(s)
        raw.execute("UPDATE lead SET notes = 'x' WHERE id = 1")
        raw.execute("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL or an interrupt
        raise sqlite3.OperationalError("database or disk is full")
    assert "full" in caught.value.message and "rollback" not in caught.value.message
    assert "Lead 0" in [r[0] for r in sqlite3.connect(db).execute("SELECT name FROM lead")]


def test_a_full_disk_inside_a_savepoint_is_reported(tmp_path):
    from leadcli.errors import DatabaseError
    from leadcli.store.session_common import savepoint

    db = ours(tmp_path / "leads.db")
    with pytest.raises(DatabaseError) as caught, store.session(write=True, path=db) as s:
        raw = store.raw_connection(s)
        with savepoint(raw.execute, "item"):
            raw.execute("UPDATE lead SET notes = 'x' WHERE id = 1")
            raw.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
    assert "full" in caught.value.message


@pytest.fixture
def max_pages(monkeypatch):
    """Every connection leadcli opens may grow the file by `pages` pages at most: SQLITE_FULL for real."""
    import leadcli.store.sqlite as sqlite_mod

    limit = {"pages": 0, "on": False}
    real = sqlite_mod._on_connect

    def capped(state, dbapi_conn, record):
        real(state, dbapi_conn, record)
        if not limit["on"]:
            return
        count = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {max(count, 1) + limit['pages']}")

    monkeypatch.setattr(sqlite_mod, "_on_connect", capped)
    return limit


def test_real_sqlite_full_on_a_write_is_an_error_line(cli, tmp_path, max_pages):
    db = ours(tmp_path / "leads.db")
    max_pages["on"] = True
    before = list(sqlite3.connect(db).execute("SELECT id, name FROM lead"))
    result = cli("--db", str(db), "add", "Big", "--note", "n" * 200_000)
    assert result.exit_code == 1, result.stderr
    assert "full" in result.stderr and "hint:" in result.stderr
    assert "cannot rollback" not in result.stderr and "Traceback" not in result.stderr
    assert list(sqlite3.connect(db).execute("SELECT id, name FROM lead")) == before


def test_real_sqlite_full_during_import(cli, tmp_path, max_pages):
    db = ours(tmp_path / "leads.db")
    max_pages["on"] = True
    src = tmp_path / "in.csv"
    src.write_text("name,email,notes\n" + "".join(f"P{i},p{i}@x.io,{'n' * 500}\n" for i in range(2000)))
    result = cli("--db", str(db), "import", str(src))
    assert result.exit_code == 1, result.stderr
    assert "error:" in result.stderr and "cannot rollback" not in result.stderr and "Traceback" not in result.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM lead").fetchone()[0] == 3


def test_real_sqlite_full_during_a_migration(cli, tmp_path, max_pages):
    max_pages["on"] = True
    result = cli("--db", str(tmp_path / "new.db"), "list")
    assert result.exit_code == 1, result.stderr
    assert "full" in result.stderr and "cannot rollback" not in result.stderr and "Traceback" not in result.stderr


def test_read_commands_never_change_a_byte(cli, tmp_path):
    """Not even the journal mode: a restored backup stays as it is until the first write."""
    db = restored(tmp_path / "leads.db")
    before = sha(db)
    for args in (("list",), ("show", "1"), ("report", "conversion"), ("export",), ("db", "check"), ("today",)):
        cli.ok("--db", str(db), *args)
        store.dispose_all()
        assert sha(db) == before, args
    cli.ok("--db", str(db), "add", "Ana")
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------- every refusal leaves the bytes alone


def _good(path: Path) -> Path:
    return ours(path)


SETUPS = {"ours": _good, "restored": restored, "places": places_sqlite, "app": app_db, "corrupt": corrupt,
          "newer": newer, "text": text_file, "random": random_bytes}
REFUSED = [
    ("ours", ("add",)),  # no name: usage error
    ("ours", ("list", "--limit", "abc")),
    ("ours", ("list", "--limit", "nan")),
    ("ours", ("list", "--status", "nonsense")),
    ("ours", ("show", "999999")),
    ("ours", ("edit", "1", "--value", "-5")),
    ("ours", ("edit", "1", "--value", "1e400")),
    ("ours", ("import", "MISSING")),
    ("ours", ("db", "backup", "SELF")),
    ("ours", ("add", "Dup", "--email", "l0@x.io")),
    ("ours", ("disqualify", "1")),  # no --reason
    ("ours", ("log", "99999", "call", "x")),
    ("ours", ("nosuchcommand",)),
    ("restored", ("show", "999999")),
    ("restored", ("edit", "999999", "--company", "X")),
    ("restored", ("log", "1", "call", "x", "--at", "not a date")),
    *((kind, args) for kind in ("places", "app", "corrupt", "newer", "text", "random")
      for args in (("add", "Ana"), ("import", "IN"), ("db", "migrate"), ("edit", "1", "--company", "X"))),
    *((kind, args) for kind in ("places", "app", "newer", "text", "random")
      for args in (("list",), ("export",), ("report", "conversion"), ("show", "1"))),
]


@pytest.mark.parametrize(("kind", "args"), REFUSED, ids=[f"{k}-{'_'.join(a)}" for k, a in REFUSED])
def test_a_refused_command_leaves_the_database_file_unchanged(cli, tmp_path, kind, args):
    (tmp_path / "data").mkdir()
    db = SETUPS[kind](tmp_path / "data" / "leads.db")
    store.dispose_all()
    before = sha(db)
    src = tmp_path / "in.csv"
    src.write_text("name,email\nZed,zed@x.io\n")
    subst = {"IN": str(src), "MISSING": str(tmp_path / "missing.csv"), "SELF": str(db)}
    result = cli("--db", str(db), *[subst.get(a, a) for a in args])
    assert result.exit_code in (1, 2), (result.exit_code, result.stdout, result.stderr)
    assert "error" in result.stderr.lower() and "Traceback" not in result.stderr
    store.dispose_all()
    assert sha(db) == before
