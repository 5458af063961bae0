"""The library: one `Database`, the functions the commands call, plain records back.

    from leadcli import Database
    db = Database("leads.db")
    lead_id = db.add("Ana Silva", email="ana@acme.io", source="referral")
    db.leads(source="referral")                 # the JSON shape of a lead, as `list --format json`
    db.import_csv("export.csv", on_duplicate="merge")   # the summary of `import --json`
    db.report.conversion(by="source")           # the rows of `report conversion --format json`

Every call is one transaction and returns plain dicts and lists (numbers, strings, None), the
same records the CLI prints as JSON. Expected failures raise `leadcli.errors.LeadcliError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from leadcli.store import Store, retry_conflicts

if TYPE_CHECKING:
    from sqlmodel import Session

    from leadcli.query import LeadFilter

# The filters of `list`, by keyword: status (one or a list), source, owner, tag, grade, search,
# since, until (dates as the CLI takes them: YYYY-MM-DD, today, 30d...), archived.
FILTER_KEYS = ("status", "source", "owner", "tag", "grade", "search", "since", "until", "archived")

F = TypeVar("F", bound=Callable[..., Any])


def _retrying(method: F) -> F:
    """A writing call runs again when a PostgreSQL server cancelled its transaction, as a command does."""
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return retry_conflicts(method, *args, **kwargs)
    return call  # type: ignore[return-value]


def _plain(value: Any) -> Any:
    from leadcli.output import to_jsonable

    return to_jsonable(value)


def _filter(filters: dict[str, Any], *, archived: bool | None = None) -> LeadFilter:
    from leadcli.query import build_filter

    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}; use {', '.join(FILTER_KEYS)}")
    status = filters.get("status") or ()
    statuses = [status] if isinstance(status, str) else list(status)
    return build_filter(statuses, filters.get("source"), filters.get("owner"), filters.get("tag"),
                        filters.get("grade"), filters.get("search"), filters.get("since"), filters.get("until"),
                        bool(filters.get("archived")) if archived is None else archived)


class Database:
    """A leadcli database, by path (SQLite) or URL; created and migrated on first use."""

    def __init__(self, path_or_url: str | Path | None = None) -> None:
        self.store = Store(path_or_url)
        self.report = Reports(self.store)

    @property
    def path(self) -> Path:
        return self.store.path

    def session(self, write: bool = False) -> AbstractContextManager[Session]:
        """One transaction for several library calls of your own (`leadcli.leads`, `leadcli.reports`...)."""
        return self.store.session(write=write)

    @_retrying
    def add(self, name: str | None = None, *, tags: Iterable[str] = (), fields: dict[str, Any] | None = None,
            allow_duplicate: bool = False, **values: Any) -> int:
        """Add a lead; returns its id. `values`: email, phone, company, title, source, owner, value,
        currency, first_name, last_name, external_id, notes, created (the options of `add`)."""
        from leadcli import leads

        given = {k: None if v is None else str(v) for k, v in values.items()}
        data = leads.LeadInput(name=name, tags=list(tags), fields=[f"{k}={v}" for k, v in (fields or {}).items()],
                               **given)
        with self.store.session(write=True) as s:
            lead = leads.add_lead(s, data, allow_duplicate=allow_duplicate)
            return lead.key

    def lead(self, lead_id: int) -> dict[str, Any]:
        """One lead in the JSON shape, with its status `history`."""
        from leadcli import leads

        with self.store.session() as s:
            lead = leads.get_lead(s, lead_id)
            record = leads.lead_dict(lead, leads.tags_for(s, [lead_id]).get(lead_id))
            record["history"] = leads.history(s, lead_id)
        return _plain(record)

    def leads(self, *, sort: str | None = None, desc: bool | None = None, limit: int | None = None,
              **filters: Any) -> list[dict[str, Any]]:
        """Leads matching the filters of `list`, newest first (or by `sort`), as `list --format json`."""
        from leadcli import leads

        flt = _filter(filters)
        with self.store.session() as s:
            return _plain(leads.list_leads(s, flt, sort=sort, desc=desc, limit=limit))

    def import_csv(self, path: str | Path, **options: Any) -> dict[str, Any]:
        """Import a CSV file in one transaction; returns the summary of `import --json`.

        `options` are those of `leadcli.ingest.ImportOptions`: on_duplicate, match (a tuple),
        columns ({"CSV column": "field"}), statuses, source, owner, encoding, delimiter, dry_run,
        max_rejects, rejects_path, day_first, missing, reprocess.
        """
        from leadcli import ingest

        report = ingest.import_file(str(path), ingest.ImportOptions(**options), db=self.store)
        return _plain(report.summary())

    @_retrying
    def convert(self, *ids: int, contact: bool = True, company: bool = True, deal: bool = True,
                deal_title: str | None = None, deal_value: str | float | None = None,
                deal_currency: str | None = None, dry_run: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Convert leads (by id, else by the filters of `list`) into a contact, a company and a deal.

        One record per lead, as `convert --format json`; a lead that cannot convert has
        `outcome` "error" and a `reason`, and the others still convert.
        """
        from leadcli import deals, validate

        options = deals.ConvertOptions(
            contact=contact, company=company, deal=deal, deal_title=validate.clean_text(deal_title),
            deal_value_cents=None if deal_value is None else validate.money(str(deal_value), "deal-value"),
            deal_currency=validate.currency(deal_currency, "deal-currency"), dry_run=dry_run)
        flt = _filter(filters)
        with self.store.session(write=not dry_run) as s:
            return _plain([r.as_dict() for r in deals.convert(s, list(ids), flt, options)])

    @_retrying
    def train(self, *, fields: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> dict[str, Any]:
        """Train a scoring model on the closed leads; returns its summary (as `score model --format json`)."""
        from leadcli import scoring, scoring_train

        with self.store.session(write=True) as s:
            result = scoring_train.train(s, fields=list(fields) if fields else None, exclude=list(exclude))
            return _plain(scoring.model_summary(scoring.get_model(s, result.model_id)))

    @_retrying
    def score(self, *ids: int) -> dict[str, Any]:
        """Score the open leads given (all open leads without ids) with the active model.

        Returns `model_id`, `scored`, `grades` (count per grade), `skipped` (closed leads among
        the ids) and, for ids, `rows` (id, score, grade, trend, previous).
        """
        from leadcli import scoring

        with self.store.session(write=True) as s:
            model = scoring.require_model(s)
            scoring.require_trusted(model)
            result = scoring.score_leads(s, model, ids=list(ids) or None, keep_rows=bool(ids))
        return _plain({"model_id": result.model_id, "scored": result.scored, "grades": result.grades,
                       "skipped": result.skipped, "rows": result.rows})

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"


class Reports:
    """`db.report.conversion(...)`: the reports of `leadcli report`, as rows."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def conversion(self, by: str | None = "source", *, measure: str = "count", currency: str | None = None,
                   since: str | None = None, until: str | None = None, all_time: bool = False,
                   date_field: str = "created", as_of: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Leads, conversions and rate per group, as `report conversion --format json`.

        Like the command, counts leads created this calendar year unless since/until/all_time say otherwise.
        """
        from leadcli import reports, validate

        scope = reports.default_scope(
            _filter(filters, archived=True),
            since=validate.user_date(since, "since") if since else None,
            until=validate.user_date(until, "until", end_of_day=True) if until else None,
            all_time=all_time, date_field=date_field,
            as_of=validate.user_date(as_of, "as-of", end_of_day=True) if as_of else None)
        with self._store.session() as s:
            return _plain(reports.conversion(s, scope, by, measure=measure, currency=currency).rows)
