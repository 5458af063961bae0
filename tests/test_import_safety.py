"""Import safety: one transaction, no write lock while reading, real data, and Hypothesis properties."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcli import ingest, leads, store

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only


def dump(path: Path) -> list:
    """Every row of every user table: what "the database is exactly as before" compares."""
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return [(t, con.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()) for t in tables]
    finally:
        con.close()


def test_x_education_leads_import_without_rejects_or_lost_columns(cli, shared_data, tmp_path):
    source = shared_data / "x-education-leads" / "Leads.csv.gz"
    # `Select` is the file's unchosen dropdown: declared as no value, as the README's example does.
    out = json.loads(cli.ok("import", str(source), "--json", "--missing", "Select").stdout)
    with gzip.open(source, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames
    assert out["rows"] == len(rows) == 9240 and out["created"] == 9240 and out["rejected"] == 0
    exported = json.loads(cli.ok("export", "--format", "json").stdout)
    by_id = {lead["external_id"]: lead for lead in exported}
    mapped = {"Prospect ID": "external_id", "Lead Source": "source", "Converted": "status"}
    missing = {"", "select"}
    seen_columns = set()
    for row in rows:
        lead = by_id[row["Prospect ID"]]
        assert lead["status"] == ("converted" if row["Converted"] == "1" else "new")
        assert lead["source"] == (row["Lead Source"] or None)
        for column in header:
            if column in mapped:
                continue
            value = row[column].strip()
            if value.lower() in missing:
                assert column not in lead["fields"]
            else:
                assert lead["fields"][column] == value
                seen_columns.add(column)
    assert seen_columns == set(header) - set(mapped)
    assert sum(lead["status"] == "converted" for lead in exported) == 3561
    again = json.loads(cli.ok("import", str(source), "--json").stdout)
    assert again["created"] == 0 and again["skipped"] == 9240


def test_no_write_lock_is_held_while_the_file_is_read(isolated_db, tmp_path):
    """An interactive `add` can write while an import reads and validates its rows."""
    store.migrate()
    path = tmp_path / "big.csv"
    path.write_text("Name,Email\n" + "".join(f"L{i},l{i}@x.io\n" for i in range(12_000)), encoding="utf-8")
    wrote = []

    def progress(done, total):
        if done > 0 and not wrote:
            other = sqlite3.connect(isolated_db, timeout=0)
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO lead (name, created_at, updated_at) VALUES ('meanwhile', 'x', 'x')")
            other.execute("COMMIT")
            other.close()
            wrote.append(done)

    report = ingest.import_file(path, progress=progress, db=store.Store())
    assert wrote and report.created == 12_000
    with store.session() as s:
        assert len(leads.list_leads(s, leads.LeadFilter())) == 12_001


def test_a_failure_at_the_last_step_leaves_the_database_as_it_was(cli, isolated_db, tmp_path, monkeypatch):
    cli.ok("add", "Before", "--email", "b@x.io")
    cli.ok("import", str(Path(__file__).resolve().parents[1] / "examples" / "leads.csv"))
    before = dump(isolated_db)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(leads, "on_leads_created", boom)
    path = tmp_path / "more.csv"
    path.write_text("Name,Email\nNew,new@x.io\nBefore,b@x.io\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        ingest.import_file(path, ingest.ImportOptions(on_duplicate="update"), db=store.Store())
    assert dump(isolated_db) == before


@pytest.mark.slow
def test_kill_9_during_a_big_import_leaves_the_database_as_it_was(isolated_db, tmp_path):
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("Name,Email,Phone,Created Date\n")
        for i in range(200_000):
            fh.write(f"Lead {i},l{i}@x.io,+1 415 {200 + i % 700} {i % 10000:04d},2024-01-{1 + i % 28:02d} 10:00\n")
    subprocess.run([sys.executable, "-m", "leadcli", "add", "Before"], env=env, check=True, capture_output=True)
    before = dump(isolated_db)
    for delay in (0.5, 1.5, 3.0, 5.0):
        proc = subprocess.Popen([sys.executable, "-m", "leadcli", "-q", "import", str(path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = dump(isolated_db)
        assert state == before or (len(state) == len(before) and
                                   dict(state)["lead"][:1] == dict(before)["lead"][:1] and
                                   len(dict(state)["lead"]) == 200_001), delay
        if state != before:
            return  # the import had committed before the kill: all or nothing held


# ---------------------------------------------------------------- Hypothesis properties

_name = st.text(alphabet="abcdefghij ÄÖ", min_size=1, max_size=8).map(str.strip).filter(bool)
_good_row = st.fixed_dictionaries({
    "Name": _name,
    "Email": st.one_of(st.just(""), st.from_regex(r"[a-d]{1,3}@[a-c]{1,2}\.io", fullmatch=True)),
    "Phone": st.one_of(st.just(""), st.from_regex(r"\+44 20 7946 0[0-9]{2}[1-9]", fullmatch=True)),
    "Estimated Value": st.one_of(st.just(""), st.integers(0, 10**6).map(str)),
    "Lead Status": st.sampled_from(["", "Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                                    "JUNK"]),
    "Industry": st.sampled_from(["", "Retail", "Select", "Food"]),
})
_bad_cell = st.sampled_from([("Email", "not an email"), ("Estimated Value", "-5"), ("Lead Status", "Sideways"),
                             ("Phone", "call me maybe"), ("Name", "")])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_good_row, min_size=1, max_size=12), bad=_bad_cell, where=st.integers(0, 11),
       existing=st.lists(_good_row, max_size=4))
def test_a_random_invalid_row_never_leaves_a_partial_write(isolated_db, tmp_path_factory, rows, bad, where, existing):
    base = tmp_path_factory.mktemp("bad")
    db = store.Store(base / "t.db")
    db.migrate()
    if existing:
        ingest.import_file(_write(base / "seed.csv", existing), db=db)
    before = dump(base / "t.db")
    broken = [dict(r) for r in rows]
    column, value = bad
    target = broken[where % len(broken)]
    target[column] = value
    if column == "Name":
        target.update({"Email": "", "Phone": "", "Industry": "Food"})
    with pytest.raises(ingest.TooManyRejects):
        ingest.import_file(_write(base / "in.csv", broken), ingest.ImportOptions(on_duplicate="update", strict=True),
                           db=db)
    assert dump(base / "t.db") == before
    store.dispose_all()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_good_row, min_size=1, max_size=12), mode=st.sampled_from(["skip", "merge", "update"]))
def test_reimport_is_a_no_op(isolated_db, tmp_path_factory, rows, mode):
    base = tmp_path_factory.mktemp("again")
    db = store.Store(base / "t.db")
    path = _write(base / "in.csv", rows)
    first = ingest.import_file(path, ingest.ImportOptions(on_duplicate=mode), db=db)
    assert first.rejected == 0 and first.created + first.skipped + first.updated == len(rows)
    leads_before = [r for r in dump(base / "t.db") if r[0] != "import_run"]
    for reprocess in (False, True):
        second = ingest.import_file(path, ingest.ImportOptions(on_duplicate=mode, reprocess=reprocess), db=db)
        assert (second.created, second.updated, second.skipped) == (0, 0, len(rows))
        assert [r for r in dump(base / "t.db") if r[0] != "import_run"] == leads_before
    store.dispose_all()


def _write(path: Path, rows: list[dict]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_x_education_resaved_with_a_trailing_comma_reads_the_same(cli, shared_data, tmp_path):
    """A real copy of Leads.csv has a trailing comma on every line (an empty 38th column)."""
    with gzip.open(shared_data / "x-education-leads" / "Leads.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\r\n")[:301]
    plain, trailing = tmp_path / "plain.csv", tmp_path / "trailing.csv"
    plain.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    trailing.write_text("".join(line + ",\r\n" for line in lines), encoding="utf-8")
    a = json.loads(cli.ok("--db", str(tmp_path / "a.db"), "import", str(plain), "--json").stdout)
    b = json.loads(cli.ok("--db", str(tmp_path / "b.db"), "import", str(trailing), "--json").stdout)
    assert a["created"] == b["created"] == 300 and a["rejected"] == b["rejected"] == 0
    export_a = cli.ok("--db", str(tmp_path / "a.db"), "export", "-f", "json").stdout
    export_b = cli.ok("--db", str(tmp_path / "b.db"), "export", "-f", "json").stdout
    def strip(text):
        return [{k: v for k, v in r.items() if k not in ("created_at", "updated_at", "converted_at")}
                for r in json.loads(text)]

    assert strip(export_a) == strip(export_b)


def test_the_import_reports_its_phases_in_order_and_the_bar_never_stands_full_while_it_writes(isolated_db, tmp_path):
    import rich.console

    from leadcli.commands._import_render import Progress

    store.migrate()
    path = tmp_path / "some.csv"
    path.write_text("Name,Email\n" + "".join(f"L{i},l{i}@x.io\n" for i in range(3_000)), encoding="utf-8")
    screen = io.StringIO()
    tracker = Progress(rich.console.Console(file=screen, force_terminal=True, width=100, no_color=True))
    seen: list[tuple[str, bool, str]] = []

    def phase(name):
        tracker.phase(name)
        task = tracker.bar.tasks[0]
        seen.append((name, task.finished, str(task.description)))

    with tracker:
        ingest.import_file(path, progress=tracker.tick, phase=phase, db=store.Store())
    assert [name for name, _, _ in seen] == ["reading", "writing", "checkpoint", "done"]
    assert not any(finished for name, finished, _ in seen if name in ("writing", "checkpoint"))
    assert "reading ✓ → [bold]writing…[/bold]" in seen[1][2]
    assert "writing ✓ → [bold]checkpoint…[/bold]" in seen[2][2]
    phases: list[str] = []
    ingest.import_file(path, ingest.ImportOptions(dry_run=True, reprocess=True), phase=phases.append,
                       db=store.Store())
    assert phases == ["reading", "writing", "done"]  # a dry run writes nothing to checkpoint


@pytest.mark.slow
def test_ctrl_c_during_a_big_import_says_nothing_was_written_and_exits_130(isolated_db, tmp_path):
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    path = tmp_path / "big.csv"
    examples = Path(__file__).resolve().parents[1] / "examples" / "generate_leads.py"
    with open(path, "w", encoding="utf-8") as fh:
        subprocess.run([sys.executable, str(examples), "--size", "100000"], stdout=fh, check=True)
    subprocess.run([sys.executable, "-m", "leadcli", "add", "Before"], env=env, check=True, capture_output=True)
    before = dump(isolated_db)
    proc = subprocess.Popen([sys.executable, "-m", "leadcli", "import", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted: nothing was written"
    assert "Traceback" not in err and out == ""
    assert dump(isolated_db) == before


def test_ctrl_c_while_writing_or_after_the_commit_says_which(cli, isolated_db, tmp_path, monkeypatch):
    from leadcli.ingest import pipeline
    from leadcli.store.postgres_bulk import PgBulkWriter
    from leadcli.store.sqlite_bulk import SqliteBulkWriter

    path = tmp_path / "few.csv"
    path.write_text("Name,Email\nAna,ana@x.io\n", encoding="utf-8")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "write", interrupt)
        result = cli("import", str(path))
    assert (result.exit_code, result.stderr.strip()) == (130, "interrupted: nothing was written")
    assert cli.ok("list", "--format", "csv").stdout.count("\n") <= 1
    for writer in (SqliteBulkWriter, PgBulkWriter):
        monkeypatch.setattr(writer, "checkpoint", interrupt)
    result = cli("import", str(path))
    assert result.exit_code == 130 and "interrupted after the import was written" in result.stderr
    assert "Ana" in cli.ok("list", "--format", "csv").stdout
