"""Pipedrive's REST API through a thin `httpx` client, in the terms the shared sync uses.

Why not a library: Pipedrive's official Python client (`pipedrive-python`, generated) trails the v2 API
and pulls in its own HTTP stack, and the community ones speak v1 only. The calls duedesk needs are few and
plain JSON, so a thin client on httpx (already a dependency) keeps retries, timeouts and errors in our
hands: nothing is retried by the library, because a timeout after Pipedrive accepted a write must be
looked up, not repeated.

API versions: v2 wherever Pipedrive has it — persons (list with `cursor` paging, `updated_since`, update)
and activities (create, list by person). v1 where v2 has nothing yet: person fields and activity types
(made on connect), notes, and `users/me` (the token check). The base URL is settings.CRM_BASE_URLS
["pipedrive"] (DUEDESK_PIPEDRIVE_BASE_URL: https://COMPANY.pipedrive.com, or the local fake). The token
goes in the `x-api-token` header, never in the URL (so it stays out of proxies' logs).

Every request first takes a slot of the connection's budget (ratelimit.py: Pipedrive counts per 2 s)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from duedesk.integrations.crm.base import CrmError, Page, Record, Touch
from duedesk.integrations.crm.ratelimit import RateLimit
from duedesk.integrations.pipedrive import mapping

PAGE = 100


class PipedriveClient:
    provider = "pipedrive"

    def __init__(self, token: str, base_url: str, timeout: float = 15.0, limit: RateLimit | None = None):
        if not token:
            raise CrmError("no Pipedrive token: the connection's token is not set", auth=True)
        self.limit = limit
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                 headers={"x-api-token": token, "Accept": "application/json"})
        self._fields: dict[str, dict] | None = None  # person field name or key -> the field
        self._text_type: str | None = None

    # ------------------------------------------------------------------ one request, errors in words

    def _request(self, method: str, path: str, *, params: dict | None = None, json: dict | None = None) -> dict:
        if self.limit is not None:
            self.limit.acquire()
        try:
            answer = self.http.request(method, path, params=params, json=json)
        except httpx.TimeoutException as error:
            raise CrmError(f"Pipedrive did not answer in time ({type(error).__name__}); the write is looked up "
                           "before it is tried again", answer_lost=True) from None
        except httpx.TransportError as error:
            raise CrmError(f"Pipedrive could not be reached or the connection dropped ({type(error).__name__}); "
                           "the write is looked up before it is tried again", answer_lost=True) from None
        if answer.status_code >= 400:
            raise translate(answer.status_code, answer.text, answer.headers)
        try:
            return answer.json()
        except ValueError:
            raise CrmError(f"Pipedrive answered {answer.status_code} with something that is not JSON",
                           status=answer.status_code) from None

    # ------------------------------------------------------------------ connect

    def check(self) -> None:
        self._request("GET", "/api/v1/users/me")

    def fields(self) -> dict[str, dict]:
        """The account's person fields, by name and by key (v1: person fields have no v2 endpoint yet)."""
        if self._fields is None:
            found, start = {}, 0
            while True:
                answer = self._request("GET", "/api/v1/personFields", params={"start": start, "limit": 500})
                for f in answer.get("data") or []:
                    found[f["key"]] = f
                    found.setdefault(f["name"], f)
                more = ((answer.get("additional_data") or {}).get("pagination") or {})
                if not more.get("more_items_in_collection"):
                    break
                start = more.get("next_start", start + 500)
            self._fields = found
        return self._fields

    def prepare(self) -> list[str]:
        """Create the duedesk person fields and the text activity type, when missing."""
        made = []
        have = self.fields()
        for spec in mapping.PERSON_FIELDS:
            if spec["name"] not in have:
                self._request("POST", "/api/v1/personFields", json=spec)
                made.append(f"person.{spec['name']}")
        if made:
            self._fields = None
        if self.text_type(create=True) and self._text_type_made:
            made.append(f"activityType.{self._text_type}")
        return made

    _text_type_made = False

    def text_type(self, create: bool = False) -> str:
        """The key of the "Text message" activity type (made on connect); "task" if it is gone."""
        if self._text_type is None:
            types = self._request("GET", "/api/v1/activityTypes").get("data") or []
            found = next((t for t in types if t.get("name") == mapping.TEXT_TYPE["name"] and t.get("active_flag", True)),
                         None)
            if found is None and create:
                found = self._request("POST", "/api/v1/activityTypes", json=mapping.TEXT_TYPE).get("data") or {}
                self._text_type_made = True
            self._text_type = (found or {}).get("key_string") or "task"
        return self._text_type

    # ------------------------------------------------------------------ pull

    def _persons(self, params: dict) -> Page:
        answer = self._request("GET", "/api/v2/persons", params=params)
        fields = self.fields()
        records = [person_record(p, fields) for p in answer.get("data") or []]
        return Page(records, (answer.get("additional_data") or {}).get("next_cursor"))

    def full_page(self, after: str | None, properties: list[str]) -> Page:
        params = {"limit": PAGE, "sort_by": "id", "sort_direction": "asc"}
        if after:
            params["cursor"] = after
        return self._persons(params)

    def latest_modified(self) -> str | None:
        page = self._persons({"limit": 1, "sort_by": "update_time", "sort_direction": "desc"})
        return page.records[0].modified if page.records else None

    def changed_since(self, cursor: str, properties: list[str]) -> Iterator[Page]:
        """Persons updated at or after `cursor` (RFC 3339), oldest first."""
        params = {"limit": PAGE, "sort_by": "update_time", "sort_direction": "asc"}
        if cursor:
            params["updated_since"] = cursor
        while True:
            page = self._persons(params)
            yield page
            if not page.after:
                return
            params = {**params, "cursor": page.after}

    # ------------------------------------------------------------------ push

    def find_activity(self, touch: Touch, crm_id: str = "") -> str | None:
        """Our write made before (its answer lost): the person's activity or note carrying our event id."""
        if not crm_id:
            return None
        if touch.kind == "note":
            start = 0
            while True:
                answer = self._request("GET", "/api/v1/notes", params={"person_id": crm_id, "start": start,
                                                                       "limit": 100})
                for note in answer.get("data") or []:
                    if touch.key in str(note.get("content") or ""):
                        return str(note["id"])
                more = ((answer.get("additional_data") or {}).get("pagination") or {})
                if not more.get("more_items_in_collection"):
                    return None
                start = more.get("next_start", start + 100)
        params = {"person_id": crm_id, "limit": 100}
        while True:
            answer = self._request("GET", "/api/v2/activities", params=params)
            for activity in answer.get("data") or []:
                if touch.key in str(activity.get("note") or ""):
                    return str(activity["id"])
            after = (answer.get("additional_data") or {}).get("next_cursor")
            if not after:
                return None
            params = {**params, "cursor": after}

    def create_activity(self, touch: Touch, crm_id: str) -> str:
        text = f"{touch.body}\n\nduedesk ref: {touch.key}"
        if touch.kind == "note":
            body = {"content": f"{touch.subject}\n\n{text}", "person_id": int(crm_id)}
            return str(self._request("POST", "/api/v1/notes", json=body)["data"]["id"])
        kind = self.text_type() if touch.kind == "text" else mapping.ACTIVITY_TYPES[touch.kind]
        body = {"subject": touch.subject, "type": kind, "done": touch.kind != "task",
                "due_date": touch.at.strftime("%Y-%m-%d"), "due_time": touch.at.strftime("%H:%M"),
                "participants": [{"person_id": int(crm_id), "primary": True}], "note": text}
        if touch.kind == "task" and touch.owner_id.isdigit():
            body["owner_id"] = int(touch.owner_id)
        return str(self._request("POST", "/api/v2/activities", json=body)["data"]["id"])

    def update_contact(self, crm_id: str, properties: dict) -> None:
        fields = self.fields()
        custom = {}
        for name, value in properties.items():
            field = fields.get(name)
            if field is None:
                raise CrmError(f"Pipedrive has no person field {name!r} (the mapping names it)", permanent=True)
            custom[field["key"]] = typed(field, value)
        self._request("PATCH", f"/api/v2/persons/{int(crm_id)}", json={"custom_fields": custom})


