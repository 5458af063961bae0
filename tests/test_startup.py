"""Start-up stays cheap: --help and add import neither pandas nor scikit-learn; the entry points run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("pandas", "sklearn", "scipy")


def _imported_modules(args: list[str], env: dict) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "leadcli", *args],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("args", [["--help"], ["add", "Ana", "--email", "ana@x.io"], ["list", "--limit", "5"]])
def test_light_commands_do_not_import_heavy_libraries(args, isolated_db):
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    modules = _imported_modules(args, env)
    assert not (modules & set(HEAVY)), modules & set(HEAVY)


def test_console_script_smoke(isolated_db):
    """The installed `leadcli` entry point and `python -m leadcli` both work in a real process."""
    env = {**os.environ, "LEADCLI_DB": str(isolated_db)}
    exe = os.path.join(os.path.dirname(sys.executable), "leadcli")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "leadcli"]
    added = subprocess.run(cmd + ["-q", "add", "Ana"], capture_output=True, text=True, env=env, timeout=60)
    assert added.returncode == 0 and added.stdout.strip() == "1", added.stderr
    listed = subprocess.run([sys.executable, "-m", "leadcli", "list"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert listed.returncode == 0 and listed.stdout.startswith("id,name,")
    assert "\x1b[" not in listed.stdout
    missing = subprocess.run(cmd + ["show", "7"], capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
