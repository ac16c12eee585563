"""FakeHubSpot: a local HTTP server speaking the parts of HubSpot's CRM v3 API duedesk uses, built from
HubSpot's public API reference — contacts listed with `after` paging, CRM search (filter groups, sorts,
the 10,000-result window), activities created with associations, properties and property groups,
HubSpot's error shape, the per-10-second rate limit with its X-HubSpot-RateLimit-* headers and 429s,
v3-signed webhooks, and injectable faults.

Test-only control routes:
  POST /__fake__/contacts   seed or change contacts: {"properties": {...}} or a list; with "id" an update
  GET  /__fake__/ledger     every object created or updated through the API, as JSON lines
  POST /__fake__/faults     {"method": "POST", "path": "/crm/v3/objects/calls", "status": 500, "count": 1,
                             "retry_after": 2, "delay": 3, "accept": true}  (accept: store it, then fail)
  POST /__fake__/token      {"expired": true|false}
  POST /__fake__/limit      {"per_10s": 100}
Modification times come from the fake's own clock (1 ms per change), so runs are repeatable."""

from __future__ import annotations

import bisect
import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

import httpx

from duedesk.integrations.crm import fakeserver
from duedesk.integrations.hubspot.signing import sign

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STANDARD_CONTACT = {"firstname", "lastname", "email", "phone", "hs_language", "hs_timezone", "date_of_birth",
                    "createdate", "lastmodifieddate", "hs_object_id", "hubspot_owner_id"}
STANDARD_ACTIVITY = {
    "communications": {"hs_communication_channel_type", "hs_communication_logged_from", "hs_communication_body",
                       "hs_timestamp"},
    "calls": {"hs_call_title", "hs_call_body", "hs_call_direction", "hs_call_status", "hs_timestamp"},
    "notes": {"hs_note_body", "hs_timestamp"},
    "tasks": {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_task_type",
              "hs_timestamp", "hubspot_owner_id"},
}
OBJECT_TYPES = ("contacts", *STANDARD_ACTIVITY)


def iso(ms: int) -> str:
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_ms(value) -> int | None:
    text = str(value)
    if text.isdigit():
        return int(text) - int(EPOCH.timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment - EPOCH).total_seconds() * 1000)


