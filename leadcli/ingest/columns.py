"""Header -> field: which column of a file is which lead field, and saved mappings.

Headers are matched case-, space- and punctuation-insensitively against leadcli's own names and
the usual headers of Salesforce (labels and API names), HubSpot, Pipedrive, Zoho, Bitrix24
(Russian template) and the X Education file. Every column left unmapped becomes a custom field
under its original header. What the values in those columns mean is `values`' business.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadcli.errors import LeadcliError

# Fields a column can map to. `converted` is a yes/no flag that makes a lead converted;
# `fields` is leadcli's own JSON column of custom fields; `skip` drops a column on purpose.
FIELDS = ("name", "first_name", "last_name", "email", "phone", "company", "title", "source", "owner",
          "value", "currency", "status", "converted", "status_reason", "external_id", "notes", "tags",
          "created_at", "updated_at", "converted_at", "archived_at", "score", "grade", "trend", "fields",
          "next_activity_at", "last_activity_at")
FIELD_ALIASES = {"created": "created_at", "updated": "updated_at", "converted_date": "converted_at",
                 "reason": "status_reason", "id": "external_id", "note": "notes", "tag": "tags",
                 "full_name": "name", "mobile": "phone", "amount": "value"}


def header_key(header: str) -> str:
    """`Person - Email (Work)` -> `personemailwork`: case, spaces and punctuation ignored."""
    text = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in text if ch.isalnum())


# For each field, groups of header keys in priority order: the first group with a column in the
# file wins, and the columns of later groups stay custom fields (e.g. `Mobile Phone` is the phone
# only when there is no `Phone`).
_ALIASES: dict[str, list[list[str]]] = {
    "external_id": [["externalid", "leadid", "recordid", "prospectid", "contactid", "zohoid", "leadleadid",
                     "leadpipedrivesystemid", "pipedrivesystemid", "recordidcontact", "contactrecordid", "mqlid",
                     "dealid"],
                    ["id"]],
    "name": [["fullname", "contactname", "personname", "contactperson", "leadcontactperson", "dealcontactperson",
              "имяфамилия", "фио", "полноеимя", "contact"],
             ["name"],
             # What the lead is called (Pipedrive's lead title, Bitrix24's TITLE, Odoo's `name`): the
             # name only when the file names no person.
             ["leadtitle", "leadname", "названиелида", "dealtitle"]],
    "first_name": [["firstname", "givenname", "personfirstname", "имя"]],
    "last_name": [["lastname", "surname", "familyname", "personlastname", "фамилия"]],
    "email": [["email", "emailaddress", "personemailwork", "personemail", "workemail", "businessemail",
               "primaryemail", "emailfrom", "contactemail", "рабочийemail", "электроннаяпочта", "почта"],
              ["personemailhome", "personemailother", "частныйemail", "emailдлярассылок", "другойemail",
               "secondaryemail", "otheremail", "personalemail", "homeemail"]],
    "phone": [["phone", "phonenumber", "businessphone", "officenumber", "officephone", "workphone",
               "personphonework", "personphone", "рабочийтелефон", "телефон"],
              ["mobilephone", "mobile", "mobilenumber", "cellnumber", "cellphone", "personphonemobile",
               "mobilephonenumber", "мобильныйтелефон"],
              ["homephone", "personphonehome", "otherphone", "personphoneother", "домашнийтелефон",
               "другойтелефон"]],
    "company": [["company", "companyname", "companyaccount", "account", "accountname", "organization",
                 "organisation", "organizationname", "leadorganization", "personorganization", "partnername",
                 "названиекомпании", "компания", "организация"],
                ["associatedcompany"]],
    "title": [["title", "jobtitle", "position", "designation", "persontitle", "personjobtitle", "role",
               "должность"]],
    "source": [["source", "leadsource", "leadsourcename", "sourceid", "channel", "leadsourcechannel",
                "sourcechannel", "origin", "источник"],
               ["originalsource", "latestsource", "utmsource", "registrationmethod"]],
    "owner": [["owner", "leadowner", "recordowner", "contactowner", "ownername", "assignedto", "salesrep",
               "responsibleperson", "responsible", "assignedbyid", "ownerid", "userid", "salesperson",
               "opportunityowner", "potentialowner", "dealowner", "ответственный"]],
    "value": [["value", "estimatedvalue", "leadvalue", "amount", "dealvalue", "expectedvalue",
               "expectedrevenue", "opportunityamount", "possibleamount", "budget", "возможнаясумма", "сумма"]],
    "currency": [["currency", "currencyisocode", "currencycode", "currencyid", "leadvaluecurrency",
                  "leadcurrencyofvalue", "currencyofvalue", "leadcurrency", "amountcurrency", "companycurrency",
                  "dealcurrency", "валюта"]],
    "status": [["status", "leadstatus", "stage", "leadstage", "statusid", "stageid", "dealstatus", "стадия",
                "статус"]],
    "converted": [["converted", "isconverted"]],
    "status_reason": [["statusreason", "disqualifiedreason", "disqualificationreason", "lostreason",
                       "reasonforloss", "unqualifiedreason", "closedlostreason", "lossreason", "lostreasonid",
                       "дополнительноостадии"]],
    "notes": [["notes", "note", "description", "comment", "comments", "комментарий"]],
    "tags": [["tagids", "labels", "leadlabels", "leadlabel", "deallabels", "dealabel"]],
    "created_at": [["createdat", "createddate", "createdate", "created", "createdtime", "createdon",
                    "datecreate", "datecreated", "leadcreated", "leadleadcreated", "dealcreated", "dealdealcreated",
                    "addtime", "leadaddtime", "firstcontactdate", "датасоздания"],
                   ["becamealeaddate"]],
    "updated_at": [["updatedat", "lastmodifieddate", "lastmodified", "modifiedtime", "modifiedon",
                    "updated", "updatetime", "leadupdatetime", "datemodify", "writedate", "датаизменения"]],
    "converted_at": [["convertedat", "converteddate", "conversiondate", "dateconverted", "wontime", "wondate",
                      "becameanopportunitydate"],
                     ["becameacustomerdate"]],
    "archived_at": [["archivedat"]],
    # The dates of the next and last activity (Pipedrive `Lead - Next activity date`, HubSpot
    # `Next/Last Activity Date`, Salesforce `Last Activity`, Odoo `activity_date_deadline`, leadcli's
    # own `next_action_at`): mapped only when the column holds dates (see `settle_activity_dates`).
    "next_activity_at": [["nextactivitydate", "nextactivity", "nextactivityat", "nextactionat", "nextactiondate",
                          "activitydatedeadline", "nextactivityduedate"]],
    "last_activity_at": [["lastactivitydate", "lastactivity", "lastactivityat", "lastactivitydatetime",
                          "lastactivitytime", "lastactionat"]],
}
CONVERSION_DATES = tuple(k for group in _ALIASES["converted_at"] for k in group)
# Columns that date a closed (converted or disqualified) row when it has no conversion date, best
# first after the conversion date's own columns: the close date, the last status change, then the
# last modification (`updated_at`). They stay custom fields as well.
CLOSE_DATES = ("closedate", "closingdate", "dateclosed", "closeddate", "closedon", "losttime", "wontime")
STAGE_DATES = ("datelaststageupdate", "laststageupdate", "laststatuschange", "statuschangedat", "stagechangedat",
               "laststagechange", "lastlifecyclestagechange")
# HubSpot's lifecycle stage: a second status signal (Opportunity, Customer, Evangelist mean converted).
LIFECYCLE = ("lifecyclestage",)
# `Entity - Field` headers (Pipedrive `Deal - Value`, HubSpot `Record ID - Contact`) of the lead's own
# entities are read as their field when the whole header is no alias.
_ENTITIES = ("lead", "deal", "person", "contact")
# leadcli's own export columns: matched on the exact header only, because in other exports a
# `Tags` or `Score` column is free text (X Education's Tags are call outcomes, HubSpot's Score is
# its own scale) and belongs in custom fields.
_EXACT = {"tags": "tags", "fields": "fields", "score": "score", "grade": "grade", "trend": "trend",
          "status_reason": "status_reason", "archived_at": "archived_at"}
_TITLE_KEYS = frozenset(_ALIASES["name"][2])
_ALIAS_INDEX = {key: (fld, rank) for fld, groups in _ALIASES.items() for rank, keys in enumerate(groups)
                for key in keys}
# The columns of `leadcli export`: a file with all of these is leadcli's own, read back exactly.
LEADCLI_EXPORT_HEADER = {"id", "name", "email", "status", "fields", "external_id", "created_at"}


# ---------------------------------------------------------------- the mapping of a file


@dataclass
class ColumnMap:
    index: int
    header: str
    field: str  # a FIELDS name, "custom" (kept under `key`), or "skip"
    key: str | None = None  # the custom field's name
    how: str = "auto"  # auto | map (given by the user) | exact


@dataclass
class Mapping:
    columns: list[ColumnMap]
    leadcli_export: bool = False
    # A lead's title (Pipedrive `Lead - Title`, Bitrix24 `Название лида`): when it is the name
    # column, names are not split into first and last; when a person's name won the name slot,
    # the title column stays a custom field and names the rows that have no person.
    name_is_title: bool = False
    title_column: int | None = None
    # Columns of a lesser alias of the phone or e-mail (`Mobile` beside `Phone`, `Person - Email
    # (Home)` beside `(Work)`): custom fields, and the value of a row whose main column is empty.
    fallbacks: dict[str, list[int]] = field(default_factory=dict)

    def by_field(self) -> dict[str, int]:
        return {c.field: c.index for c in self.columns if c.field not in ("custom", "skip")}

    def rows(self, sample: list[str] | None = None) -> list[dict[str, Any]]:
        """The mapping as rows for `--dry-run`: column, field, how it was decided, a sample value."""
        out = []
        for c in self.columns:
            target = f"fields.{c.key}" if c.field == "custom" else c.field
            out.append({"column": c.header, "field": target, "how": c.how,
                        "sample": (sample[c.index] if sample and c.index < len(sample) else None)})
        return out

    def as_file(self) -> dict[str, Any]:
        """The mapping in the format `--mapping FILE` reads (a cron job reuses it)."""
        return {"columns": {c.header: (f"fields.{c.key}" if c.field == "custom" and c.key != c.header
                                       else "custom" if c.field == "custom" else c.field)
                            for c in self.columns}}


def resolve(header: list[str], overrides: dict[str, str] | None = None) -> Mapping:
    """Map each column of `header`; `overrides` (`--map`, `--mapping`) name a column's field exactly."""
    leadcli_export = set(header) >= LEADCLI_EXPORT_HEADER
    columns = _classify(header, dict(overrides or {}), leadcli_export)
    taken = _one_column_per_field(columns)
    # A lead's title (Pipedrive `Lead - Title`, Bitrix24 `Название лида`) names the lead only when
    # the file has no person's name.
    name_is_title = "name" in taken and header_key(columns[taken["name"][1]].header) in _TITLE_KEYS
    if name_is_title and ("first_name" in taken or "last_name" in taken):
        _demote(columns[taken.pop("name")[1]])
        name_is_title = False
    # A demoted `name` beside a person's name column is the lead's title (Odoo's `name`).
    titles = _TITLE_KEYS | {"name"}
    title_column = next((c.index for c in columns if c.field == "custom" and c.how == "auto" and c.header
                         and header_key(c.header) in titles), None)
    _unique_custom_keys(columns)
    return Mapping(columns=columns, leadcli_export=leadcli_export, name_is_title=name_is_title,
                   title_column=title_column, fallbacks=_fallbacks(columns, taken))


