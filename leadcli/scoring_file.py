"""Scoring a CSV file with the active model without importing it: the file is read as `import` reads it.

Kept apart from `scoring` because it needs the import's reader, and the import itself scores the
leads it writes (scoring must not import ingest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leadcli.errors import InvalidValue
from leadcli.scoring import explain, grade_bands, grade_for, lead_values, require_model

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass
class FileScores:
    header: list[str]  # the file's columns, then the added ones (names made unique)
    rows: list[list]  # the file's cells, then score, grade and the top reasons
    scored: int
    unreadable: int
    encoding: str
    delimiter: str


ADDED_COLUMNS = ("score", "grade", "top reason for", "top reason against")


def score_file(s: Session, path: str, *, encoding: str = "auto", delimiter: str = "auto") -> FileScores:
    """Read a CSV exactly as `import` does and score each row with the active model; the database is not changed.

    Rows that `import` would reject keep their cells, with the reason in place of a score.
    """
    from leadcli import ingest

    model = require_model(s)
    bands = grade_bands(s, model)
    result = ingest.read_rows(path, encoding=encoding, delimiter=delimiter)
    src, builder = result.source, result.builder
    try:
        cells_of: list = []
        values_of: list[dict | None] = []
        problems: list[str | None] = []
        for _number, file_cells in src.rows():
            cells_of.append(file_cells)
            try:
                record = builder.as_dict(builder.build(file_cells))
            except InvalidValue as exc:
                values_of.append(None)
                problems.append(exc.message)
                continue
            values_of.append(lead_values(model, record))
            problems.append(None)
        header = list(src.header)
        enc, delim = src.encoding, src.delimiter_name
    finally:
        src.close()
    good = [v for v in values_of if v is not None]
    scores = iter(model.scores({f.name: [v[f.name] for v in good] for f in model.features}, len(good)))
    taken = {h.casefold() for h in header}
    added = []
    for name in ADDED_COLUMNS:
        while name.casefold() in taken:
            name += " (leadcli)"
        taken.add(name.casefold())
        added.append(name)
    rows: list[list] = []
    width = len(header)
    for row_cells, values, problem in zip(cells_of, values_of, problems, strict=False):
        cells: list = (list(row_cells) + [""] * width)[:width]
        if values is None:
            rows.append(cells + [None, None, f"not scored: {problem}", None])
            continue
        score = next(scores)
        ex = explain(model, values, top=1)
        rows.append(cells + [score, grade_for(score, bands), ex.reasons_for[0]["text"] if ex.reasons_for else None,
                             ex.reasons_against[0]["text"] if ex.reasons_against else None])
    return FileScores(header + added, rows, len(good), len(values_of) - len(good), enc, delim)
