"""Paths are paths: file names are taken literally, outputs never follow a symbolic link, files are 0600 and
folders 0700 under any umask, and a full disk leaves neither a truncated file nor temporary debris."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from leadcli import store
from leadcli.errors import DatabaseError
from leadcli.store.paths import resolve_path, server_url

pytestmark = pytest.mark.sqlite_only

NAMES = ["a?mode=ro.db", "%41.db", "db#1.db", "ünï cödé.db", "file:x.db", "?.db", "a%20b.db", "x.db?cache=shared",
         "with space.db", "#", "sqlite:x.db"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _others(folder: Path, name: str) -> list[str]:
    """Files in `folder` other than `name` and its SQLite companions."""
    return sorted(p.name for p in folder.iterdir() if p.name not in (name, f"{name}-wal", f"{name}-shm"))


@pytest.mark.parametrize("name", NAMES)
def test_db_option_opens_exactly_the_file_named(cli, tmp_path, name):
    folder = tmp_path / "dbs"
    folder.mkdir()
    path = folder / name
    cli.ok("--db", str(path), "add", "Ana Literal")
    assert path.is_file() and _mode(path) == 0o600
    assert _others(folder, name) == []
    con = sqlite3.connect(f"file:{path.as_posix().replace('%', '%25').replace('?', '%3f').replace('#', '%23')}"
                          "?mode=ro", uri=True)
    assert con.execute("SELECT name FROM lead").fetchall() == [("Ana Literal",)]
    con.close()
    assert "Ana Literal" in cli.ok("--db", str(path), "list").stdout


@pytest.mark.parametrize("name", NAMES)
def test_env_and_relative_names_are_literal(cli, tmp_path, monkeypatch, name):
    """A relative name such as `file:x.db` (no `//`) is a file in the current folder, never a URI."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("LEADCLI_DB", name)
    cli.ok("add", "Bo Relative")
    assert (folder / name).is_file()
    assert _others(folder, name) == []
    assert "Bo Relative" in cli.ok("list").stdout


def test_urls_need_a_scheme_and_slashes(tmp_path):
    assert resolve_path("file:x.db") == Path("file:x.db")
    assert resolve_path("a?b=c#d") == Path("a?b=c#d")
    assert resolve_path("dir with space://x.db") == Path("dir with space://x.db")
    assert resolve_path(f"sqlite:///{tmp_path}/a?mode=ro.db") == Path(f"{tmp_path}/a?mode=ro.db")
    assert server_url("postgresql:x") is None and server_url("my postgresql://x") is None
    assert server_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(DatabaseError, match="not supported"):
        resolve_path("mysql://u@h/db")


def test_sqlite_url_is_literal_after_the_slashes(cli, tmp_path):
    path = tmp_path / "u?mode=memory&x=%41.db"
    cli.ok("--db", f"sqlite:///{path}", "add", "Cy Url")
    assert path.is_file()
    assert _others(tmp_path, path.name) == []


# ---------------------------------------------------------------- symbolic links


