"""leadcli score grades and score file: registered on the score app by `score`."""

from __future__ import annotations

from typing import Annotated

import typer


def grades(
    a: Annotated[int | None, typer.Option("--a", min=1, max=100, help="Lowest score of grade A.")] = None,
    b: Annotated[int | None, typer.Option("--b", min=1, max=100, help="Lowest score of grade B.")] = None,
    c: Annotated[int | None, typer.Option("--c", min=1, max=100, help="Lowest score of grade C.")] = None,
) -> None:
    """Show or set the grade bands (default A 75+, B 50+, C 25+, D below); re-grades scored leads.

    \b
    Example:
      leadcli score grades
      leadcli score grades --a 80 --b 60 --c 30
    """
    from leadcli import output, scoring
    from leadcli.commands._context import current_store

    with current_store().session(write=a is not None or b is not None or c is not None) as s:
        if a is None and b is None and c is None:
            bands = scoring.grade_bands(s)
        else:
            changed = scoring.set_grade_bands(s, a, b, c)
            bands = changed["bands"]
            output.message(f"grade bands saved; {changed['regraded']:,} scored lead(s) re-graded")
    output.rows(scoring.band_rows(bands), ["grade", "from", "to"])


def file(
    path: Annotated[str, typer.Argument(metavar="FILE", help="A CSV file (or - for stdin), read as `import` reads it.",
                                        show_default=False)],
    output_path: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                                       help="Write the scored CSV here (default: stdout).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="auto, or the file's encoding (e.g. cp1252).")] = "auto",
    delimiter: Annotated[str, typer.Option("--delimiter", help="auto, or , ; tab |")] = "auto",
) -> None:
    """Score the leads of a CSV without importing them: the file comes back with score, grade and reasons.

    \b
    Example:
      leadcli score file prospects.csv --output prospects-scored.csv
      leadcli score file prospects.csv | sort -t, -k5 -rn | head
    """
    from leadcli import output, scoring_file
    from leadcli.commands._context import current_store
    from leadcli.commands._score_render import render_file_scores

    with current_store().session() as s:
        result = scoring_file.score_file(s, path, encoding=encoding, delimiter=delimiter)
    render_file_scores(result, output_path)
    output.message(f"scored {result.scored:,} row(s) of {path}" + (f" into {output_path}" if output_path else "")
                   + (f"; {result.unreadable:,} row(s) could not be read (see the reason column)"
                      if result.unreadable else ""))
