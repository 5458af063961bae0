"""Hostile files cannot exhaust the memory of an import: over-long fields and lines, files of
millions of columns, decompression bombs (.gz, .xlsx) and files that change while they are read
all stop with a clear error and write nothing."""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import dbshim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadcli.errors import BadFile, UsageError
from leadcli.ingest import csvfile, limits
from leadcli.ingest.pipeline import chunk_rows


def _leads(db: Path | str) -> int:
    """Leads in the test's database (0 when a refused import left no SQLite file or no schema)."""
    url = isinstance(db, str) and "://" in db
    if not url and not Path(db).exists():
        return 0
    con = dbshim.connect(db)
    try:
        if not url and not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'lead'").fetchall():
            return 0
        return con.execute("SELECT count(*) FROM lead").fetchone()[0]
    finally:
        con.close()


# ---------------------------------------------------------------- field and line limits


def test_a_field_over_the_limit_names_its_record_and_column(cli, tmp_path, isolated_db):
    path = tmp_path / "big.csv"
    path.write_text("Name,Email,Notes\nAna,ana@acme.io,short\nBo,bo@globex.com," + "x" * 5000 + "\n")
    result = cli("import", str(path), "--max-field-size", "4K")
    assert result.exit_code == 1
    assert "record 2, column 3 ('Notes')" in result.stderr
    assert "4 KiB" in result.stderr and "--max-field-size" in result.stderr
    assert "Traceback" not in result.stderr
    assert _leads(isolated_db) == 0


def test_a_quoted_field_spanning_lines_over_the_limit_names_its_column(cli, tmp_path, isolated_db):
    path = tmp_path / "multi.csv"
    body = "\n".join("y" * 70 for _ in range(100))
    path.write_text(f'Name,Notes,Email\nAna,"{body}",ana@acme.io\n')
    result = cli("import", str(path), "--max-field-size", "2K")
    assert result.exit_code == 1
    assert "record 1, column 2 ('Notes')" in result.stderr
    assert _leads(isolated_db) == 0
    cli.ok("-q", "import", str(path), "--max-field-size", "1M")  # under a higher limit it imports
    assert _leads(isolated_db) == 1


def test_a_line_without_newline_is_never_read_whole(tmp_path):
    path = tmp_path / "line.csv"
    path.write_text("Name,Email\n" + "z" * 300_000)
    with pytest.raises(BadFile, match="record 1, column 1 .'Name'.: a field .or line. is longer than"):
        with csvfile.open_csv(path, max_field=100_000) as src:
            list(src.rows())
    # ... nor a first line
    path.write_text("z" * 300_000)
    with pytest.raises(BadFile, match="first line is longer than the limit"):
        csvfile.open_csv(path, max_field=100_000)


@pytest.mark.parametrize(("text", "size"), [("65536", 65536), ("64K", 64 << 10), ("64M", 64 << 20),
                                            ("1G", 1 << 30), ("64MiB", 64 << 20), ("2 mb", 2 << 20)])
def test_sizes_are_read_with_suffixes(text, size):
    assert limits.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-5", "1X", "NaN", "1e9", "2T0", "99999999999999T"])
def test_a_bad_size_is_a_usage_error(text, cli, tmp_path):
    with pytest.raises(UsageError):
        limits.parse_size(text)
    path = tmp_path / "a.csv"
    path.write_text("Name\nAna\n")
    result = cli("import", str(path), "--max-field-size", text)
    assert result.exit_code == 2 and "--max-field-size" in result.stderr


@pytest.mark.parametrize("width", [2, 60])  # a header line under and over a megabyte
def test_a_header_of_too_many_columns_is_refused(cli, tmp_path, isolated_db, width):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}".ljust(width, "_") for i in range(20_000)) + "\n" + ",".join("x" * 20_000) + "\n")
    result = cli("import", str(path))
    assert result.exit_code == 1 and "20,000 columns" in result.stderr and "16,384" in result.stderr
    assert _leads(isolated_db) == 0