def _classify(header: list[str], overrides: dict[str, str], leadcli_export: bool) -> list[ColumnMap]:
    """Each column's field on its own: the user's choice, leadcli's exact name, an alias or custom."""
    over_by_key = {header_key(k): v for k, v in overrides.items()}
    columns: list[ColumnMap] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        name = raw if raw else f"column {i + 1}"
        col = ColumnMap(index=i, header=name, field="custom", key=name)
        target = overrides.get(raw, over_by_key.get(header_key(raw)) if raw else None)
        if raw and raw in seen:
            # A second column of the same header belongs to another entity (HubSpot writes the
            # associated company's `Phone Number` too): kept, named for it, never the lead's field.
            col.key, col.how = _entity_key(header, i), "duplicate"
        elif target is not None:
            col.field, col.key = _target(target, name)
            col.how = "map"
        elif leadcli_export and raw in ("id", "created_by"):
            col.field, col.how = "skip", "exact"  # local to its database; an import records who ran it
        elif raw in _EXACT and (raw != "status_reason" or leadcli_export):
            col.field, col.how = _EXACT[raw], "exact"
        elif raw:
            hit = alias(raw)
            if hit:
                col.field = hit[0]
        columns.append(col)
        seen.add(raw)
    return columns


def settle_activity_dates(mp: Mapping, rows: list[list[str]], is_date: Any) -> bool:
    """Demote a next/last activity column when most of its sampled values are not dates (X
    Education's `Last Activity` is `Email Opened`): it stays a custom field. A column kept keeps the
    odd value that does not parse as written (and flagged). True when the mapping changed."""
    changed = False
    for col in mp.columns:
        if col.field not in ("next_activity_at", "last_activity_at") or col.how == "map":
            continue
        seen = [r[col.index].strip() for r in rows if col.index < len(r) and r[col.index].strip()]
        if seen and sum(1 for v in seen if is_date(v)) * 2 < len(seen):
            _demote(col)
            changed = True
    if changed:
        _unique_custom_keys(mp.columns)
    return changed


