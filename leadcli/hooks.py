"""Hooks: executables run after a command's transaction commits, one JSON object on their stdin.

They live in `$LEADCLI_HOOKS` (default: `hooks/` beside the default database, in the user data
dir) and are named after the event: `on-lead-created`, `on-status-change`, `on-import-finished`,
`on-activity-due`. A command collects its events in a `Batch` inside its session block and fires
them after the block, so a hook only ever sees committed data and can read the database itself.

A hook that fails (non-zero exit, not executable, crashes) or hangs (killed after
`LEADCLI_HOOK_TIMEOUT` seconds, default 10) is reported as a warning; the command's work stays.
`--no-hooks` (kept on the command's context, handed to `Batch`) or `LEADCLI_NO_HOOKS=1` skips
them all. This module never prints: callers show
`Outcome.warning`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

EVENTS = ("on-lead-created", "on-status-change", "on-import-finished", "on-activity-due")
ENV_DIR = "LEADCLI_HOOKS"
ENV_DISABLED = "LEADCLI_NO_HOOKS"
ENV_TIMEOUT = "LEADCLI_HOOK_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
_FALSE = ("", "0", "false", "no", "off")


def enabled(option: bool = True) -> bool:
    """Whether hooks run: `option` (False for `--no-hooks`) and no `LEADCLI_NO_HOOKS=1` in the environment."""
    return option and os.environ.get(ENV_DISABLED, "").strip().lower() in _FALSE


def hooks_dir() -> Path:
    """`$LEADCLI_HOOKS`, else `hooks/` beside the default database."""
    raw = os.environ.get(ENV_DIR)
    if raw:
        return Path(raw).expanduser()
    from leadcli.store import default_path

    return default_path().parent / "hooks"


def timeout() -> float:
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


@dataclass
class Outcome:
    event: str
    path: Path
    ok: bool
    warning: str | None = None


def fire(event: str, payload: dict[str, Any], *, database: str | Path | None = None,
         enabled_: bool = True) -> list[Outcome]:
    """Run the hook for `event` (if there is one) with `payload` as JSON on stdin.

    `database` is the database the command used: the payload's `database` and the hook's
    `LEADCLI_DB`. Call it only after the transaction that made the change has committed.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown hook event {event!r}")
    if not enabled(enabled_):
        return []
    path = hooks_dir() / event
    if not path.exists():
        return []
    if path.is_dir() or not os.access(path, os.X_OK):
        return [Outcome(event, path, False, f"hook {path} is not executable; `chmod +x {path}` to run it")]
    where = None if database is None else str(database)
    return [_run(event, path, _body(event, payload, where), where)]


def _body(event: str, payload: dict[str, Any], database: str | None) -> bytes:
    from leadcli.output import dumps
    from leadcli.store import now_iso

    return dumps({"event": event, "at": now_iso(), "database": database, **payload}).encode()


def _run(event: str, path: Path, body: bytes, database: str | None) -> Outcome:
    import subprocess

    env = {**os.environ, "LEADCLI_EVENT": event, ENV_DISABLED: "1"}
    if database is not None:
        env["LEADCLI_DB"] = database
    limit = timeout()
    try:
        # Its own session, so a hook's children are killed with it when it hangs.
        proc = subprocess.Popen([str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        return Outcome(event, path, False, f"hook {path} could not start: {exc.strerror or exc}")
    try:
        _, err = proc.communicate(body, timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return Outcome(event, path, False, f"hook {path} was stopped after {limit:g} s "
                                           f"(set {ENV_TIMEOUT} to allow longer)")
    if proc.returncode != 0:
        return Outcome(event, path, False, f"hook {path} failed ({_status(proc.returncode)})" + _tail(err))
    return Outcome(event, path, True)


def _kill(proc: subprocess.Popen) -> None:
    import signal
    import subprocess

    killpg = getattr(os, "killpg", None)  # POSIX only: elsewhere the hook alone is stopped
    try:
        if killpg is None:
            raise ProcessLookupError
        killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        # A grandchild that left the group may still hold the pipes: stop reading them.
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()


def _status(code: int) -> str:
    import signal

    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _tail(err: bytes | None) -> str:
    lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return f": {lines[-1][:200]}" if lines else ""


@dataclass
class Batch:
    """Events a command collects inside its transaction and fires after it commits.

        events = hooks.Batch(database=store.url or str(store.path), enabled=not no_hooks)
        with store.session(write=True) as s:
            ...
            events.add("on-lead-created", {"lead": record})
        for warning in events.fire():
            output.warn(warning)

    An exception in the session block skips `fire()`: nothing is announced that did not happen.
    """

    database: str | Path | None = None
    enabled: bool = True
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, event: str, payload: dict[str, Any]) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown hook event {event!r}")
        self.items.append((event, payload))

    def fire(self) -> list[str]:
        """Run the hooks in order; returns the warnings to show."""
        items, self.items = self.items, []
        warnings: list[str] = []
        if not enabled(self.enabled) or not items:
            return warnings
        for event, payload in items:
            warnings += [o.warning for o in fire(event, payload, database=self.database, enabled_=self.enabled)
                         if o.warning]
        return warnings


# ---------------------------------------------------------------- payloads


def lead_created(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """`on-lead-created`: the lead in the JSON shape of `show`, and how it came (add, intake...)."""
    return {"lead_id": record.get("id"), "lead": record, **extra}


def status_changed(lead_id: int, name: str | None, before: str | None, after: str, reason: str | None = None,
                   **extra: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "name": name, "from": before, "to": after, "reason": reason, **extra}


def import_finished(report: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """`on-import-finished`: the summary of `import --json` (or of `intake`)."""
    return {"report": report, **extra}


def activity_due(activity: dict[str, Any], lead: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"activity": activity, "lead": lead}
