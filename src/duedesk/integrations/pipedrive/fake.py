"""FakePipedrive: a local HTTP server speaking the parts of Pipedrive's API duedesk uses, built from
Pipedrive's public API reference — v2 persons (cursor paging in `additional_data.next_cursor`,
`updated_since`, `sort_by`/`sort_direction`, custom fields by their 40-character key) and activities, v1
person fields, activity types, notes (offset paging in `additional_data.pagination`) and `users/me`;
Pipedrive's error shape (`{"success": false, "error": …}`), its token budget per 2-second window with the
x-ratelimit-* and x-daily-requests-left headers and 429 + Retry-After beyond it, webhooks (v2 payload) sent
with basic auth, and injectable faults.

Test-only control routes:
  POST /__fake__/contacts   seed or change persons in Pipedrive's person fields ({"name", "first_name",
                            "last_name", "email"/"emails", "phone"/"phones", and custom fields by key or by
                            name}; with "id" a change): a person or a list
  GET  /__fake__/ledger     every object created or updated through the API, as JSON lines
  POST /__fake__/faults     {"method": "POST", "path": "/api/v2/activities", "status": 500, "count": 1,
                             "retry_after": 2, "delay": 3, "accept": true}  (accept: carry it out, then fail)
  POST /__fake__/token      {"expired": true|false}
  POST /__fake__/limit      {"per_2s": 20}
Update times come from the fake's own clock (one second per change), so runs are repeatable."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

import httpx

from duedesk.integrations.crm import fakeserver

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STANDARD_TYPES = [{"id": 1, "name": "Call", "key_string": "call", "icon_key": "call", "active_flag": True},
                  {"id": 2, "name": "Task", "key_string": "task", "icon_key": "task", "active_flag": True},
                  {"id": 3, "name": "Email", "key_string": "email", "icon_key": "email", "active_flag": True}]
STANDARD_FIELDS = ["name", "first_name", "last_name", "email", "phone", "owner_id", "org_id", "add_time",
                   "update_time"]


def iso(seconds: int) -> str:
    return (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(message: str, code: int) -> dict:
    return {"success": False, "error": message, "errorCode": code,
            "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.",
            "data": None, "additional_data": None}


class FakePipedrive(fakeserver.Fake):
    def __init__(self, token: str = "pipedrive-test-token", host: str = "127.0.0.1", port: int = 0,
                 per_2s: int = 80, webhook_url: str = "", webhook_user: str = "duedesk",
                 webhook_password: str = ""):
        self.token, self.host, self.port = token, host, port
        self.per_2s = per_2s
        self.daily_left = 10_000_000
        self.webhook_url, self.webhook_user, self.webhook_password = webhook_url, webhook_user, webhook_password
        self.lock = threading.RLock()
        self.clock_s = 0
        self.next_id = {"person": 100, "activity": 5000, "note": 9000, "field": 9100, "type": 10}
        self.persons: dict[int, dict] = {}
        self.activities: dict[int, dict] = {}
        self.notes: dict[int, dict] = {}
        self.fields: list[dict] = [{"id": i + 1, "key": k, "name": k, "field_type": "varchar", "edit_flag": False}
                                   for i, k in enumerate(STANDARD_FIELDS)]
        self.types: list[dict] = [dict(t) for t in STANDARD_TYPES]
        self.ledger: list[dict] = []
        self.faults: list[dict] = []
        self.expired = False
        self.requests: deque[float] = deque()
        self.throttled = 0

    # ------------------------------------------------------------------ state

    def _tick(self) -> str:
        self.clock_s += 1
        return iso(self.clock_s)

    def _new_id(self, kind: str) -> int:
        self.next_id[kind] += 1
        return self.next_id[kind]

    def field(self, name_or_key: str) -> dict | None:
        return next((f for f in self.fields if name_or_key in (f["key"], f["name"])), None)

    def _custom_value(self, field: dict, value):
        if value is None or value == "":
            return None
        if field.get("field_type") == "enum":
            for option in field.get("options") or []:
                if str(value) in (str(option["id"]), option["label"]):
                    return option["id"]
            return None
        if field.get("field_type") in ("double", "monetary"):
            return float(value)
        return str(value)

    def seed(self, items: list[dict]) -> list[str]:
        """Persons as Pipedrive keeps them; with "id", a change made in Pipedrive (its update time moves)."""
        ids, changed = [], []
        with self.lock:
            for item in items:
                pid = int(item.get("id") or 0)
                person = self.persons.get(pid)
                before = json.loads(json.dumps(person)) if person else None
                if person is None:
                    pid = pid or self._new_id("person")
                    stamp = self._tick()
                    person = self.persons[pid] = {
                        "id": pid, "name": "", "first_name": "", "last_name": "", "owner_id": 1, "org_id": None,
                        "add_time": stamp, "update_time": stamp, "emails": [], "phones": [], "visible_to": 3,
                        "custom_fields": {f["key"]: None for f in self.fields if f.get("edit_flag")}}
                else:
                    person["update_time"] = self._tick()
                self._apply(person, item)
                ids.append(str(pid))
                if before is not None:
                    changed.append((person, before))
        for person, before in changed:
            self._notify(person, before)
        return ids

    def _apply(self, person: dict, values: dict) -> None:
        for k, v in values.items():
            if k == "id":
                continue
            if k in ("name", "first_name", "last_name"):
                person[k] = str(v or "")
            elif k in ("email", "emails", "phone", "phones"):
                items = v if isinstance(v, list) else ([{"value": str(v), "primary": True, "label": "work"}] if v
                                                       else [])
                person["emails" if k.startswith("email") else "phones"] = [
                    i if isinstance(i, dict) else {"value": str(i), "primary": n == 0, "label": "work"}
                    for n, i in enumerate(items)]
            elif k == "custom_fields":
                self._apply(person, v or {})
            else:
                field = self.field(k)
                if field is not None and field.get("edit_flag"):
                    person["custom_fields"][field["key"]] = self._custom_value(field, v)
        if not person["name"]:
            person["name"] = f"{person['first_name']} {person['last_name']}".strip()

    def person(self, pid) -> dict:
        return self.persons[int(pid)]

    def custom(self, pid, name: str):
        """A person's custom field by its name, as Pipedrive shows it (an enum by its label)."""
        field = self.field(name)
        value = self.person(pid)["custom_fields"].get(field["key"])
        if field.get("field_type") == "enum":
            return next((o["label"] for o in field.get("options") or [] if o["id"] == value), None)
        return value



    def webhook_body(self, person: dict, before: dict | None, action: str = "change") -> bytes:
        """Pipedrive's webhook (v2) for a person: the person now, the fields before, and the meta."""
        return json.dumps({
            "data": person, "previous": before,
            "meta": {"action": action, "entity": "person", "entity_id": str(person["id"]), "id": str(uuid.uuid4()),
                     "company_id": "1", "user_id": "1", "version": "2.0", "timestamp": person["update_time"],
                     "change_source": "app", "is_bulk_edit": False, "type": "general"}}).encode()

    def _notify(self, person: dict, before: dict | None) -> None:
        """Webhooks with basic auth, when a URL is set (the CLI's --webhook-url)."""
        if not self.webhook_url:
            return
        auth = base64.b64encode(f"{self.webhook_user}:{self.webhook_password}".encode()).decode()
        try:
            httpx.post(self.webhook_url, content=self.webhook_body(person, before), timeout=10,
                       headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
        except httpx.HTTPError:
            pass

    # ------------------------------------------------------------------ the API

    def bad_json(self) -> dict:
        return _error("Invalid JSON body", 400)

    def serve_request(self, method: str, path: str, query: dict, body, headers: dict):
        """-> (status, payload, headers, fault)"""
        q = {k: v[-1] for k, v in query.items()}
        with self.lock:
            if path.startswith("/__fake__/"):
                return self._control(method, path, body)
            token = headers.get("x-api-token") or q.get("api_token") or ""
            if headers.get("authorization", "").startswith("Bearer "):
                token = headers["authorization"][7:]
            if token != self.token:
                return 401, _error("unauthorized access", 401), {}, None
            if self.expired:
                return 401, _error("Access token expired", 401), {}, None
            limits = self._rate()
            if limits is None:
                self.throttled += 1
                return 429, _error("Request over limit", 429), {"Retry-After": "2", **self._limit_headers(0)}, None
            fault = self._fault(method, path)
            if fault and not fault.get("accept"):
                return (*self._fault_answer(fault, limits), fault)
            status, payload = self._route(method, path, q, body or {})
            if fault:
                return (*self._fault_answer(fault, limits), fault)
            return status, payload, limits, None

    def _rate(self) -> dict | None:
        now = time.monotonic()
        while self.requests and self.requests[0] <= now - 2:
            self.requests.popleft()
        if len(self.requests) >= self.per_2s:
            return None
        self.requests.append(now)
        self.daily_left -= 1
        return self._limit_headers(self.per_2s - len(self.requests))

    def _limit_headers(self, remaining: int) -> dict:
        return {"x-ratelimit-limit": str(self.per_2s), "x-ratelimit-remaining": str(max(0, remaining)),
                "x-ratelimit-reset": "2", "x-daily-requests-left": str(self.daily_left)}


    def _fault_answer(self, fault: dict, headers: dict):
        status = int(fault.get("status", 500))
        extra = dict(headers)
        if fault.get("retry_after") is not None:
            extra["Retry-After"] = str(fault["retry_after"])
        message = {429: "Request over limit", 500: "Internal server error"}.get(status, "Bad request")
        return status, _error(message, status), extra

    limit_name = "per_2s"

    def not_found(self, message: str):
        return _error(message, 404)

    def _route(self, method: str, path: str, q: dict, body: dict):
        parts = [p for p in path.split("/") if p]
        route = "/".join(parts[:3])
        if route == "api/v1/users" and parts[3:] == ["me"] and method == "GET":
            return 200, {"success": True, "data": {"id": 1, "name": "Clinic Admin", "company_id": 1}}
        if route == "api/v1/personFields":
            if method == "GET":
                return 200, _offset_page(self.fields, q)
            if method == "POST":
                return self._new_field(body)
        if route == "api/v1/activityTypes":
            if method == "GET":
                return 200, {"success": True, "data": self.types}
            if method == "POST":
                return self._new_type(body)
        if route == "api/v2/persons":
            if len(parts) == 3 and method == "GET":
                return self._list_persons(q)
            if len(parts) == 4 and method == "GET":
                person = self.persons.get(_int(parts[3]))
                return (200, {"success": True, "data": person}) if person else (404, _error("Person not found", 404))
            if len(parts) == 4 and method == "PATCH":
                return self._update_person(_int(parts[3]), body)
        if route == "api/v2/activities":
            if len(parts) == 3 and method == "GET":
                return self._list_activities(q)
            if len(parts) == 3 and method == "POST":
                return self._new_activity(body)
        if route == "api/v1/notes":
            if len(parts) == 3 and method == "GET":
                found = [n for n in self.notes.values() if not q.get("person_id")
                         or str(n["person_id"]) == q["person_id"]]
                return 200, _offset_page(found, q)
            if len(parts) == 3 and method == "POST":
                return self._new_note(body)
        return 404, _error(f"Unknown method {method} {path}", 404)

    # ------------------------------------------------------------------ objects

    def _new_field(self, body: dict):
        name, kind = str(body.get("name") or ""), str(body.get("field_type") or "")
        if not name or kind not in ("varchar", "text", "double", "monetary", "date", "enum", "set", "phone"):
            return 400, _error("Field name and a valid field_type are required", 400)
        fid = self._new_id("field")
        key = hashlib.sha1(f"{name}{fid}".encode()).hexdigest()
        options = [{"id": fid * 10 + i, "label": o["label"]} for i, o in enumerate(body.get("options") or [])]
        field = {"id": fid, "key": key, "name": name, "field_type": kind, "edit_flag": True, "options": options or None}
        self.fields.append(field)
        for person in self.persons.values():
            person["custom_fields"].setdefault(key, None)
        return 201, {"success": True, "data": field}

    def _new_type(self, body: dict):
        name = str(body.get("name") or "")
        if not name or not body.get("icon_key"):
            return 400, _error("name and icon_key are required", 400)
        key = "".join(c if c.isalnum() else "_" for c in name.lower())
        activity_type = {"id": self._new_id("type"), "name": name, "key_string": key, "icon_key": body["icon_key"],
                         "active_flag": True}
        self.types.append(activity_type)
        return 201, {"success": True, "data": activity_type}

    def _list_persons(self, q: dict):
        found = list(self.persons.values())
        if q.get("updated_since"):
            found = [p for p in found if p["update_time"] >= q["updated_since"]]
        sort = q.get("sort_by", "id")
        if sort not in ("id", "update_time", "add_time"):
            return 400, _error(f"sort_by: {sort} is not one of id, update_time, add_time", 400)
        found.sort(key=lambda p: (p[sort], p["id"]), reverse=q.get("sort_direction") == "desc")
        return _cursor_page(found, q)

    def _update_person(self, pid: int, body: dict):
        person = self.persons.get(pid)
        if person is None:
            return 404, _error("Person not found", 404)
        custom = body.get("custom_fields") or {}
        unknown = [k for k in custom if not (self.field(k) or {}).get("edit_flag")]
        if unknown:
            return 400, _error(f"Unknown custom field key(s): {', '.join(unknown)}", 400)
        for key, value in custom.items():
            person["custom_fields"][key] = self._custom_value(self.field(key), value)
        person["update_time"] = self._tick()
        self.ledger.append({"object": "person", "id": str(pid), "op": "update", "associations": [],
                            "properties": {self.field(k)["name"]: v for k, v in custom.items()}})
        return 200, {"success": True, "data": person}

    def _check_person(self, person_id) -> tuple | None:
        if _int(person_id) not in self.persons:
            return 400, _error(f"Person with id {person_id} not found", 400)
        return None

    def _new_activity(self, body: dict):
        participants = body.get("participants") or []
        if not body.get("subject") or not body.get("type"):
            return 400, _error("subject and type are required", 400)
        if body["type"] not in {t["key_string"] for t in self.types}:
            return 400, _error(f"Activity type {body['type']} does not exist", 400)
        for p in participants:
            bad = self._check_person(p.get("person_id"))
            if bad:
                return bad
        aid = self._new_id("activity")
        stamp = self._tick()
        activity = {"id": aid, **body, "add_time": stamp, "update_time": stamp}
        self.activities[aid] = activity
        self.ledger.append({"object": "activity", "id": str(aid), "op": "create",
                            "properties": {k: v for k, v in body.items() if k != "participants"},
                            "associations": [{"to": str(p["person_id"]), "type": "person"} for p in participants]})
        return 201, {"success": True, "data": activity}

    def _list_activities(self, q: dict):
        found = [a for a in self.activities.values() if not q.get("person_id") or any(
            str(p.get("person_id")) == q["person_id"] for p in a.get("participants") or [])]
        found.sort(key=lambda a: a["id"])
        return _cursor_page(found, q)

    def _new_note(self, body: dict):
        if not body.get("content"):
            return 400, _error("content is required", 400)
        bad = self._check_person(body.get("person_id"))
        if bad:
            return bad
        nid = self._new_id("note")
        stamp = self._tick()
        note = {"id": nid, "content": str(body["content"]), "person_id": _int(body["person_id"]), "add_time": stamp,
                "update_time": stamp}
        self.notes[nid] = note
        self.ledger.append({"object": "note", "id": str(nid), "op": "create", "properties": {"content": note["content"]},
                            "associations": [{"to": str(note["person_id"]), "type": "person"}]})
        return 201, {"success": True, "data": note}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _cursor_page(items: list, q: dict):
    """v2 paging: `limit` (≤ 500) and an opaque `cursor`; the next one in additional_data.next_cursor."""
    try:
        limit = min(500, int(q.get("limit") or 100))
        start = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
    except (ValueError, TypeError):
        return 400, _error("Invalid cursor or limit", 400)
    page = items[start:start + limit]
    nxt = base64.b64encode(str(start + limit).encode()).decode() if start + limit < len(items) else None
    return 200, {"success": True, "data": page, "additional_data": {"next_cursor": nxt}}


def _offset_page(items: list, q: dict) -> dict:
    """v1 paging: `start` and `limit`; additional_data.pagination says whether more follow."""
    start, limit = int(q.get("start") or 0), min(500, int(q.get("limit") or 100))
    more = start + limit < len(items)
    pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return {"success": True, "data": items[start:start + limit], "additional_data": {"pagination": pagination}}


def serve(port: int, token: str, per_2s: int = 80, webhook_url: str = "", webhook_password: str = "") -> None:
    fake = FakePipedrive(token=token, port=port, per_2s=per_2s, webhook_url=webhook_url,
                         webhook_password=webhook_password)
    fake.start()
    print(f"fake Pipedrive on {fake.url} (token {token!r}, {per_2s} requests per 2 s); Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
