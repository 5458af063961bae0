"""Hook events of the commands that change leads, fired after their transaction has committed.

Each helper takes what the command already has once its session block has closed, builds a
`hooks.Batch` for the command's database (off under `--no-hooks`), fires it and shows any
warning: a failing or hanging hook never undoes the command's work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _fire(events: Iterable[tuple[str, dict[str, Any]]]) -> None:
    from leadcli import output
    from leadcli.commands._context import current_hooks

    batch = current_hooks()
    for event, payload in events:
        batch.add(event, payload)
    for warning in batch.fire():
        output.warn(warning)


def lead_created(record: dict[str, Any], via: str) -> None:
    from leadcli import hooks

    _fire([("on-lead-created", hooks.lead_created(record, via=via))])


def status_changed(changes: Iterable[tuple[int, str | None, str | None, str | None, str | None]], via: str) -> None:
    """`changes`: (lead id, name, from, to, reason) for each lead whose status changed."""
    from leadcli import hooks

    _fire(("on-status-change", hooks.status_changed(lead_id, name, before, after or "", reason, via=via))
          for lead_id, name, before, after, reason in changes if before != after)


def stage_results(results: Iterable[Any], via: str) -> None:
    """The changed leads of a `stage_moves` run (contact, qualify, disqualify, reopen)."""
    status_changed(((r.lead_id, r.lead, r.from_status, r.to_status, r.reason) for r in results
                    if r.outcome == "changed"), via)


def conversions(results: Iterable[Any], dry_run: bool) -> None:
    if dry_run:
        return
    status_changed(((r.lead_id, r.lead, None, "converted", None) for r in results if r.outcome == "converted"),
                   "convert")


def import_finished(summary: dict[str, Any], via: str, created: Iterable[dict[str, Any]] = ()) -> None:
    from leadcli import hooks

    events = [("on-lead-created", hooks.lead_created(record, via=via)) for record in created]
    _fire([*events, ("on-import-finished", hooks.import_finished(summary, via=via))])


def activities_due(owner: str | None = None) -> None:
    """Announce each planned activity that has come due, once: claimed and marked in one transaction,
    fired after it commits. Nothing is claimed when no `on-activity-due` hook would run."""
    from leadcli import arrivals, hooks
    from leadcli.commands._context import current_hooks, current_store
    from leadcli.store import now_iso

    batch = current_hooks()
    if not hooks.enabled(batch.enabled) or not (hooks.hooks_dir() / "on-activity-due").exists():
        return
    with current_store().session(write=True) as s:
        due = arrivals.claim_due(s, now_iso(), owner)
    _fire(("on-activity-due", hooks.activity_due(d["activity"], d["lead"])) for d in due)


def check_assign(assign: str | None) -> None:
    """A bad `--assign` is a usage error before anything is written."""
    if assign:
        from leadcli import routing

        routing.parse_strategy(assign)


def after_import(report: Any, assign: str | None, dry_run: bool) -> None:
    """After an import has committed: route the leads it created (rules, `--assign`), then the hooks."""
    from leadcli import arrivals
    from leadcli.commands._context import current_store

    if dry_run:
        return
    arrivals.route_run(current_store(), report.run_id, assign)
    import_finished(report.summary(), "import")
