"""Errors raised by the library and translated into messages and exit codes by the CLI."""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_DOMAIN = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class LeadcliError(Exception):
    """An expected failure: printed as `error: message` and `hint: hint`, never as a traceback."""

    exit_code = EXIT_DOMAIN

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class NotFound(LeadcliError):
    """A record the user named does not exist."""


class InvalidValue(LeadcliError):
    """A value (from an option or a file) is not acceptable; names the field and the fix."""

    def __init__(self, field: str, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(f"{field}: {message}", hint, exit_code)
        self.field = field
        self.reason = message


class InvalidTransition(LeadcliError):
    """A status change the lead's current stage does not allow."""


class DuplicateLead(LeadcliError):
    """A new lead matches an existing one on e-mail or phone."""


class DatabaseError(LeadcliError):
    """The database cannot be opened, is damaged, or is newer than this program."""


class UsageError(LeadcliError):
    """Options that do not fit together."""

    exit_code = EXIT_USAGE


class BadFile(LeadcliError):
    """A file that cannot be read as CSV: missing, empty, undecodable."""


class TooManyRejects(LeadcliError):
    """More invalid rows than `--max-rejects` allows: nothing was written.

    `report` is the import's report so far (an `ingest.ImportReport`), so `--dry-run` can still
    show the mapping it used.
    """

    report: Any = None


class NoModel(LeadcliError):
    """No scoring model has been trained yet."""


class BadModel(LeadcliError):
    """A stored model is not in a shape this leadcli reads."""


class UntrustedModel(LeadcliError):
    """The active model failed its backtest (too few outcomes, or an AUC too low): it scores nothing."""


class NoOutcomes(LeadcliError):
    """Nothing to learn from: no converted or disqualified leads (or only one kind)."""


class Notice(UserWarning):
    """Something library code did that the user should hear of (not an error): the CLI shows it on
    stderr as a `warning:` line; other callers see a Python warning."""
