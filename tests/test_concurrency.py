"""A cron import and a salesperson at work on the same database at the same time.

A 100,000-row `leadcli import` runs in one process while another process performs 200 `add`
and `qualify` commands. WAL lets readers go on during the import; writers queue on the busy
timeout instead of failing. Expected: no "database is locked", no lost write, every row there.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from test_crash import _write_csv

# The file itself: SQLite pragmas, file modes, locks, frozen SQLite schemas.
pytestmark = pytest.mark.sqlite_only

WORKER = textwrap.dedent("""
    import json, sys, time
    from typer.testing import CliRunner
    from leadcli.cli import app

    runner = CliRunner()
    ids = json.loads(sys.argv[1])
    failures, started, finished = [], time.time(), None
    for i in range(200):
        if i % 2 == 0:
            args = ["-q", "add", f"Walk-in {i}", "--email", f"walkin{i}@shop.example", "--source", "walk-in"]
        else:
            args = ["-q", "qualify", str(ids[i // 2])]
        result = runner.invoke(app, args)
        if result.exit_code != 0:
            failures.append({"args": args, "code": result.exit_code, "stderr": result.stderr[-500:]})
    print(json.dumps({"failures": failures, "started": started, "finished": time.time()}))
""")


def test_import_and_interactive_commands_at_once(tmp_path):
    db = tmp_path / "shared.db"
    env = {**os.environ, "LEADCLI_DB": str(db)}
    seed = tmp_path / "seed.csv"
    _write_csv(seed, 400, start=50_000_000)
    subprocess.run([sys.executable, "-m", "leadcli", "-q", "import", str(seed)], env=env, check=True)
    con = sqlite3.connect(db)
    ids = [row[0] for row in con.execute("SELECT id FROM lead WHERE status IN ('new', 'contacted') ORDER BY id")]
    con.close()
    distinct = ids[:100]
    assert len(distinct) == 100

    big = tmp_path / "big.csv"
    _write_csv(big, 100_000)
    importer = subprocess.Popen([sys.executable, "-m", "leadcli", "-q", "import", str(big), "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    worker = subprocess.run([sys.executable, "-c", WORKER, json.dumps(distinct)],
                            env=env, capture_output=True, text=True, timeout=600)
    out, err = importer.communicate(timeout=600)
    import_finished = time.time()
    assert importer.returncode == 0, err[-2000:]
    assert worker.returncode == 0, worker.stderr[-2000:]
    report = json.loads(worker.stdout.strip().splitlines()[-1])
    failures = report["failures"]
    assert not failures, failures[:3]
    assert report["started"] < import_finished, "the commands did not overlap the import"

    con = sqlite3.connect(db)
    total = con.execute("SELECT count(*) FROM lead").fetchone()[0]
    walkins = con.execute("SELECT count(*) FROM lead WHERE source = 'walk-in'").fetchone()[0]
    qualified = con.execute(
        f"SELECT count(*) FROM lead WHERE status = 'qualified' AND id IN ({','.join(map(str, distinct))})"
    ).fetchone()[0]
    assert walkins == 100
    assert total == 400 + 100_000 + 100
    assert qualified == len(distinct)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    summary = json.loads(out)
    assert summary["created"] == 100_000