def typed(field: dict, value):
    """Our text as the field's type wants it: a number, an option id, a date or text."""
    text = "" if value is None else str(value)
    if text == "":
        return None
    kind = field.get("field_type")
    if kind in ("double", "monetary"):
        return float(text)
    if kind == "enum":
        for option in field.get("options") or []:
            if str(option.get("label", "")).lower() == text.lower():
                return option["id"]
        raise CrmError(f"Pipedrive's field {field.get('name')!r} has no option {text!r}", permanent=True)
    return text


def _primary(values) -> str:
    items = [v for v in values or [] if isinstance(v, dict)]
    chosen = next((v for v in items if v.get("primary")), items[0] if items else {})
    return str(chosen.get("value") or "")


def _value_text(field: dict | None, value) -> str:
    if isinstance(value, dict):  # v2 wraps some types: {"value": …, "currency": …}
        value = value.get("value")
    if value is None:
        return ""
    if field and field.get("field_type") == "enum":
        for option in field.get("options") or []:
            if str(option.get("id")) == str(value):
                return str(option.get("label", ""))
    return str(value)


def person_record(person: dict, fields: dict[str, dict]) -> Record:
    """A v2 person (from the API or a webhook) as the shared sync reads it: custom fields by their name."""
    props = {"first_name": person.get("first_name") or "", "last_name": person.get("last_name") or "",
             "name": person.get("name") or "", "email": _primary(person.get("emails")),
             "phone": _primary(person.get("phones")), "update_time": str(person.get("update_time") or "")}
    if not props["first_name"] and not props["last_name"] and props["name"]:
        first, _, last = props["name"].partition(" ")
        props["first_name"], props["last_name"] = first, last
    for key, value in (person.get("custom_fields") or {}).items():
        field = fields.get(key)
        text = _value_text(field, value)
        props[key] = text
        if field:
            props[field["name"]] = text
    return Record(crm_id=str(person.get("id")), modified=props["update_time"], properties=props)


def translate(status: int, body: str, headers) -> CrmError:
    """Pipedrive's error answer in words, with what it means for us."""
    import json

    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    message = str((data or {}).get("error") or "").strip() or f"HTTP {status}"
    if status == 401:
        if "expired" in message.lower():
            return CrmError(f"Pipedrive says the token has expired: {message}", status=401, auth=True)
        return CrmError(f"Pipedrive refused the token: {message}", status=401, auth=True)
    if status == 403:
        return CrmError(f"Pipedrive says the token's user may not do this (permissions): {message}", status=403,
                        auth=True)
    if status == 402:
        return CrmError(f"Pipedrive says the company's plan does not allow this: {message}", status=402,
                        permanent=True)
    if status == 429:
        wait = _seconds(headers.get("retry-after"))
        if wait is None:
            wait = _seconds(headers.get("x-ratelimit-reset")) or 2.0
        return CrmError(f"Pipedrive's rate limit was reached ({message}); waiting {wait:g} s", status=429,
                        retry_after=wait)
    if status >= 500:
        return CrmError(f"Pipedrive had a server error ({status}): {message}", status=status)
    return CrmError(f"Pipedrive refused the request ({status}): {message}", status=status, permanent=True)


def _seconds(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