def _entity_key(header: list[str], i: int) -> str:
    """`Phone Number (Company)`: a repeated header named for the entity of the columns before it."""
    for earlier in reversed(header[:i]):
        head, sep, tail = earlier.rpartition(" - ")
        if sep and head and tail.strip() and " " not in tail.strip():
            return f"{header[i]} ({tail.strip()})"
    return header[i]


def alias(header: str) -> tuple[str, int] | None:
    """(field, rank) of a header: its own alias, else that of its field after a lead entity's name."""
    hit = _ALIAS_INDEX.get(header_key(header))
    if hit is None and " - " in header:
        head, _, tail = header.partition(" - ")
        if header_key(head) in _ENTITIES:
            inner = _ALIAS_INDEX.get(header_key(tail))
            hit = (inner[0], inner[1] + 1) if inner else None
        elif header_key(tail) in _ENTITIES:
            hit = _ALIAS_INDEX.get(header_key(head))
    return hit


def _one_column_per_field(columns: list[ColumnMap]) -> dict[str, tuple[int, int]]:
    """One column per field: the user's choice, else the best-ranked alias, else the leftmost.

    Returns field -> (rank, column position) of the column kept; the others become custom fields.
    """
    taken: dict[str, tuple[int, int]] = {}
    for col in columns:
        if col.field in ("custom", "skip"):
            continue
        rank = -1 if col.how in ("map", "exact") else (alias(col.header) or ("", 9))[1]
        if col.field in taken:
            other_rank, other_pos = taken[col.field]
            if (rank, col.index) < (other_rank, other_pos):
                _demote(columns[other_pos])
                taken[col.field] = (rank, col.index)
            else:
                _demote(col)
        else:
            taken[col.field] = (rank, col.index)
    return taken


