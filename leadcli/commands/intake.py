"""leadcli intake: leads from web forms and other tools, JSON or JSON Lines on stdin."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leadcli.commands._import_options import DryRun, JsonOpt, MappingFileOpt, OnDuplicate, OwnerOpt, SourceOpt

Assign = Annotated[str | None, typer.Option(
    "--assign", help="Owners for new leads no rule routes: round-robin:A,B,C or least-open:A,B.")]
RejectsLog = Annotated[str | None, typer.Option(
    "--rejects", help="Write the payload items that failed, with the reason, to this file (JSON Lines).")]
MaxFailed = Annotated[str | None, typer.Option(
    "--max-rejects", help="Fail (exit 1, nothing written) when more items than N (or P%) cannot be read.")]


def intake(
    mapping: MappingFileOpt = None,
    json: JsonOpt = False,
    assign: Assign = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    on_duplicate: OnDuplicate = "merge",
    rejects: RejectsLog = None,
    max_rejects: MaxFailed = None,
    dry_run: DryRun = False,
) -> None:
    """Take leads from web forms and other tools: JSON or JSON Lines on stdin.

    Reads generic objects, Facebook lead ads (field_data), Typeform and Tally webhooks. The same
    submission twice makes one lead (its submission id is the lead's external id); UTM parameters
    are kept as custom fields (first and last touch). The summary is that of `import --json`.

    \b
    Example:
      leadcli intake --json < submissions.jsonl
      curl -s https://forms.example.com/export.json | leadcli -q intake --assign round-robin:ana,ben
      leadcli report conversion --by utm_source
    """
    import sys

    from leadcli import arrivals, ingest
    from leadcli.commands._context import current_store
    from leadcli.errors import BadFile, TooManyRejects

    data = sys.stdin.read()
    if not data.strip():
        raise BadFile("no payloads on stdin", hint="pipe JSON or JSON Lines in: `leadcli intake < leads.jsonl`")
    if assign:
        from leadcli import routing

        routing.parse_strategy(assign)
    options = ingest.ImportOptions(on_duplicate=on_duplicate.lower(), source=source, owner=owner, dry_run=dry_run,
                                   max_rejects="100%")
    options.add_mappings(mapping, [], [], "external_id,email,phone")
    result = arrivals.intake(data, options, current_store(), assign, max_failed=max_rejects)
    _report(result, json, dry_run, rejects)
    if result.report is None and result.failed:
        raise TooManyRejects("no payload item could be read as a lead",
                             hint="see the reasons above" + (f" and in {rejects}" if rejects else ""))


def _report(result: Any, json: bool, dry_run: bool, rejects: str | None) -> None:
    """Log the failed items, print the summary, then fire the hooks (the work is committed by now)."""
    from leadcli import hooks, output
    from leadcli.commands._context import current_hooks

    if rejects and result.failed:
        with output.open_private(rejects) as out:
            for item in result.failed:
                out.write(output.dumps(item) + "\n")
    for item in result.failed[:5]:
        output.warn(f"item {item['position']} ({item['kind']}): {item['reason']}")
    summary = result.summary()
    if json:
        output.line(output.dumps(summary))
    output.message(f"{'would take' if dry_run else 'took'} {summary['rows']} item(s): {summary['created']} created, "
                   f"{summary['updated']} updated, {summary['skipped']} skipped, {summary['rejected']} rejected"
                   + (f", {result.assigned} assigned" if result.assigned else ""))
    batch = current_hooks()
    for record in result.created:
        batch.add("on-lead-created", hooks.lead_created(record, via="intake"))
    if not dry_run:
        batch.add("on-import-finished", hooks.import_finished(summary, via="intake"))
    for warning in batch.fire():
        output.warn(warning)