def test_a_record_of_millions_of_cells_is_refused(cli, tmp_path, isolated_db):
    path = tmp_path / "cells.csv"
    path.write_text("Name,Email\nAna,ana@acme.io\n" + "a," * 1_200_000 + "\n")
    result = cli("import", str(path))
    assert result.exit_code == 1 and "record 2 has millions of cells" in result.stderr
    path.write_text("Name,Email\nAna,ana@acme.io\n" + "a," * 20_000 + "\n")
    result = cli("import", str(path))
    assert result.exit_code == 1 and "record 2 has 20,001 cells" in result.stderr
    assert _leads(isolated_db) == 0


def test_wide_files_are_staged_in_smaller_chunks():
    assert chunk_rows(10) == 20_000
    assert chunk_rows(16_384) * 16_384 <= limits.CELLS_PER_CHUNK
    assert chunk_rows(0) == 20_000 and chunk_rows(10**9) == 1


def test_a_wide_file_within_the_limits_imports(cli, tmp_path, isolated_db):
    path = tmp_path / "wide_ok.csv"
    header = ["Name", "Email"] + [f"extra {i}" for i in range(3000)]
    rows = [[f"P{n}", f"p{n}@acme.io"] + [str(n)] * 3000 for n in range(400)]
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    cli.ok("-q", "import", str(path))
    assert _leads(isolated_db) == 400


# ---------------------------------------------------------------- decompression bombs