def _unique_custom_keys(columns: list[ColumnMap]) -> None:
    used_keys: set[str] = set()
    for col in columns:
        if col.field == "custom":
            key = col.key or col.header
            base, n = key, 2
            while key in used_keys:
                key = f"{base} ({n})"
                n += 1
            col.key = key
            used_keys.add(key)


def _fallbacks(columns: list[ColumnMap], taken: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
    """The columns of a lesser phone or e-mail alias, best first, for rows whose main column is empty."""
    fallbacks: dict[str, list[int]] = {}
    for fld in ("phone", "email"):
        if fld in taken:
            ranked = sorted(((alias(c.header) or ("", 9))[1], c.index) for c in columns
                            if c.field == "custom" and c.how == "auto" and c.header
                            and (alias(c.header) or ("",))[0] == fld)
            if ranked:
                fallbacks[fld] = [index for _, index in ranked]
    return fallbacks


def unmatched_columns(header: list[str], overrides: dict[str, str]) -> list[str]:
    """The columns of `overrides` that name no column of `header` (a typo, or another file's layout)."""
    present = set(header) | {header_key(h) for h in header if h}
    return [k for k in overrides if k not in present and header_key(k) not in present]


def _demote(col: ColumnMap) -> None:
    if col.how == "map":
        raise LeadcliError(f"two columns are mapped to {col.field!r}", hint="map each field from one column only",
                           exit_code=2)
    col.field, col.key, col.how = "custom", col.header, "auto"


def _target(target: str, header: str) -> tuple[str, str | None]:
    text = target.strip()
    low = text.lower().replace("-", "_").replace(" ", "_")
    if low in ("custom", "field", "fields.", "keep", ""):
        return "custom", header
    if low.startswith("fields.") and len(text) > 7:
        return "custom", text[7:].strip()
    if low in ("skip", "ignore", "drop", "none"):
        return "skip", None
    low = FIELD_ALIASES.get(low, low)
    if low in FIELDS:
        return low, None
    raise LeadcliError(f"{target!r} is not a lead field (column {header!r})",
                       hint="use one of: " + ", ".join(FIELDS) + ", fields.NAME (a custom field) or skip",
                       exit_code=2)


def parse_map_options(items: list[str], what: str = "--map") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise LeadcliError(f"{what} {item!r} is not COLUMN=FIELD", hint=f'write it as {what} "Lead Owner=owner"',
                               exit_code=2)
        column, target = item.rsplit("=", 1)
        out[column.strip()] = target.strip()
    return out


@dataclass
class MappingFile:
    """A saved mapping (`--mapping FILE`): JSON `{"columns": {...}, "statuses": {...}, ...}` or lines
    `COLUMN=field` (with `# comments`)."""

    columns: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


def load_mapping_file(path: str | Path) -> MappingFile:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LeadcliError(f"cannot read the mapping file {path} ({exc.strerror})",
                           hint="check the path given with --mapping") from None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise LeadcliError(f"the mapping file {path} is not valid JSON ({exc})",
                               hint='it holds {"columns": {"CSV column": "field", ...}}') from None
        if not isinstance(data, dict):
            raise LeadcliError(f"the mapping file {path} must hold a JSON object")
        columns = data.get("columns")
        if columns is None:
            columns = {k: v for k, v in data.items() if isinstance(v, str)}
        out = MappingFile(columns={str(k): str(v) for k, v in (columns or {}).items()},
                          statuses={str(k): str(v) for k, v in (data.get("statuses") or {}).items()},
                          missing=[str(v) for v in data.get("missing") or []])
        out.options = {k: data[k] for k in ("match", "on_duplicate", "source", "owner", "day_first",
                                             "encoding", "delimiter", "max_rejects") if k in data}
        return out
    columns = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise LeadcliError(f"{path}, line {number}: {line!r} is not COLUMN=FIELD",
                               hint="one mapping per line, e.g. Lead Owner=owner")
        column, target = line.rsplit("=", 1)
        columns[column.strip()] = target.strip()
    return MappingFile(columns=columns)
