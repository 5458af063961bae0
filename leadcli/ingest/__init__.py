"""The import pipeline, one stage a module.

    csvfile     bytes -> rows: encodings, delimiters, footers
    columns     header -> field: aliases of every CRM, saved mappings
    values      text -> typed value: dates, money and currencies, phones, booleans, statuses
    records     rows -> lead records, one row at a time (the reference)
    columnwise  rows -> the same records, a column at a time (the fast path)
    dedupe      records -> same person? in the file, then against the database
    write       records -> the store, one transaction
    runs        runs, undo
    limits      the bounds that keep an import's memory small whatever the file holds
    pipeline    the stages in order: `import_file`, and `read_rows` for reading without importing

The database is always given (`db=`): a `leadcli.store.Store` or a path.
"""

from __future__ import annotations

from leadcli.errors import BadFile, TooManyRejects
from leadcli.ingest.columnwise import RecordBuilder
from leadcli.ingest.limits import parse_size
from leadcli.ingest.options import DUPLICATE_MODES, MATCH_KEYS, ImportOptions, ImportReport, reject_limit
from leadcli.ingest.pipeline import ReadResult, import_file, read_rows
from leadcli.ingest.records import RowBuilder
from leadcli.ingest.runs import list_runs, undo_run
from leadcli.ingest.shape import RECORD, UPDATABLE
from leadcli.ingest.values import unneutralise

__all__ = [
    "BadFile", "DUPLICATE_MODES", "ImportOptions", "ImportReport", "MATCH_KEYS", "RECORD", "ReadResult",
    "RecordBuilder", "RowBuilder", "TooManyRejects", "UPDATABLE", "import_file", "list_runs", "read_rows",
    "parse_size", "reject_limit", "undo_run", "unneutralise",
]
