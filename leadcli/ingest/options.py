"""What an import is asked to do (`ImportOptions`) and what it did (`ImportReport`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leadcli.errors import UsageError
from leadcli.ingest.columns import Mapping

DUPLICATE_MODES = ("skip", "merge", "update", "create")
MATCH_KEYS = {"email": "email_key", "phone": "phone_key", "external_id": "external_id"}
CHUNK = 20_000


@dataclass
class ImportOptions:
    encoding: str = "auto"
    delimiter: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)  # CSV column -> field (--map / --mapping)
    statuses: dict[str, str] = field(default_factory=dict)  # source status -> leadcli status
    match: tuple[str, ...] = ("email", "phone", "external_id")
    on_duplicate: str = "skip"
    source: str | None = None  # for rows without one
    owner: str | None = None
    dry_run: bool = False
    rejects_path: str | None = None
    # N rows, or "P%" of the rows read; None: no limit (rows that cannot be a lead are listed, the
    # rest imports), or none allowed with `strict`.
    max_rejects: str | int | None = None
    day_first: bool = False
    missing: list[str] = field(default_factory=list)  # extra missing-value markers
    reprocess: bool = False  # read every row even when this exact file was imported before
    typed_columns: set[str] = field(default_factory=set)  # columns named by --map: a typo is an error
    strict: bool = False  # a value that does not parse rejects its row (else: kept verbatim, row flagged)
    currency: str | None = None  # the currency of amounts written with an ambiguous symbol (`$`) or none
    sheet: str | None = None  # the sheet of an .xlsx file (else the first)
    # Characters in one field (or line) before the file is refused: a count or a size such as "64M".
    max_field_size: int | str = 64 << 20

    def fingerprint(self) -> str:
        """What decides a run's outcome, to recognise the same file imported the same way."""
        import hashlib

        what = {"match": list(self.match), "on_duplicate": self.on_duplicate, "columns": self.columns,
                "statuses": self.statuses, "source": self.source, "owner": self.owner, "day_first": self.day_first,
                "missing": sorted(self.missing), "encoding": self.encoding, "delimiter": self.delimiter,
                "strict": self.strict, "currency": self.currency, "sheet": self.sheet}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def check(self) -> None:
        if self.on_duplicate not in DUPLICATE_MODES:
            raise UsageError(f"--on-duplicate {self.on_duplicate!r} is not one of {', '.join(DUPLICATE_MODES)}",
                             hint="skip keeps the existing lead, merge fills its empty fields, update overwrites "
                                  "them, create imports a new lead anyway")
        for key in self.match:
            if key not in MATCH_KEYS:
                raise UsageError(f"--match {key!r} is not a key", hint="use any of: email, phone, external_id")
        if self.max_rejects is not None:
            reject_limit(self.max_rejects, 100)
        from leadcli.ingest.limits import parse_size

        self.max_field_size = parse_size(self.max_field_size)
        if self.currency:
            from leadcli.ingest.locale_data import iso_currencies

            if self.currency.strip().upper() not in iso_currencies():
                raise UsageError(f"--currency {self.currency!r} is not an ISO 4217 code",
                                 hint="give a code such as USD, EUR, CAD")
            self.currency = self.currency.strip().upper()

    def add_mappings(self, mapping_file: str | None, maps: list[str], status_maps: list[str], match: str) -> None:
        """Fold in a saved mapping file, `--map COLUMN=field`, `--status-map` and `--match`; then `check()`.

        `--map` wins over the file; its columns are remembered, so a typo in one is an error.
        """
        from leadcli.ingest.columns import load_mapping_file, parse_map_options

        if mapping_file:
            saved = load_mapping_file(mapping_file)
            self.columns.update(saved.columns)
            self.statuses.update(saved.statuses)
            self.missing.extend(saved.missing)
        typed = parse_map_options(maps)
        self.columns.update(typed)
        self.typed_columns = set(typed)
        self.statuses.update(parse_map_options(status_maps, "--status-map"))
        self.match = tuple(k.strip().lower().replace("-", "_") for k in match.split(",") if k.strip())
        self.check()

    def recorded(self) -> dict[str, Any]:
        """The options worth keeping with the run (for `import runs`)."""
        out: dict[str, Any] = {"match": list(self.match), "on_duplicate": self.on_duplicate,
                               "fingerprint": self.fingerprint()}
        for key in ("source", "owner", "rejects_path"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.columns:
            out["columns"] = self.columns
        if self.statuses:
            out["statuses"] = self.statuses
        if self.day_first:
            out["day_first"] = True
        if self.max_rejects is not None:
            out["max_rejects"] = str(self.max_rejects)
        if self.strict:
            out["strict"] = True
        return out


def reject_limit(value: str | int, rows: int) -> int:
    text = str(value).strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 <= pct <= 100:
                raise ValueError
            return int(rows * pct / 100)
        limit = int(text)
        if limit < 0:
            raise ValueError
        return limit
    except ValueError:
        raise UsageError(f"--max-rejects {value!r} is not a count or a percentage",
                         hint="give a number of rows (10) or a share of them (1%)") from None


@dataclass
class ImportReport:
    file: str
    encoding: str
    delimiter: str
    mapping: Mapping
    sha256: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    flagged: int = 0
    no_currency: int = 0  # amounts imported without a currency (an ambiguous `$` and no --currency)
    status_dates: dict[str, int] = field(default_factory=dict)  # column -> closed rows dated by it
    run_id: int | None = None
    dry_run: bool = False
    rejects_file: str | None = None
    first_errors: list[str] = field(default_factory=list)
    flag_notes: list[str] = field(default_factory=list)  # the first values kept verbatim, for the message
    hints: list[str] = field(default_factory=list)
    same_file_runs: list[int] = field(default_factory=list)
    repeat_of: int | None = None  # the earlier run of this exact file, when the rows were not read again
    sample: list[str] | None = None
    # Wall seconds per phase: reading and checking the rows (no lock held), the write transaction
    # (waiting for the write lock included; other writers wait this long) and folding the
    # write-ahead log into the database file afterwards (no lock held).
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "rows": self.rows, "created": self.created, "updated": self.updated,
                "skipped": self.skipped, "rejected": self.rejected, "flagged": self.flagged,
                "amounts_without_currency": self.no_currency, "status_dates": dict(self.status_dates),
                "encoding": self.encoding,
                "delimiter": self.delimiter, "file": self.file, "sha256": self.sha256, "dry_run": self.dry_run,
                "repeat_of": self.repeat_of, "mapping": self.mapping.rows(),
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

