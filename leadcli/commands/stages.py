"""leadcli contact / qualify / disqualify / reopen: move leads through the stages."""

from __future__ import annotations

from typing import Annotated

import typer

from leadcli.commands._options import (
    ArchivedOpt,
    GradeOpt,
    Ids,
    OwnerOpt,
    SearchOpt,
    SinceOpt,
    SourceOpt,
    StatusName,
    StatusOpt,
    TagOpt,
    UntilOpt,
    YesOpt,
    lead_filter,
)

DISQUALIFY_REASONS = ("no budget", "no need", "no authority", "bad timing", "competitor", "unresponsive",
                      "spam", "duplicate", "other")


def _complete_reason(incomplete: str) -> list[str]:
    return [r for r in DISQUALIFY_REASONS if r.startswith(incomplete.lower())]


DisqualifyReason = Annotated[str, typer.Option(
    "--reason", "-r", autocompletion=_complete_reason, show_default=False,
    help=f"Why (required): free text, or one of: {', '.join(DISQUALIFY_REASONS)}.")]
NoteOpt = Annotated[str | None, typer.Option("--reason", "-r", help="A note for the history.")]
ReopenTo = Annotated[StatusName | None, typer.Option(
    "--to", help="The open stage to reopen at (default: the stage it was disqualified from).", show_default=False)]


def contact(ids: Ids = None, reason: NoteOpt = None, status: StatusOpt = None, source: SourceOpt = None,
            owner: OwnerOpt = None, tag: TagOpt = None, grade: GradeOpt = None, search: SearchOpt = None,
            since: SinceOpt = None, until: UntilOpt = None, archived: ArchivedOpt = False, yes: YesOpt = False) -> None:
    """Mark leads as contacted (new -> contacted), by id or by the filters of list.

    \b
    Example:
      leadcli contact 12 13
      leadcli contact --status new --source webinar --yes
    """
    _run("contact", "contacted", ids, reason,
         lead_filter(status, source, owner, tag, grade, search, since, until, archived), yes)


def qualify(ids: Ids = None, reason: NoteOpt = None, status: StatusOpt = None, source: SourceOpt = None,
            owner: OwnerOpt = None, tag: TagOpt = None, grade: GradeOpt = None, search: SearchOpt = None,
            since: SinceOpt = None, until: UntilOpt = None, archived: ArchivedOpt = False, yes: YesOpt = False) -> None:
    """Mark leads as qualified: real interest, ready to convert.

    \b
    Example:
      leadcli qualify 12
      leadcli qualify --grade A --status contacted --yes
    """
    _run("qualify", "qualified", ids, reason,
         lead_filter(status, source, owner, tag, grade, search, since, until, archived), yes)


def disqualify(reason: DisqualifyReason, ids: Ids = None, status: StatusOpt = None, source: SourceOpt = None,
               owner: OwnerOpt = None, tag: TagOpt = None, grade: GradeOpt = None, search: SearchOpt = None,
               since: SinceOpt = None, until: UntilOpt = None, archived: ArchivedOpt = False,
               yes: YesOpt = False) -> None:
    """Drop leads with a reason (no budget, no need, no authority, bad timing, competitor, unresponsive, spam,
    duplicate, other, or your own words).

    \b
    Example:
      leadcli disqualify 12 --reason "no budget"
      leadcli disqualify --source "cold call" --status new --reason spam --yes
    """
    _run("disqualify", "disqualified", ids, reason,
         lead_filter(status, source, owner, tag, grade, search, since, until, archived), yes)


def reopen(ids: Ids = None, to: ReopenTo = None, reason: NoteOpt = None, status: StatusOpt = None,
           source: SourceOpt = None, owner: OwnerOpt = None, tag: TagOpt = None, grade: GradeOpt = None,
           search: SearchOpt = None, since: SinceOpt = None, until: UntilOpt = None, archived: ArchivedOpt = False,
           yes: YesOpt = False) -> None:
    """Reopen disqualified leads at the stage they left (a converted lead comes back through `deals to-lead`).

    \b
    Example:
      leadcli reopen 12
      leadcli reopen 12 --to contacted --reason "budget approved"
      leadcli reopen --status disqualified --source referral --yes
    """
    _run("reopen", to.value if to else None, ids, reason,
         lead_filter(status, source, owner, tag, grade, search, since, until, archived), yes)


def _run(verb: str, to: str | None, ids: list[int] | None, reason: str | None, flt, yes: bool) -> None:
    from leadcli import leads, output, stage_moves
    from leadcli.commands._context import current_store
    from leadcli.commands._options import confirm_bulk
    from leadcli.errors import UsageError

    ids = list(ids or [])
    if not ids:
        if flt.is_empty():
            raise UsageError(f"{verb} needs lead ids or filters",
                             hint=f"e.g. `leadcli {verb} 12 13` or `leadcli {verb} --status new --source web --yes`")
        with current_store().session() as s:
            count = leads.count_leads(s, flt)
        if count == 0:
            output.message("no leads match the filters")
            return
        confirm_bulk(verb.capitalize(), count, yes)
    with current_store().session(write=True) as s:
        if verb == "reopen":
            results = stage_moves.reopen(s, ids, flt, to=to, reason=reason)
        else:
            assert to is not None, "every verb but reopen names its stage"
            results = stage_moves.move(s, to, ids, flt, reason=reason)
    from leadcli.commands._events import stage_results

    stage_results(results, verb)
    report(results)


def report(results) -> None:
    from leadcli import output

    changed = [r for r in results if r.outcome == "changed"]
    failed = [r for r in results if r.outcome == "error"]
    unchanged = [r for r in results if r.outcome == "unchanged"]
    if output.current_format() in ("json", "jsonl"):
        output.rows([r.as_dict() for r in results])
    if len(changed) <= 20:
        for r in changed:
            output.message(f"lead #{r.lead_id} {r.lead}: {r.from_status} -> {r.to_status}")
    for r in unchanged[:20]:
        output.message(f"lead #{r.lead_id} {r.lead}: {r.reason}, left as it is")
    for r in failed[:20]:
        output.error(r.reason or "failed", r.hint)
    if len(failed) > 20:
        output.error(f"... and {len(failed) - 20} more lead(s) could not change")
    if len(results) > 1:
        output.message(f"{len(changed)} changed, {len(unchanged)} unchanged, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
