"""Intake: form and webhook payloads (JSON or JSON Lines) -> flat lead rows. Pure: no database.

Shapes read:
- generic objects: `{"name": ..., "email": ..., "utm_source": ..., "fields": {...}}`;
- Facebook lead ads: a lead from the Graph API (`id`, `created_time`, `field_data: [{name, values}]`,
  `campaign_name`, ...), a page of them (`{"data": [...]}`), or a `leadgen` webhook
  (`entry[].changes[].value`) when a relay has added the `field_data` (the bare notification
  holds only ids, so it is reported as an item to fetch from the Graph API first);
- Typeform webhooks (`form_response.answers[]` keyed by `field.ref`, `hidden` fields, `token`);
- Tally webhooks (`data.fields[]` with `label`, `type`, `value`, `options`; `data.submissionId`).

Each item becomes a row of column -> text like a CSV row, so the import pipeline (its column
aliases, a `--mapping` file, value parsing and the duplicate rule) takes it from there. Known
names are turned into lead columns (`full_name` -> `name`, `phone_number` -> `phone`); other
answers keep their label and become custom fields. UTM parameters go to `utm_*` (first touch)
and `last_utm_*` (last touch); `external_id` carries the idempotency key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
LAST_PREFIX = "last_"
_FIRST_MARKS = ("first_", "ft_", "original_", "initial_")
_LAST_MARKS = ("last_", "lt_", "latest_", "recent_")

# Form field names (lower-case, words joined by `_`) that mean a lead column.
ALIASES: dict[str, str] = {}
for _column, _names in {
    "name": ("name", "full_name", "fullname", "your_name", "contact_name"),
    "first_name": ("first_name", "firstname", "given_name", "first"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "last"),
    "email": ("email", "e_mail", "email_address", "work_email", "business_email"),
    "phone": ("phone", "phone_number", "telephone", "tel", "mobile", "mobile_phone", "work_phone_number"),
    "company": ("company", "company_name", "organization", "organisation", "business_name"),
    "title": ("title", "job_title", "jobtitle", "position", "role"),
    "source": ("source", "lead_source"),
    "owner": ("owner", "lead_owner"),
    "value": ("value", "deal_value", "amount"),
    "currency": ("currency",),
    "notes": ("notes", "note", "message", "comments", "comment"),
    "tags": ("tags", "tag"),
    "external_id": ("external_id", "externalid", "lead_id", "submission_id", "response_id"),
    "created": ("created", "created_at", "submitted_at", "created_time"),
}.items():
    for _name in _names:
        ALIASES[_name] = _column
# Where a landing page or referrer URL may carry UTM parameters in its query string.
_URL_KEYS = ("url", "page_url", "landing_page", "landing_page_url", "referrer", "referer", "page")


@dataclass
class IntakeItem:
    """One payload item: where it was, which tool sent it, its key and its row (or why it failed)."""

    position: int  # 1-based: the line in JSON Lines, the element in a JSON array
    kind: str  # generic | facebook | typeform | tally
    key: str | None = None  # the idempotency key (also the row's external_id)
    row: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def normalise_name(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(label).strip().lower()).strip("_")


def text(value: Any) -> str | None:
    """A payload value as the text of a cell (lists joined with ', ', booleans yes/no)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        parts = [t for t in (text(v) for v in value) if t]
        return ", ".join(parts) or None
    if isinstance(value, dict):
        for key in ("label", "text", "name", "url", "value"):
            if key in value:
                return text(value[key])
        return json.dumps(value, sort_keys=True)
    out = str(value).replace("\x00", "").replace("\ufeff", "").strip()
    return out or None


# ---------------------------------------------------------------- reading the stream


def read(data: str) -> Iterator[tuple[int, Any, str | None]]:
    """(position, object, error) for each item: a JSON document (object or array) or JSON Lines."""
    stripped = data.strip()
    if not stripped:
        return
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        document = None
    else:
        items = document if isinstance(document, list) else [document]
        for position, obj in enumerate(items, start=1):
            yield position, obj, None
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not JSON ({exc.msg} at column {exc.colno})"


def parse(data: str) -> list[IntakeItem]:
    """Every item of a JSON or JSON Lines text, parsed (failures carry `error`)."""
    out: list[IntakeItem] = []
    for position, obj, error in read(data):
        if error is not None:
            out.append(IntakeItem(position, "unknown", error=error))
        else:
            out.extend(parse_object(obj, position))
    return out