def _gz_bomb(path: Path, expanded: int) -> None:
    row = b"Ann,ann@example.com,hello\n" * 40_000
    with gzip.open(path, "wb", compresslevel=6) as out:
        out.write(b"Name,Email,Notes\n")
        for _ in range(expanded // len(row) + 1):
            out.write(row)


def test_a_gz_bomb_stops_with_a_clear_error(cli, tmp_path, isolated_db):
    bomb = tmp_path / "bomb.csv.gz"
    _gz_bomb(bomb, 40 << 20)
    result = cli("import", str(bomb), "--on-duplicate", "create")
    assert result.exit_code == 1
    assert "expands more than 100 times" in result.stderr and "decompression bomb" in result.stderr
    assert _leads(isolated_db) == 0
    result = cli("import", str(bomb))  # the SHA-256 pass of a `skip` import stops as early
    assert result.exit_code == 1 and "decompression bomb" in result.stderr


def test_an_ordinary_gz_file_imports(cli, tmp_path, isolated_db):
    path = tmp_path / "ok.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write("Name,Email\n" + "".join(f"P{i},p{i}@acme.io\n" for i in range(2000)))
    cli.ok("-q", "import", str(path))
    assert _leads(isolated_db) == 2000


def _xlsx_bomb(path: Path, expanded: int, lie: bool = False) -> None:
    """A workbook whose sheet inflates to `expanded` bytes; with `lie`, its zip headers say 1,000."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    buf = io.BytesIO()
    book.save(buf)
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != sheet:
                out.writestr(info, src.read(info.filename))
                continue
            with out.open(sheet, "w") as f:
                f.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>')
                block = b'<row r="1"><c r="A1" t="inlineStr"><is><t>Ann</t></is></c></row>' * 10_000
                for _ in range(expanded // len(block) + 1):
                    f.write(block)
                f.write(b"</sheetData></worksheet>")
    if lie:
        data = bytearray(path.read_bytes())
        at = data.find(b"PK\x01\x02")
        while at >= 0:
            length = struct.unpack("<H", data[at + 28:at + 30])[0]
            if data[at + 46:at + 46 + length] == sheet.encode():
                struct.pack_into("<I", data, at + 24, 1000)  # the central directory's size
                local = struct.unpack("<I", data[at + 42:at + 46])[0]
                struct.pack_into("<I", data, local + 22, 1000)  # the local header's
            at = data.find(b"PK\x01\x02", at + 4)
        path.write_bytes(bytes(data))


def test_an_xlsx_bomb_is_refused_from_its_central_directory(cli, tmp_path, isolated_db):
    bomb = tmp_path / "bomb.xlsx"
    _xlsx_bomb(bomb, 40 << 20)
    result = cli("import", str(bomb))
    assert result.exit_code == 1
    assert "its part xl/worksheets/sheet1.xml expands more than 100 times" in result.stderr
    assert _leads(isolated_db) == 0


def test_an_xlsx_part_lying_about_its_size_is_refused_while_streaming(cli, tmp_path, isolated_db):
    bomb = tmp_path / "lie.xlsx"
    _xlsx_bomb(bomb, 40 << 20, lie=True)
    result = cli("import", str(bomb))
    assert result.exit_code == 1 and "cannot read the workbook" in result.stderr
    assert "Traceback" not in result.stderr
    assert _leads(isolated_db) == 0


def test_an_xlsx_from_stdin_is_spooled_and_imports(cli, tmp_path, isolated_db):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    buf = io.BytesIO()
    book.save(buf)
    cli.ok("-q", "import", "-", input=buf.getvalue())
    assert _leads(isolated_db) == 1


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    """Run leadcli in a child process; its peak resident memory in MB (ru_maxrss of the child)."""
    code = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.stderr.write(p.stderr); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "leadcli", *args],
                          capture_output=True, text=True, env=env, timeout=300)
    return int(proc.stdout.split()[-1]) / 1024, proc


@pytest.mark.sqlite_only
def test_peak_memory_stays_bounded_on_bombs_and_endless_lines(tmp_path, isolated_db):
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    bomb = tmp_path / "bomb.csv.gz"
    _gz_bomb(bomb, 256 << 20)
    line = tmp_path / "line.csv.gz"
    with gzip.open(line, "wb", compresslevel=1) as out:
        out.write(b"Name,Email,Notes\nAnn,ann@example.com,")
        for _ in range(100):
            out.write(os.urandom(1 << 19).hex().encode())  # 100 MiB of a line, not compressible 100:1
    xlsx = tmp_path / "bomb.xlsx"
    _xlsx_bomb(xlsx, 256 << 20)
    for path in (bomb, line, xlsx):
        peak, proc = _peak_rss_mb(["import", str(path)], env)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and "error:" in proc.stderr
        assert peak < 300, f"{path.name}: peak {peak:.0f} MB"
    assert _leads(isolated_db) == 0


# ---------------------------------------------------------------- a file that changes while read


def _rows_file(path: Path, n: int) -> None:
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@acme.io\n" for i in range(n)))


@pytest.mark.parametrize("on_duplicate", ["skip", "create"])
def test_a_file_appended_to_while_read_is_refused(cli, tmp_path, isolated_db, monkeypatch, on_duplicate):
    path = tmp_path / "growing.csv"
    _rows_file(path, 60_000)  # more than the first megabyte sampled
    real = csvfile._CountingReader.readinto
    calls = {"n": 0}

    def readinto(self, buffer):
        calls["n"] += 1
        if calls["n"] == 3:
            with open(path, "a") as out:
                out.write("Late,late@acme.io\n")
        return real(self, buffer)

    monkeypatch.setattr(csvfile._CountingReader, "readinto", readinto)
    result = cli("import", str(path), "--on-duplicate", on_duplicate)
    assert result.exit_code == 1, result.stdout
    assert "changed while it was read" in result.stderr and "nothing was imported" in result.stderr
    assert _leads(isolated_db) == 0


def test_a_file_truncated_while_read_is_refused(cli, tmp_path, isolated_db, monkeypatch):
    path = tmp_path / "shrinking.csv"
    _rows_file(path, 60_000)
    size = path.stat().st_size
    real = csvfile._CountingReader.readinto
    calls = {"n": 0}

    def readinto(self, buffer):
        calls["n"] += 1
        if calls["n"] == 3:
            os.truncate(path, size // 2)
        return real(self, buffer)

    monkeypatch.setattr(csvfile._CountingReader, "readinto", readinto)
    result = cli("import", str(path), "--reprocess")
    assert result.exit_code == 1 and "changed while it was read" in result.stderr
    assert _leads(isolated_db) == 0


def test_a_file_replaced_while_read_is_refused(tmp_path):
    path = tmp_path / "replaced.csv"
    _rows_file(path, 10)
    with csvfile.open_csv(path) as src:
        list(src.rows())
        other = tmp_path / "other.csv"
        _rows_file(other, 10)
        os.replace(other, path)  # same content, another file (inode)
        with pytest.raises(BadFile, match="changed while it was read"):
            src.check_unchanged()


def test_an_unchanged_file_passes_the_check(tmp_path):
    path = tmp_path / "same.csv"
    _rows_file(path, 10)
    digest = csvfile.file_sha256(path)
    with csvfile.open_csv(path) as src:
        assert len(list(src.rows())) == 10
        src.check_unchanged(digest)
        with pytest.raises(BadFile):
            src.check_unchanged("0" * 64)  # the content hashed before reading differs


# ---------------------------------------------------------------- long records split outside the csv module


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(['a', 'b', '"', ',', ';', '\n', '\r\n', '\r', ' ', 'x"y', '""']), min_size=1,
                max_size=20))
def test_long_records_split_as_the_csv_module_does(pieces):
    import csv

    text = "".join(pieces)
    if text[0] in "\r\n":
        return
    expected = list(csv.reader(iter(text.splitlines(keepends=True)), delimiter=",", strict=False))
    cells, end = limits.split_record(text, ",")
    rest = list(csv.reader(iter(text[end:].splitlines(keepends=True)), delimiter=",", strict=False))
    assert [cells, *rest] == expected


def test_a_long_multi_line_field_imports_whole(cli, tmp_path, isolated_db):
    path = tmp_path / "long.csv"
    notes = ('He said ""hi""\n' + "y" * 70 + "\r\n") * 30_000  # about 2.5 MB, over LONG_RECORD
    path.write_text(f'Name,Email,Notes\nAna,ana@acme.io,"{notes}"\nBo,bo@globex.com,"short, ""quoted"""\n'
                    f'Cy,cy@initech.com,{"z" * (2 << 20)}\n', newline="")
    cli.ok("-q", "import", str(path))
    con = dbshim.connect(isolated_db)
    try:
        rows = con.execute("SELECT name, notes FROM lead ORDER BY name").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["Ana", "Bo", "Cy"]
    assert rows[0][1] == notes.replace('""', '"').strip()
    assert rows[1][1] == 'short, "quoted"' and rows[2][1] == "z" * (2 << 20)


@pytest.mark.sqlite_only
def test_a_long_field_under_the_limit_imports_within_the_memory_bound(tmp_path, isolated_db):
    """A 56 MiB note (under the default 64 MiB limit) is imported whole, and SQLite's page caches give way
    to its copies instead of adding up (soft_heap_limit): the process stays under 300 MB."""
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    path = tmp_path / "long.csv"
    with path.open("w") as out:
        out.write('Name,Email,Notes\nAnn,ann@example.com,"')
        chunk = "note " * (1 << 18)
        for _ in range(56 * (1 << 20) // len(chunk)):
            out.write(chunk)
        out.write('"\nBo,bo@example.com,short\n')
    peak, proc = _peak_rss_mb(["-q", "import", str(path)], env)
    assert proc.returncode == 0, proc.stderr
    assert peak < 300, f"peak {peak:.0f} MB"
    written = len(chunk) * (56 * (1 << 20) // len(chunk))
    with dbshim.connect(str(isolated_db)) as con:
        lengths = [n for (n,) in con.execute("SELECT length(notes) FROM lead ORDER BY id").fetchall()]
    assert lengths == [written - 1, 5]  # the note whole (its last space trimmed) and the short one