class FakeHubSpot(fakeserver.Fake):
    def __init__(self, token: str = "hubspot-test-token", host: str = "127.0.0.1", port: int = 0,
                 per_10s: int = 100, app_secret: str = "hubspot-app-secret", webhook_url: str = ""):
        self.token, self.host, self.port = token, host, port
        self.per_10s = per_10s
        self.app_secret, self.webhook_url = app_secret, webhook_url
        self.lock = threading.RLock()
        self.clock_ms = 0
        self.next_id = 1000
        self.objects: dict[str, dict[str, dict]] = {t: {} for t in OBJECT_TYPES}
        self.order: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}
        self.properties: dict[str, set[str]] = {"contacts": set(STANDARD_CONTACT),
                                                **{t: set(p) for t, p in STANDARD_ACTIVITY.items()}}
        self.groups: dict[str, set[str]] = {t: set() for t in OBJECT_TYPES}
        self.ledger: list[dict] = []
        self.faults: list[dict] = []
        self.expired = False
        self.requests: deque[float] = deque()
        self.request_count = 0
        self.throttled = 0

    # ------------------------------------------------------------------ state

    def _tick(self) -> int:
        self.clock_ms += 1
        return self.clock_ms

    def _new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def seed(self, items: list[dict]) -> list[str]:
        """Contacts as HubSpot keeps them; with "id", a change made in HubSpot (its modification time moves)."""
        ids, changed = [], []
        with self.lock:
            for item in items:
                props = {k: ("" if v is None else str(v)) for k, v in (item.get("properties") or {}).items()}
                cid = str(item.get("id") or "")
                if cid and cid in self.objects["contacts"]:
                    obj = self.objects["contacts"][cid]
                    obj["properties"].update(props)
                    self._touch(obj)
                    changed.append((cid, props))
                else:
                    cid = cid or self._new_id()
                    self._store("contacts", cid, props)
                ids.append(cid)
        for cid, props in changed:
            self._notify(cid, props)
        return ids

    def _store(self, object_type: str, oid: str, props: dict, associations=None) -> dict:
        ms = self._tick()
        obj = {"id": oid, "properties": {**props, "hs_object_id": oid, "createdate": iso(ms),
                                         "lastmodifieddate": iso(ms)},
               "createdAt": iso(ms), "updatedAt": iso(ms), "archived": False, "associations": associations or []}
        self.objects[object_type][oid] = obj
        bisect.insort(self.order[object_type], int(oid))
        return obj

    def _touch(self, obj: dict) -> None:
        ms = self._tick()
        obj["properties"]["lastmodifieddate"] = iso(ms)
        obj["updatedAt"] = iso(ms)

    def contact(self, cid: str) -> dict:
        return self.objects["contacts"][str(cid)]



    def _notify(self, cid: str, props: dict) -> None:
        """Property-change webhooks, v3-signed, when a subscription URL is set (the CLI's --webhook-url)."""
        if not self.webhook_url:
            return
        events = [{"eventId": int(time.time() * 1000) % 10**9 + i, "subscriptionType": "contact.propertyChange",
                   "objectId": int(cid), "propertyName": k, "propertyValue": v, "occurredAt": int(time.time() * 1000),
                   "portalId": 1, "attemptNumber": 0} for i, (k, v) in enumerate(props.items())]
        body = json.dumps(events).encode()
        stamp = str(int(time.time() * 1000))
        headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                   "X-HubSpot-Signature-v3": sign(self.app_secret, "POST", self.webhook_url, body, stamp)}
        try:
            httpx.post(self.webhook_url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError:
            pass

    # ------------------------------------------------------------------ the API

    def serve_request(self, method: str, path: str, query: dict, body, headers: dict):
        return self.handle(method, path, query, body, headers.get("authorization", ""))

    def bad_json(self) -> dict:
        return _error("Invalid input JSON", "VALIDATION_ERROR")

    def handle(self, method: str, path: str, query: dict, body: dict | list | None, auth: str):
        """-> (status, payload, headers, fault)"""
        with self.lock:
            self.request_count += 1
            if path.startswith("/__fake__/"):
                return self._control(method, path, body)
            if auth != f"Bearer {self.token}":
                return 401, _error("Authentication credentials not found. This API supports OAuth 2.0 "
                                   "authentication.", "INVALID_AUTHENTICATION"), {}, None
            if self.expired:
                return 401, _error("The OAuth token used to make this call expired.", "EXPIRED_AUTHENTICATION"), {}, None
            limit_headers = self._rate(method)
            if limit_headers is None:
                self.throttled += 1
                return 429, {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                             "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                             "policyName": "TEN_SECONDLY_ROLLING"}, {
                    "Retry-After": "1", **self._limit_headers(0)}, None
            fault = self._fault(method, path)
            if fault and not fault.get("accept"):
                return self._fault_answer(fault, limit_headers)
            status, payload = self._route(method, path, query, body)
            if fault:
                return (*self._fault_answer(fault, limit_headers)[:3], fault)
            return status, payload, limit_headers, None

    def _rate(self, method: str) -> dict | None:
        now = time.monotonic()
        while self.requests and self.requests[0] <= now - 10:
            self.requests.popleft()
        if len(self.requests) >= self.per_10s:
            return None
        self.requests.append(now)
        return self._limit_headers(self.per_10s - len(self.requests))

    def _limit_headers(self, remaining: int) -> dict:
        return {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Max": str(self.per_10s),
                "X-HubSpot-RateLimit-Remaining": str(max(0, remaining))}


    def _fault_answer(self, fault: dict, headers: dict):
        status = int(fault.get("status", 500))
        extra = dict(headers)
        if fault.get("retry_after") is not None:
            extra["Retry-After"] = str(fault["retry_after"])
        if status == 429:
            return 429, {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                         "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}, extra, fault
        return status, _error("internal error" if status >= 500 else "bad request", "ERROR"), extra, fault

    limit_name = "per_10s"

    def not_found(self, message: str):
        return _error(message, "OBJECT_NOT_FOUND")

    def _route(self, method: str, path: str, query: dict, body):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["crm", "v3"] and len(parts) >= 4 and parts[2] == "objects":
            object_type = parts[3]
            if object_type not in self.objects:
                return 400, _error(f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
            if len(parts) == 4 and method == "GET":
                return self._list(object_type, query)
            if len(parts) == 4 and method == "POST":
                return self._create(object_type, body or {})
            if len(parts) == 5 and parts[4] == "search" and method == "POST":
                return self._search(object_type, body or {})
            if len(parts) == 5 and method == "PATCH":
                return self._update(object_type, parts[4], body or {})
            if len(parts) == 5 and method == "GET":
                obj = self.objects[object_type].get(parts[4])
                return (200, _public(obj, None)) if obj else (404, _error("resource not found", "OBJECT_NOT_FOUND"))
        if parts[:3] == ["crm", "v3", "properties"] and len(parts) >= 4:
            object_type = parts[3]
            if object_type not in self.properties:
                return 400, _error(f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
            if len(parts) == 4 and method == "GET":
                return 200, {"results": [{"name": n} for n in sorted(self.properties[object_type])]}
            if len(parts) == 4 and method == "POST":
                name = (body or {}).get("name", "")
                if (body or {}).get("groupName") and body["groupName"] not in self.groups[object_type] | {
                        "contactinformation"}:
                    return 400, _error(f"group {body['groupName']} does not exist", "VALIDATION_ERROR")
                if name in self.properties[object_type]:
                    return 409, _error(f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
                self.properties[object_type].add(name)
                return 201, {"name": name, **(body or {})}
            if len(parts) == 5 and parts[4] == "groups" and method == "POST":
                name = (body or {}).get("name", "")
                if name in self.groups[object_type]:
                    return 409, _error(f"Group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
                self.groups[object_type].add(name)
                return 201, body or {}
        return 404, _error(f"no route {method} {path}", "OBJECT_NOT_FOUND")

    def _check_properties(self, object_type: str, props: dict):
        unknown = sorted(set(props) - self.properties[object_type])
        if unknown:
            return 400, {"status": "error", "category": "VALIDATION_ERROR", "correlationId": str(uuid.uuid4()),
                         "message": "Property values were not valid: " + ", ".join(
                             f"Property \"{p}\" does not exist" for p in unknown)}
        return None

    def _list(self, object_type: str, query: dict):
        limit = min(100, int(query.get("limit", ["10"])[0]))
        wanted = _wanted(query.get("properties", []))
        after = query.get("after", [None])[0]
        order = self.order[object_type]
        start = bisect.bisect_left(order, int(after)) if after else 0
        ids = order[start:start + limit]
        results = [_public(self.objects[object_type][str(i)], wanted) for i in ids]
        payload = {"results": results}
        if start + limit < len(order):
            payload["paging"] = {"next": {"after": str(order[start + limit]), "link": "?after="}}
        return 200, payload

    def _search(self, object_type: str, body: dict):
        limit = min(200, int(body.get("limit") or 10))
        offset = int(body.get("after") or 0)
        if offset + limit > 10_000:
            return 400, _error("The request exceeded the 10,000 result limit for search.", "VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        found = [o for o in self.objects[object_type].values() if not groups or any(
            all(_matches(o, f) for f in g.get("filters", [])) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            if isinstance(sort, str):
                sort = {"propertyName": sort.lstrip("-"), "direction": "DESCENDING" if sort.startswith("-")
                        else "ASCENDING"}
            name = sort.get("propertyName", "")
            found.sort(key=lambda o: _sort_key(o["properties"].get(name), name),
                       reverse=sort.get("direction") == "DESCENDING")
        page = found[offset:offset + limit]
        payload = {"total": len(found), "results": [_public(o, _wanted(body.get("properties") or [])) for o in page]}
        if offset + limit < len(found):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, payload

    def _create(self, object_type: str, body: dict):
        props = {k: ("" if v is None else str(v)) for k, v in (body.get("properties") or {}).items()}
        bad = self._check_properties(object_type, props)
        if bad:
            return bad
        associations = []
        for a in body.get("associations") or []:
            to = str((a.get("to") or {}).get("id", ""))
            if to not in self.objects["contacts"]:
                return 400, _error(f"association target {to} does not exist", "VALIDATION_ERROR")
            for t in a.get("types") or []:
                associations.append({"to": to, "type": t.get("associationTypeId"),
                                     "category": t.get("associationCategory")})
        obj = self._store(object_type, self._new_id(), props, associations)
        self.ledger.append({"object": object_type, "id": obj["id"], "properties": props,
                            "associations": associations, "op": "create"})
        return 201, _public(obj, None)

    def _update(self, object_type: str, oid: str, body: dict):
        obj = self.objects[object_type].get(oid)
        if obj is None:
            return 404, _error("resource not found", "OBJECT_NOT_FOUND")
        props = {k: ("" if v is None else str(v)) for k, v in (body.get("properties") or {}).items()}
        bad = self._check_properties(object_type, props)
        if bad:
            return bad
        obj["properties"].update(props)
        self._touch(obj)
        self.ledger.append({"object": object_type, "id": oid, "properties": props, "associations": [],
                            "op": "update"})
        return 200, _public(obj, None)


def _error(message: str, category: str) -> dict:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}


def _wanted(values) -> set[str] | None:
    names = set()
    for v in values if isinstance(values, list) else [values]:
        names |= {n for n in str(v).split(",") if n}
    return names or None


def _public(obj: dict, wanted: set[str] | None) -> dict:
    props = obj["properties"]
    if wanted is not None:
        keep = wanted | {"createdate", "lastmodifieddate", "hs_object_id"}
        props = {k: props.get(k) for k in keep}  # HubSpot answers null for a property with no value
    return {"id": obj["id"], "properties": props, "createdAt": obj["createdAt"], "updatedAt": obj["updatedAt"],
            "archived": False}


def _sort_key(value, name: str):
    if name in ("lastmodifieddate", "createdate", "hs_timestamp"):
        return to_ms(value) or 0
    return value or ""


def _matches(obj: dict, f: dict) -> bool:
    name, op, value = f.get("propertyName"), f.get("operator", "EQ"), f.get("value")
    have = obj["properties"].get(name)
    if op == "HAS_PROPERTY":
        return have not in (None, "")
    if op == "EQ":
        return str(have) == str(value)
    if name in ("lastmodifieddate", "createdate", "hs_timestamp"):
        a, b = to_ms(have), to_ms(value)
    else:
        a, b = have, value
    if a is None or b is None:
        return False
    return {"GT": a > b, "GTE": a >= b, "LT": a < b, "LTE": a <= b, "NEQ": a != b}.get(op, False)


def serve(port: int, token: str, per_10s: int = 100, app_secret: str = "", webhook_url: str = "") -> None:
    fake = FakeHubSpot(token=token, port=port, per_10s=per_10s, app_secret=app_secret, webhook_url=webhook_url)
    fake.start()
    print(f"fake HubSpot on {fake.url} (token {token!r}, {per_10s} requests per 10 s); Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
