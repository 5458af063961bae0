"""leadcli merge: merge duplicate leads into one (`merge KEEP DUP...`), list merges, undo one."""

from __future__ import annotations

from typing import Annotated

import typer

IdsArg = Annotated[list[str], typer.Argument(
    help="KEEP DUP... (the lead kept, then the leads merged into it), or `undo MERGE_ID`, or `list`.",
    show_default=False, metavar="KEEP DUP... | undo MERGE_ID | list")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would move; change nothing.")]
Prefer = Annotated[int | None, typer.Option("--prefer", help="This merged lead's values win over the kept "
                                                                "lead's (default: only empty fields are filled).")]
Force = Annotated[bool, typer.Option("--force", help="Let an open lead absorb a converted one.")]


def merge(ids: IdsArg, dry_run: DryRun = False, prefer: Prefer = None, force: Force = False) -> None:
    """Merge duplicate leads into one; prints the merge id (`leadcli merge undo MERGE_ID` reverses it).

    The kept lead gains the others' status history, activities, tags, score history, custom fields
    and empty fields, and their deals, contacts and companies. The merged leads stay as records
    pointing at the kept one; lists and reports count the person once.

    \b
    Example:
      leadcli duplicates
      leadcli merge 12 40 41 --dry-run
      leadcli merge 12 40 41 --prefer 40
      leadcli merge list
      leadcli merge undo 3
    """
    if ids and ids[0] in ("undo", "list"):
        _other(ids, dry_run)
        return
    numbers = _numbers(ids)
    if len(numbers) < 2:
        raise typer.BadParameter("give the lead to keep and at least one lead to merge into it", param_hint="IDS")
    from leadcli import hooks, output
    from leadcli import merge as merging
    from leadcli.commands._context import current_hooks, current_store

    batch = current_hooks()
    with current_store().session(write=not dry_run) as s:
        plan = merging.merge(s, numbers[0], numbers[1:], prefer=prefer, force=force, dry_run=dry_run)
        if not dry_run:
            for lead_id, status in plan.statuses.items():
                batch.add("on-status-change", hooks.status_changed(
                    lead_id, None, status, status, "merged", merged_into=plan.keep_id, merge_id=plan.merge_id))
    _render(plan.as_dict(), dry_run)
    for warning in batch.fire():
        output.warn(warning)


def _numbers(ids: list[str]) -> list[int]:
    try:
        return [int(i) for i in ids]
    except ValueError:
        raise typer.BadParameter(f"{ids!r} are not lead ids", param_hint="IDS") from None


def _render(record: dict, dry_run: bool) -> None:
    from leadcli import output

    moved = ", ".join(f"{n} {table}" for table, n in record["moved"].items() if n) or "no history rows"
    summary = (f"#{record['keep_id']} {'would absorb' if dry_run else 'absorbed'} "
               f"{', '.join('#' + str(i) for i in record['merged_ids'])}: {moved}; "
               f"fields filled: {', '.join(record['filled']) or 'none'}; "
               f"tags added: {', '.join(record['tags']) or 'none'}")
    if output.current_format() in ("json", "jsonl"):
        output.card({**record, "dry_run": dry_run}, title="", fields=[])
    elif not dry_run:
        output.line(str(record["merge_id"]))
    output.message(summary + ("" if dry_run else f"; undo with `leadcli merge undo {record['merge_id']}`"))


def _other(ids: list[str], dry_run: bool) -> None:
    from leadcli import merge as merging
    from leadcli import output
    from leadcli.commands._context import current_store

    if ids[0] == "list":
        with current_store().session() as s:
            rows = merging.runs(s)
        output.rows(rows, ["merge_id", "keep_id", "merged_ids", "prefer_id", "at"], empty="no merges to undo")
        return
    numbers = _numbers(ids[1:])
    if len(numbers) != 1:
        raise typer.BadParameter("give one merge id: `leadcli merge undo MERGE_ID`", param_hint="IDS")
    if dry_run:
        raise typer.BadParameter("`merge undo` has no dry run; `leadcli merge list` shows what it would undo",
                                 param_hint="--dry-run")
    with current_store().session(write=True) as s:
        result = merging.undo(s, numbers[0])
    output.message(f"undid merge {result['merge_id']}: "
                   f"#{', #'.join(map(str, result['merged_ids']))} are separate leads again")
