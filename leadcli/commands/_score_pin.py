"""leadcli score set and score unset: scores pinned by hand, registered on the score app by `score`."""

from __future__ import annotations

from typing import Annotated

import typer


def set_score(
    lead_id: Annotated[int, typer.Argument(metavar="ID", help="The lead's id.", show_default=False)],
    score: Annotated[int, typer.Argument(metavar="SCORE", min=0, max=100, help="0-100.", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown with the score).", show_default=False)],
) -> None:
    """Pin a lead's score by hand: it survives `score train` and `score run` until `score unset`.

    \b
    Example:
      leadcli score set 42 90 --reason "met the CFO"
    """
    from leadcli import output, scoring_pins
    from leadcli.activities import acting_user
    from leadcli.commands._context import current_store

    with current_store().session(write=True) as s:
        row = scoring_pins.pin(s, lead_id, score, reason, acting_user())
    output.message(f"lead #{lead_id} pinned at {score} (grade {row['grade']}) by {row['who']}: {row['reason']}")
    output.rows([row], ["id", "score", "grade", "previous", "reason", "who", "at"])


def unset_score(lead_id: Annotated[int, typer.Argument(metavar="ID", help="The lead's id.", show_default=False)]
                ) -> None:
    """Release a pinned score: the model scores the lead again.

    \b
    Example:
      leadcli score unset 42
    """
    from leadcli import leads, output, scoring_pins
    from leadcli.commands._context import current_store
    from leadcli.errors import UsageError

    with current_store().session(write=True) as s:
        leads.get_lead(s, lead_id)
        released = scoring_pins.unpin(s, lead_id)
        if released is None:
            raise UsageError(f"lead #{lead_id} has no pinned score", hint="pin one: leadcli score set ID SCORE "
                                                                          "--reason TEXT")
    now = released["now_score"]
    output.message(f"lead #{lead_id}: pinned score {released['score']} released; "
                   + (f"the model scores it {now}" if now is not None else "no model score yet"))

