"""Hostile input to `import`: never a traceback, always a clear error or a correct import,
and never a partial write."""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path

import dbshim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcli.ingest.values import DEFAULT_MISSING

BASE_CSV = "First Name,Last Name,Email\nAna,Silva,ana@acme.io\nBo,Chen,bo@globex.com\n"
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                       HealthCheck.too_slow]}


def _counts(db: Path) -> tuple[int, int, int]:
    con = dbshim.connect(db)
    try:
        return tuple(con.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM lead", "SELECT count(*) FROM status_change", "SELECT count(*) FROM import_run"))
    finally:
        con.close()


@pytest.fixture
def seeded(cli, tmp_path, isolated_db):
    base = tmp_path / "base.csv"
    base.write_text(BASE_CSV)
    cli.ok("-q", "import", str(base))
    return isolated_db


def _check(cli, db: Path, path: Path, *extra: str) -> dict | None:
    """Import `path`; assert it either failed cleanly with nothing written, or imported consistently."""
    before = _counts(db)
    result = cli("--format", "json", "import", str(path), "--json", *extra)  # a traceback fails the test
    after = _counts(db)
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), result.exit_code
        assert result.stderr.startswith("error:") or "Error:" in result.stderr, result.stderr[:500]
        assert after == before, "a failed import wrote something"
        return None
    summary = json.loads(result.stdout)
    assert after[0] == before[0] + summary["created"]
    assert after[2] == before[2] + (0 if summary.get("dry_run") else 1) or summary.get("created") == 0
    return summary


@settings(max_examples=40, **SETTINGS)
@given(data=st.binary(max_size=2000))
def test_random_bytes(cli, seeded, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "random.csv"
    path.write_bytes(data)
    _check(cli, seeded, path, "--max-rejects", "100%")


@settings(max_examples=25, **SETTINGS)
@given(names=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                              max_size=20).filter(lambda t: t.strip() and t.strip()[0] not in "=+-@'"
                                                   and t.strip().lower() not in DEFAULT_MISSING),
                      min_size=1, max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "cp1251", "latin-1"]))
def test_random_encodings_import_the_right_text(cli, seeded, tmp_path_factory, names, encoding):
    lines = ["Name,Lead Source"] + [f'"{n.replace(chr(34), chr(34) * 2)}",web' for n in names]
    text = "\r\n".join(lines) + "\r\n"
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return
    path = tmp_path_factory.mktemp("enc") / "leads.csv"
    path.write_bytes(raw)
    # Unicode files carry a BOM or are valid UTF-8: detection must find them. Short single-byte texts
    # are ambiguous between code pages, so those are named, as a cron job would.
    named = [] if encoding in ("utf-8", "utf-8-sig", "utf-16") else ["--encoding", encoding]
    summary = _check(cli, seeded, path, "--on-duplicate", "create", *named)
    assert summary is not None and summary["rejected"] == 0
    stored = [r["name"] for r in json.loads(cli.ok("-f", "json", "list", "--sort", "id", "--asc").stdout)]
    assert stored[-len(names):] == [" ".join(n.split()) if n.split() else None for n in names] or \
        stored[-len(names):] == [n.strip() for n in names]


@settings(max_examples=25, **SETTINGS)
@given(rows=st.lists(st.lists(st.sampled_from(["x", "", "a,b", '"q"', "ana@x.io", "1,5", "\n"]), max_size=7),
                     max_size=10))
def test_ragged_rows(cli, seeded, tmp_path_factory, rows):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Name", "Email", "Company"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("ragged") / "ragged.csv"
    path.write_text(buf.getvalue())
    _check(cli, seeded, path, "--max-rejects", "100%")


def test_nul_bytes(cli, seeded, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"Name,Email\nAna\x00Silva,ana2@x.io\nBo,\x00\x00\n")
    _check(cli, seeded, path, "--max-rejects", "100%")


def test_five_megabyte_field(cli, seeded, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text('Name,Notes\nAna Big,"' + "n" * 5_000_000 + '"\n')
    summary = _check(cli, seeded, path)
    if summary is not None:
        assert summary["created"] == 1


def test_formula_looking_values_are_stored_as_text_and_exported_neutralised(cli, seeded, tmp_path):
    path = tmp_path / "formulas.csv"
    path.write_text('Name,Company\n"=HYPERLINK(""http://evil"")",@SUM(A1)\n+cmd,-2+3\n')
    summary = _check(cli, seeded, path)
    assert summary is not None and summary["created"] == 2
    leads = json.loads(cli.ok("-f", "json", "list", "--sort", "id", "--asc").stdout)[-2:]
    assert leads[0]["name"] == '=HYPERLINK("http://evil")' and leads[0]["company"] == "@SUM(A1)"
    exported = cli.ok("export", "--format", "csv").stdout
    assert "'=HYPERLINK" in exported and "'@SUM(A1)" in exported and "'+cmd" in exported


@pytest.mark.parametrize("payload", [
    b"",
    b"\n\n\n",
    b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20,
    b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(200),
    gzip.compress(b"\x00\x01\x02" * 500),
    zlib.compress(bytes(range(256)) * 10),
    b"PK\x03\x04" + bytes(300),
])
def test_binary_and_empty_files_are_clear_errors(cli, seeded, tmp_path, payload):
    path = tmp_path / "weird.csv"
    path.write_bytes(payload)
    before = _counts(seeded)
    result = cli("import", str(path))
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.stderr and "error:" in result.stderr
    assert _counts(seeded) == before


def test_header_only_file_imports_nothing(cli, seeded, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("Name,Email\n")
    result = cli("--format", "json", "import", str(path), "--json")
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        assert json.loads(result.stdout)["created"] == 0
