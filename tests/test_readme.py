"""The README's ```console blocks, run in order against a fresh database and compared byte for byte.

A block is `$ leadcli ...` lines (a trailing backslash continues a command) each followed by exactly
what the command prints in a pipe: stdout, then stderr. The clock is frozen so timestamps match.
"""

from __future__ import annotations

import datetime as _dt
import re
import shlex
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FROZEN = _dt.datetime(2026, 11, 16, 9, 30, tzinfo=_dt.timezone.utc)


def console_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Each block as (command, expected output) pairs."""
    blocks = []
    for body in re.findall(r"^```console\n(.*?)^```$", text, flags=re.S | re.M):
        steps: list[tuple[str, str]] = []
        command: list[str] | None = None
        expected: list[str] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    steps.append((" ".join(command), "".join(expected)))
                command, expected = [line[2:].rstrip("\\").strip()], []
                continuing = line.endswith("\\")
            elif command is not None and continuing:
                command.append(line.rstrip("\\").strip())
                continuing = line.endswith("\\")
            else:
                expected.append(line + "\n")
        if command is not None:
            steps.append((" ".join(command), "".join(expected)))
        blocks.append(steps)
    return blocks


class _FrozenDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return FROZEN if tz is not None else FROZEN.replace(tzinfo=None)


def test_the_parser_reads_commands_and_outputs():
    text = "```console\n$ leadcli add a \\\n    --email x@y.io\n1\n$ leadcli list\nid\n```\n"
    assert console_blocks(text) == [[("leadcli add a --email x@y.io", "1\n"), ("leadcli list", "id\n")]]


def test_readme_console_blocks_print_what_they_show(cli, monkeypatch):
    import leadcli.store.paths

    monkeypatch.setattr(leadcli.store.paths, "_dt", types.SimpleNamespace(
        datetime=_FrozenDatetime, timezone=_dt.timezone, timedelta=_dt.timedelta, date=_dt.date))
    monkeypatch.setenv("LEADCLI_NOW", FROZEN.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LEADCLI_USER", "maria")  # who runs the examples (`created_by`)
    blocks = console_blocks(README.read_text(encoding="utf-8"))
    if not blocks:
        pytest.fail("the README has no console blocks")
    for block in blocks:
        for command, expected in block:
            args = shlex.split(command, comments=True)
            assert args[0] == "leadcli", command
            result = cli(*args[1:])
            assert result.stdout + result.stderr == expected, f"$ {command}"