def test_new_database_at_a_dangling_link_is_refused(cli, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "victim.db"
    elsewhere.parent.mkdir()
    link = tmp_path / "leads.db"
    link.symlink_to(elsewhere)
    result = cli("--db", str(link), "add", "Ana")
    assert result.exit_code == 1
    assert "symbolic link" in result.stderr and "hint:" in result.stderr and "Traceback" not in result.stderr
    assert not elsewhere.exists() and list(elsewhere.parent.iterdir()) == []
    assert link.is_symlink()


def _victim(tmp_path: Path) -> tuple[Path, Path]:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    return victim, link


def test_export_output_replaces_a_link_never_writes_through_it(cli, tmp_path):
    cli.ok("add", "Ana", "--email", "ana@x.io")
    victim, link = _victim(tmp_path)
    refused = cli("export", "--output", str(link))
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    cli.ok("export", "--output", str(link), "--force")
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and "ana@x.io" in link.read_text() and _mode(link) == 0o600


def test_private_output_replaces_a_link(tmp_path):
    """`score file --output` and `intake --rejects` write through output.open_private (private_output)."""
    from leadcli.output import open_private

    victim, link = _victim(tmp_path)
    with open_private(str(link)) as fh:
        fh.write("scored\n")
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and link.read_text() == "scored\n" and _mode(link) == 0o600


def test_backup_target_link_is_replaced_not_followed(cli, tmp_path):
    cli.ok("add", "Ana")
    victim, link = _victim(tmp_path)
    refused = cli("db", "backup", str(link))
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert victim.read_text() == "precious\n"
    cli.ok("db", "backup", str(link), "--force")
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and _mode(link) == 0o600
    assert sqlite3.connect(link).execute("SELECT name FROM lead").fetchall() == [("Ana",)]


def test_backup_to_a_dangling_link_creates_nothing_elsewhere(cli, tmp_path):
    cli.ok("add", "Ana")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "copy.db"
    link.symlink_to(elsewhere / "copy.db")
    result = cli("db", "backup", str(link))
    assert result.exit_code == 1 and "already exists" in result.stderr
    cli.ok("db", "backup", str(link), "--force")
    assert list(elsewhere.iterdir()) == [] and not link.is_symlink()


def test_saved_mapping_replaces_a_link(cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("name,email\nAna,ana@x.io\n")
    victim, link = _victim(tmp_path)
    cli.ok("import", str(src), "--dry-run", "--save-mapping", str(link))
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and "email" in link.read_text() and _mode(link) == 0o600


def test_import_rejects_never_writes_through_a_link(cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("name,email\nAna,ana@x.io\n,\n")
    victim, link = _victim(tmp_path)
    cli("import", str(src), "--rejects", str(link))
    assert victim.read_text() == "precious\n"


# ---------------------------------------------------------------- modes under any umask


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_new_database_and_its_folders_are_private(cli, tmp_path, umask):
    path = tmp_path / "a" / "b" / "c" / "leads.db"
    cli.ok("--db", str(path), "add", "Ana")
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert _mode(folder) == 0o700, folder
    assert _mode(path) == 0o600
    with store.session(path=path) as s:  # an open connection keeps its -wal and -shm: private too
        s.connection().exec_driver_sql("SELECT count(*) FROM lead").fetchall()
        for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if companion.exists():
                assert _mode(companion) == 0o600, companion


def test_outputs_are_private(cli, tmp_path, umask):
    cli.ok("add", "Ana")
    cli.ok("export", "--output", str(tmp_path / "out.csv"))
    assert _mode(tmp_path / "out.csv") == 0o600
    cli.ok("db", "backup", str(tmp_path / "new" / "deeper" / "copy.db"))
    assert _mode(tmp_path / "new" / "deeper" / "copy.db") == 0o600
    assert _mode(tmp_path / "new") == 0o700 and _mode(tmp_path / "new" / "deeper") == 0o700


# ---------------------------------------------------------------- full disks


@pytest.fixture
def tiny_disk(tmp_path):
    """A 512 KiB tmpfs: a real ENOSPC. Needs root (mount); skipped elsewhere."""
    point = tmp_path / "tiny"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(point)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _many_leads(count: int = 2500, first: int = 0) -> None:
    from leadcli import leads

    with store.session(write=True) as s:
        for i in range(first, first + count):
            leads.add_lead(s, leads.LeadInput(name=f"Lead {i} " + "x" * 300, email=f"l{i}@x.io"))


def _assert_clean_failure(result, folder: Path) -> None:
    assert result.exit_code == 1, result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert "full" in result.stderr or "space" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == []  # no truncated file, no .part


def test_export_on_a_full_disk_leaves_nothing(cli, tiny_disk):
    _many_leads()
    _assert_clean_failure(cli("export", "--output", str(tiny_disk / "all.csv")), tiny_disk)


def test_backup_on_a_full_disk_leaves_nothing(cli, tiny_disk):
    _many_leads()
    _assert_clean_failure(cli("db", "backup", str(tiny_disk / "copy.db")), tiny_disk)


def test_backup_on_a_full_disk_keeps_the_old_copy(cli, tiny_disk):
    _many_leads(5)
    cli.ok("db", "backup", str(tiny_disk / "copy.db"))
    before = (tiny_disk / "copy.db").read_bytes()
    _many_leads(first=5)
    result = cli("db", "backup", str(tiny_disk / "copy.db"), "--force")
    assert result.exit_code == 1 and "full" in result.stderr
    assert (tiny_disk / "copy.db").read_bytes() == before
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["copy.db"]


def test_full_disk_stub_export(cli, tmp_path, monkeypatch):
    """The same without a mount: the disk fills when the finished file is synced."""
    _many_leads(3)

    def full(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out"
    out.mkdir()
    _assert_clean_failure(cli("export", "--output", str(out / "all.csv")), out)


def test_full_disk_stub_backup(cli, tmp_path, monkeypatch):
    import leadcli.store.sqlite_admin as admin

    _many_leads(3)
    real = admin._copy

    def copy_then_fill(source, target):
        real(source, target)  # a partial copy is on disk...
        raise sqlite3.OperationalError("database or disk is full")  # ...when the disk fills

    monkeypatch.setattr(admin, "_copy", copy_then_fill)
    out = tmp_path / "out"
    out.mkdir()
    _assert_clean_failure(cli("db", "backup", str(out / "copy.db")), out)


def test_output_to_dev_full(cli):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    cli.ok("add", "Ana")
    result = cli("export", "--output", "/dev/full")
    assert result.exit_code == 1 and "error:" in result.stderr and "Traceback" not in result.stderr