def detect(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "unknown"
    if isinstance(obj.get("form_response"), dict):
        return "typeform"
    if isinstance(obj.get("data"), dict) and isinstance(obj["data"].get("fields"), list):
        return "tally"
    if "field_data" in obj or obj.get("object") == "page" or _is_facebook_page(obj):
        return "facebook"
    return "generic"


def _is_facebook_page(obj: dict) -> bool:
    data = obj.get("data")
    return isinstance(data, list) and bool(data) and all(isinstance(d, dict) and "field_data" in d for d in data)


def parse_object(obj: Any, position: int = 1) -> list[IntakeItem]:
    """The lead rows in one payload object (a Facebook webhook or page may hold several)."""
    kind = detect(obj)
    if kind == "unknown":
        return [IntakeItem(position, kind, error=f"expected a JSON object, got {type(obj).__name__}")]
    if kind == "facebook":
        return [_finish(item) for item in facebook(obj, position)]
    if kind == "typeform":
        return [_finish(typeform(obj, position))]
    if kind == "tally":
        return [_finish(tally(obj, position))]
    return [_finish(generic(obj, position))]


def generic(obj: dict[str, Any], position: int) -> IntakeItem:
    """A flat object; `fields`/`custom_fields` and `utm` objects are read too."""
    answers: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("fields", "custom_fields") and isinstance(value, dict):
            answers.update(value)
        elif key == "utm" and isinstance(value, dict):
            answers.update(_nested_utm(value))
        elif key in ("first_touch", "last_touch") and isinstance(value, dict):
            answers.update({f"{key.split('_')[0]}_{k}": v for k, v in value.items()})
        else:
            answers[key] = value
    item = IntakeItem(position, "generic")
    item.row = build_row(answers)
    item.key = item.row.get("external_id") or text(obj.get("id"))
    if item.key and "external_id" not in item.row:
        item.row.pop("id", None)  # the object's own id is its key, not a column
    if item.key:
        item.row["external_id"] = item.key
    return item


def _nested_utm(value: dict[str, Any]) -> dict[str, Any]:
    """`{"utm": {"source": ..}}`, `{"utm": {"utm_source": ..}}` or `{"utm": {"first": {..}, "last": {..}}}`."""
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if key in ("first", "last") and isinstance(inner, dict):
            for k, v in inner.items():
                out[f"{key}_{k if k.startswith('utm_') else 'utm_' + k}"] = v
        else:
            out[key if key.startswith("utm_") else f"utm_{key}"] = inner
    return out


# ---------------------------------------------------------------- answers -> a row


def build_row(answers: dict[str, Any]) -> dict[str, str]:
    """Form answers (label -> value) as a lead row: known names to lead columns, UTMs sorted out."""
    row: dict[str, str] = {}
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    plain: dict[str, str] = {}
    for label, raw in answers.items():
        value = text(raw)
        if value is None:
            continue
        key = normalise_name(label)
        touch, utm = _utm_key(key)
        if utm:
            {"first": first, "last": last, "": plain}[touch].setdefault(utm, value)
            continue
        if key in _URL_KEYS:
            for utm_key, utm_value in utm_from_url(value).items():
                plain.setdefault(utm_key, utm_value)
        column = ALIASES.get(key)
        if column and column not in row:
            row[column] = value
        else:
            row[str(label).strip()] = value
    row.update(touches(first, last, plain))
    return row


def _utm_key(key: str) -> tuple[str, str | None]:
    """('first'|'last'|'', 'utm_source') for a UTM answer name, else ('', None)."""
    if key in UTM_KEYS:
        return "", key
    for touch, marks in (("first", _FIRST_MARKS), ("last", _LAST_MARKS)):
        for mark in marks:
            suffix = "_" + mark.rstrip("_")
            if key.startswith(mark) and key[len(mark):] in UTM_KEYS:
                return touch, key[len(mark):]
            if key.endswith(suffix) and key[: -len(suffix)] in UTM_KEYS:
                return touch, key[: -len(suffix)]
    return "", None


def utm_from_url(url: str) -> dict[str, str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k.lower(): v for k, v in parse_qsl(query) if k.lower() in UTM_KEYS and v.strip()}


def touches(first: dict[str, str], last: dict[str, str], plain: dict[str, str]) -> dict[str, str]:
    """The row's `utm_*` (first touch) and `last_utm_*` (last touch) columns.

    Plain `utm_*` values are the touch that brought this submission: the last touch, and the first
    too unless the payload names a first touch of its own.
    """
    first_touch = first or plain or last
    last_touch = last or plain or first
    out = {key: first_touch[key] for key in UTM_KEYS if key in first_touch}
    out.update({LAST_PREFIX + key: last_touch[key] for key in UTM_KEYS if key in last_touch})
    return out


def merge_touches(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Custom fields for a lead seen again: its first touch stays, the last touch is the new one."""
    merged = dict(existing)
    has_first = any(existing.get(k) for k in UTM_KEYS)
    for key in UTM_KEYS:
        if not has_first and incoming.get(key):
            merged[key] = incoming[key]
        if incoming.get(LAST_PREFIX + key):
            merged[LAST_PREFIX + key] = incoming[LAST_PREFIX + key]
    return merged


def _finish(item: IntakeItem) -> IntakeItem:
    """Every item needs something to be a lead by; tools' items default their source to the tool."""
    if item.error:
        return item
    if item.key:
        item.row["external_id"] = item.key
    # A row with its own source keeps utm_source as a custom field: the import's column aliases
    # would otherwise read utm_source as the source and drop it from the first touch.
    if not item.row.get("source"):
        source = item.row.get("utm_source") or (item.kind if item.kind != "generic" else None)
        if source:
            item.row["source"] = source
    if not any(item.row.get(k) for k in ("name", "first_name", "last_name", "email", "phone", "company")):
        item.error = "no name, e-mail, phone or company in the payload"
    return item


# ---------------------------------------------------------------- the tools' shapes

_FB_PLATFORMS = {"fb": "facebook", "ig": "instagram", "an": "audience_network", "msgr": "messenger"}
_OPAQUE_REF = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9A-Z]{26}$", re.I)


def iso_time(value: Any) -> str | None:
    """Unix seconds, or an ISO time with a `+0000` offset (Graph API), as ISO 8601 UTC."""
    import datetime as dt

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = str(value).strip()
    fixed = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", raw.replace("Z", "+00:00"))
    try:
        moment = dt.datetime.fromisoformat(fixed)
    except ValueError:
        return raw or None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def facebook(obj: dict[str, Any], position: int) -> list[IntakeItem]:
    """A lead (Graph API), a page of leads (`data`), or a `leadgen` webhook (`entry[].changes[]`)."""
    if "entry" in obj or obj.get("object") == "page":
        leads = [change.get("value") or {} for entry in obj.get("entry") or [] if isinstance(entry, dict)
                 for change in entry.get("changes") or [] if isinstance(change, dict)
                 and change.get("field") == "leadgen"]
        if not leads:
            return [IntakeItem(position, "facebook", error="a Facebook page webhook without leadgen changes")]
        return [_facebook_lead(lead, position) for lead in leads]
    if isinstance(obj.get("data"), list):
        return [_facebook_lead(lead, position) for lead in obj["data"]]
    return [_facebook_lead(obj, position)]


def _facebook_lead(lead: dict[str, Any], position: int) -> IntakeItem:
    lead_id = text(lead.get("leadgen_id") or lead.get("id"))
    item = IntakeItem(position, "facebook", key=f"facebook:{lead_id}" if lead_id else None)
    if not isinstance(lead.get("field_data"), list):
        item.error = (f"the leadgen notification {lead_id} holds no answers; fetch the lead with the Graph API "
                      f"(GET /{lead_id}?fields=field_data,created_time,campaign_name,ad_name,platform) "
                      "and pipe that to `leadcli intake`")
        return item
    answers: dict[str, Any] = {}
    for answer in lead["field_data"]:
        if isinstance(answer, dict) and answer.get("name"):
            answers.setdefault(str(answer["name"]), answer.get("values"))
    answers.setdefault("created_time", iso_time(lead.get("created_time")))
    platform = text(lead.get("platform"))
    organic = lead.get("is_organic")
    for key, value in (("utm_source", _FB_PLATFORMS.get((platform or "").lower(), platform or "facebook")),
                       ("utm_medium", None if organic is None else ("organic_social" if organic else "paid_social")),
                       ("utm_campaign", lead.get("campaign_name")), ("utm_content", lead.get("ad_name")),
                       ("facebook_form_id", lead.get("form_id")), ("facebook_ad_id", lead.get("ad_id"))):
        if value not in (None, "", 0):
            answers.setdefault(key, value)
    item.row = build_row(answers)
    return item


def typeform(obj: dict[str, Any], position: int) -> IntakeItem:
    """`form_response`: answers keyed by their field's readable `ref` (else the question), hidden fields."""
    response = obj["form_response"]
    token = text(response.get("token"))
    item = IntakeItem(position, "typeform", key=f"typeform:{token}" if token else None)
    definition = response.get("definition") or {}
    titles = {f.get("id"): f.get("title") for f in definition.get("fields") or [] if isinstance(f, dict)}
    answers: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        spec = answer.get("field") or {}
        ref = text(spec.get("ref"))
        readable = ref if ref and not _OPAQUE_REF.match(ref) else None
        label = str(readable or titles.get(spec.get("id")) or ref or spec.get("id"))
        kind = str(answer.get("type") or "")
        if kind in ("email", "phone_number") and normalise_name(label) not in ALIASES and kind not in answers:
            label = kind
        answers.setdefault(str(label), _typeform_value(answer))
    for key, value in (response.get("hidden") or {}).items():
        answers.setdefault(key, value)
    answers.setdefault("submitted_at", iso_time(response.get("submitted_at")))
    answers.setdefault("referer", (response.get("metadata") or {}).get("referer"))
    score = (response.get("calculated") or {}).get("score")
    if score:
        answers.setdefault("typeform_score", score)
    item.row = build_row(answers)
    return item


def _typeform_value(answer: dict[str, Any]) -> Any:
    kind = answer.get("type")
    if kind == "choice":
        choice = answer.get("choice") or {}
        return choice.get("label") or choice.get("other")
    if kind == "choices":
        choices = answer.get("choices") or {}
        return [*(choices.get("labels") or []), *([choices["other"]] if choices.get("other") else [])]
    if kind == "payment":
        return (answer.get("payment") or {}).get("amount")
    return answer.get(kind) if kind else None


def tally(obj: dict[str, Any], position: int) -> IntakeItem:
    """`data.fields`: answers by label; choice ids turned into their option texts; hidden fields."""
    data = obj["data"]
    submission = text(data.get("submissionId") or data.get("responseId"))
    item = IntakeItem(position, "tally", key=f"tally:{submission}" if submission else None)
    answers: dict[str, Any] = {}
    for spec in data["fields"]:
        if not isinstance(spec, dict):
            continue
        kind = str(spec.get("type") or "").upper()
        if kind == "CHECKBOXES" and isinstance(spec.get("value"), bool):
            continue  # Tally adds one true/false entry per option beside the list of choices
        label = str(spec.get("label") or spec.get("key") or "").strip()
        plain = {"INPUT_EMAIL": "email", "INPUT_PHONE_NUMBER": "phone"}.get(kind)
        if plain and normalise_name(label) not in ALIASES and plain not in answers:
            label = plain
        if label:
            answers.setdefault(label, _tally_value(spec, kind))
    answers.setdefault("created_at", iso_time(data.get("createdAt") or obj.get("createdAt")))
    item.row = build_row(answers)
    return item


def _tally_value(spec: dict[str, Any], kind: str) -> Any:
    value = spec.get("value")
    options = {o.get("id"): o.get("text") for o in spec.get("options") or [] if isinstance(o, dict)}
    if options and isinstance(value, list):
        return [options.get(v, v) for v in value]
    if options and isinstance(value, str) and value in options:
        return options[value]
    if kind in ("FILE_UPLOAD", "SIGNATURE") and isinstance(value, list):
        return [v.get("url") if isinstance(v, dict) else v for v in value]
    return value


def as_table(items: list[IntakeItem]) -> tuple[list[str], list[list[str]]]:
    """The parsed items (failed ones left out) as a header and rows, the shape a CSV file gives the import."""
    header: dict[str, None] = {}
    good = [item for item in items if item.error is None]
    for item in good:
        header.update(dict.fromkeys(item.row))
    columns = list(header)
    return columns, [[item.row.get(column, "") for column in columns] for item in good]
