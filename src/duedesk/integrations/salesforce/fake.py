"""FakeSalesforce: a local HTTP server speaking the parts of Salesforce's REST API duedesk uses, built from
Salesforce's public REST API and OAuth 2 documentation — SOQL queries (`/query?q=`) answered in batches
with `nextRecordsUrl` (the `Sforce-Query-Options: batchSize=` header honoured, 200 to 2000), sObject
describe, create and update (204 No Content), Salesforce's error shape (a JSON list
`[{"message": …, "errorCode": …}]`), 401 INVALID_SESSION_ID, the daily request allowance (the
`Sforce-Limit-Info: api-usage=N/M` header, `/limits`, 403 REQUEST_LIMIT_EXCEEDED beyond it), unique
External ID fields (DUPLICATE_VALUE), OAuth 2 — `/services/oauth2/authorize` (the web-server flow: the
user is taken as having approved, and sent back to `redirect_uri` with a code and the state) and the token
endpoint (authorization code, refresh token and JWT bearer grants) — and injectable faults.

Test-only control routes:
  POST /__fake__/contacts   seed or change contacts in Salesforce Contact fields ({"FirstName", "LastName",
                            "Email", "MobilePhone", "Duedesk_Due_Date__c", …}; with "Id" a change made in
                            Salesforce, its SystemModstamp moves): a contact or a list
  GET  /__fake__/ledger     every object created or updated through the API, as JSON lines
  POST /__fake__/faults     {"method": "POST", "path": "/services/data/v59.0/sobjects/Task", "status": 500,
                             "count": 1, "retry_after": 2, "delay": 3, "accept": true, "error_code": "…"}
                            (accept: carry it out, then fail)
  POST /__fake__/token      {"expired": true} every access token given so far stops working (a refresh
                            gives a new one); {"revoked": true} the refresh token is refused too
  POST /__fake__/limit      {"daily_limit": 15000}
Modification times come from the fake's own clock (one second per change), so runs are repeatable."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from duedesk.integrations.crm import fakeserver
from duedesk.integrations.salesforce import mapping

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
PREFIX = {"Contact": "003", "Task": "00T", "User": "005"}
CONTACT_FIELDS = {"Id": "id", "FirstName": "string", "LastName": "string", "Name": "string", "Email": "email",
                  "Phone": "phone", "MobilePhone": "phone", "Birthdate": "date", "OwnerId": "reference",
                  "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime",
                  "IsDeleted": "boolean", **{name: kind for name, _, kind in mapping.CONTACT_FIELDS}}
TASK_FIELDS = {"Id": "id", "WhoId": "reference", "WhatId": "reference", "Subject": "string",
               "Description": "textarea", "Status": "picklist", "Priority": "picklist", "TaskSubtype": "picklist",
               "CallType": "picklist", "CallDurationInSeconds": "int", "ActivityDate": "date",
               "OwnerId": "reference", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
               "SystemModstamp": "datetime", "IsDeleted": "boolean", mapping.EVENT_ID: "string"}
READ_ONLY = {"Id", "Name", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"}
SOQL = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
                  r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$", re.I | re.S)
CONDITION = re.compile(r"^\s*(\w+)\s*(=|!=|>=|<=|>|<)\s*('(?:[^'\\]|\\.)*'|[\w:.+-]+)\s*$")
LOCATOR = "01gFAKE"


def stamp(seconds: int) -> str:
    """Salesforce's dateTime as its REST API writes it: 2026-01-01T00:00:01.000+0000."""
    return (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _moment(text) -> datetime | None:
    text = str(text or "")
    for shape in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), shape)
        except ValueError:
            continue
    return None


def errors(message: str, code: str, fields: list | None = None) -> list:
    return [{"message": message, "errorCode": code, **({"fields": fields} if fields is not None else {})}]


class FakeSalesforce(fakeserver.Fake):
    limit_name = "daily_limit"

    def __init__(self, token: str = "salesforce-test-token", host: str = "127.0.0.1", port: int = 0,
                 daily_limit: int = 100_000, client_id: str = "", client_secret: str = "", refresh_token: str = "",
                 jwt_public_key: str = "", jwt_username: str = "", contact_fields: dict | None = None):
        self.host, self.port = host, port
        self.token = token
        self.tokens = {token} if token else set()  # access tokens that work now
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.jwt_public_key, self.jwt_username = jwt_public_key, jwt_username
        self.revoked = False
        self.daily_limit, self.used = daily_limit, 0
        self.lock = threading.RLock()
        self.clock_s = 0
        self.next_id = 0
        self.fields = {"Contact": dict(CONTACT_FIELDS if contact_fields is None else contact_fields),
                       "Task": dict(TASK_FIELDS), "User": {"Id": "id", "Name": "string"}}
        self.objects: dict[str, dict[str, dict]] = {"Contact": {}, "Task": {}, "User": {}}
        self.locators: dict[str, tuple[str, list[dict]]] = {}
        self.ledger: list[dict] = []
        self.faults: list[dict] = []
        self.issued = 0
        self.codes: dict[str, str] = {}  # authorization code -> the redirect_uri it was given for
        self.request_count = 0

    # ------------------------------------------------------------------ tokens

    @property
    def expired(self) -> bool:
        return not self.tokens

    @expired.setter
    def expired(self, value: bool) -> None:
        """Expired: every access token given so far stops working (Salesforce's session timeout)."""
        self.tokens = set() if value else {self.token}

    # ------------------------------------------------------------------ state

    def _tick(self) -> str:
        self.clock_s += 1
        return stamp(self.clock_s)

    def _new_id(self, object_type: str) -> str:
        self.next_id += 1
        return f"{PREFIX[object_type]}FAKE{self.next_id:08d}AAA"  # 18 characters, as the API gives them

    def seed(self, items: list[dict]) -> list[str]:
        """Contacts as Salesforce keeps them; with "Id", a change made in Salesforce."""
        ids = []
        with self.lock:
            for item in items:
                values = {k: v for k, v in item.items() if k != "Id"}
                cid = str(item.get("Id") or "")
                if cid and cid in self.objects["Contact"]:
                    self._write("Contact", cid, values)
                else:
                    cid = cid or self._new_id("Contact")
                    self._store("Contact", cid, values)
                ids.append(cid)
        return ids

    def contact(self, cid: str) -> dict:
        return self.objects["Contact"][cid]

    def _typed(self, object_type: str, name: str, value):
        kind = self.fields[object_type].get(name)
        if value is None or value == "":
            return None
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "on", "yes")
        if kind in ("currency", "double", "percent"):
            return float(value)
        if kind == "int":
            return int(value)
        return str(value)

    def _store(self, object_type: str, oid: str, values: dict) -> dict:
        now = self._tick()
        record = {name: None for name in self.fields[object_type]}
        record.update(Id=oid, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now, IsDeleted=False)
        for k, v in values.items():
            record[k] = self._typed(object_type, k, v)
        if object_type == "Contact":
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
        self.objects[object_type][oid] = record
        return record

    def _write(self, object_type: str, oid: str, values: dict) -> None:
        record = self.objects[object_type][oid]
        for k, v in values.items():
            record[k] = self._typed(object_type, k, v)
        now = self._tick()
        record["LastModifiedDate"] = record["SystemModstamp"] = now

    # ------------------------------------------------------------------ the API

    def bad_json(self):
        return errors("The request body is either invalid or incomplete.", "JSON_PARSER_ERROR")

    def not_found(self, message: str):
        return errors(message, "NOT_FOUND")

    def _control(self, method: str, path: str, body):
        if path == "/__fake__/token" and method == "POST":
            body = body or {}
            if "expired" in body:
                self.expired = bool(body["expired"])
            if "revoked" in body:
                self.revoked = bool(body["revoked"])
            return 200, {"expired": self.expired, "revoked": self.revoked}, {}, None
        return super()._control(method, path, body)

    def serve_request(self, method: str, path: str, query: dict, body, headers: dict):
        """-> (status, payload, headers, fault)"""
        with self.lock:
            self.request_count += 1
            if path.startswith("/__fake__/"):
                return self._control(method, path, body)
            if path == "/services/oauth2/authorize" and method == "GET":
                return self._authorize({k: v[0] for k, v in query.items()})
            if path == "/services/oauth2/token" and method == "POST":
                status, payload = self._token(body or {})
                return status, payload, {}, None
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                return 401, errors("Session expired or invalid", "INVALID_SESSION_ID"), {}, None
            if self.used >= self.daily_limit:
                return 403, errors("TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"), self._usage(), None
            self.used += 1
            fault = self._fault(method, path)
            if fault and not fault.get("accept"):
                return self._fault_answer(fault)
            status, payload = self._route(method, path, query, body, headers)
            if fault:
                return (*self._fault_answer(fault)[:3], fault)
            return status, payload, self._usage(), None

    def _usage(self) -> dict:
        return {"Sforce-Limit-Info": f"api-usage={self.used}/{self.daily_limit}"}

    def _fault_answer(self, fault: dict):
        status = int(fault.get("status", 500))
        extra = self._usage()
        if fault.get("retry_after") is not None:
            extra["Retry-After"] = str(fault["retry_after"])
        code = fault.get("error_code")
        if status in (429, 403) and (code or status == 429):
            payload = errors("TotalRequests Limit exceeded.", code or "REQUEST_LIMIT_EXCEEDED")
        elif status >= 500:
            payload = errors("An unexpected error occurred. Please include this ErrorId if you contact support: "
                             "1234567890-12345 (-1234567890)", code or "UNKNOWN_EXCEPTION")
        elif status < 300:
            payload = {"id": "", "success": True, "errors": []}
        else:
            payload = errors("bad request", code or "INVALID_FIELD")
        return status, payload, extra, fault

    def _authorize(self, query: dict):
        """GET /services/oauth2/authorize: the person signs in and approves; back to redirect_uri with a code."""
        uri = query.get("redirect_uri", "")
        if query.get("response_type") != "code" or query.get("client_id") != self.client_id or not uri:
            return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}, {}, None
        code = f"aPrx{uuid.uuid4().hex}"
        self.codes[code] = uri
        glue = "&" if "?" in uri else "?"
        location = f"{uri}{glue}{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, "", {"Location": location, "Content-Type": "text/html"}, None

    def _token(self, form: dict):
        """POST /services/oauth2/token: the authorization-code, refresh-token and JWT bearer grants."""
        grant = form.get("grant_type", "")
        refresh = None
        if grant == "authorization_code":
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri") or not form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "invalid authorization code"}
            self.refresh_token = self.refresh_token or f"5Aep{uuid.uuid4().hex}"
            self.revoked = False
            refresh = self.refresh_token
        elif grant == "refresh_token":
            if form.get("client_id") != self.client_id or (self.client_secret and
                                                           form.get("client_secret") != self.client_secret):
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            if self.revoked or not self.refresh_token or form.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._check_assertion(form.get("assertion", ""))
            if problem:
                return 400, {"error": "invalid_grant", "error_description": problem}
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        self.issued += 1
        token = f"00DFAKE!session-{self.issued}-{uuid.uuid4().hex[:8]}"
        self.tokens.add(token)
        answer = {"access_token": token, "signature": uuid.uuid4().hex, "scope": "refresh_token api",
                  "instance_url": self.url, "id": f"{self.url}/id/00DFAKE/005FAKE", "token_type": "Bearer",
                  "issued_at": str(int(time.time() * 1000))}
        if refresh:
            answer["refresh_token"] = refresh
        return 200, answer

    def _check_assertion(self, assertion: str) -> str:
        import jwt

        if not self.jwt_public_key:
            return "user hasn't approved this consumer"
        try:
            claims = jwt.decode(assertion, self.jwt_public_key, algorithms=["RS256"],
                                options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]})
        except jwt.ExpiredSignatureError:
            return "expired authorization code"
        except jwt.PyJWTError:
            return "invalid assertion"
        if claims.get("iss") != self.client_id:
            return "invalid client credentials"
        if claims.get("sub") != self.jwt_username:
            return "user hasn't approved this consumer"
        return ""

    def _route(self, method: str, path: str, query: dict, body, headers: dict):
        match = re.match(r"^/services/data/v(\d+\.\d)/(.*)$", path)
        if not match:
            return 404, errors("The requested resource does not exist", "NOT_FOUND")
        version, rest = match.groups()
        parts = [p for p in rest.split("/") if p]
        if parts == ["limits"] and method == "GET":
            return 200, {"DailyApiRequests": {"Max": self.daily_limit,
                                              "Remaining": max(0, self.daily_limit - self.used)}}
        if parts == ["query"] and method == "GET":
            return self._query(version, (query.get("q") or [""])[0], headers)
        if len(parts) == 2 and parts[0] == "query" and method == "GET":
            return self._more(version, parts[1])
        if parts and parts[0] == "sobjects" and len(parts) >= 2:
            object_type = parts[1]
            if object_type not in self.objects:
                return 404, errors(f"The requested resource does not exist: sObject type '{object_type}' is "
                                   "not supported.", "NOT_FOUND")
            if len(parts) == 3 and parts[2] == "describe" and method == "GET":
                return 200, {"name": object_type, "fields": [{"name": n, "type": t, "updateable": n not in READ_ONLY,
                                                              "externalId": n == mapping.EVENT_ID,
                                                              "unique": n == mapping.EVENT_ID}
                                                             for n, t in self.fields[object_type].items()]}
            if len(parts) == 2 and method == "POST":
                return self._create(object_type, body or {})
            if len(parts) == 3 and method == "PATCH":
                return self._update(object_type, parts[2], body or {})
            if len(parts) == 3 and method == "GET":
                record = self.objects[object_type].get(parts[2])
                if record is None:
                    return 404, errors("The requested resource does not exist", "NOT_FOUND")
                return 200, self._public(object_type, record, None, version)
        return 404, errors("The requested resource does not exist", "NOT_FOUND")

    def _bad_fields(self, object_type: str, values: dict):
        for name in values:
            if name not in self.fields[object_type]:
                return 400, errors(f"No such column '{name}' on sobject of type {object_type}", "INVALID_FIELD")
            if name in READ_ONLY:
                return 400, errors(f"Unable to create/update fields: {name}. Please check the security settings "
                                   "of this field and verify that it is read/write for your profile or permission "
                                   "set.", "INVALID_FIELD_FOR_INSERT_UPDATE", [name])
        return None

    def _create(self, object_type: str, values: dict):
        bad = self._bad_fields(object_type, values)
        if bad:
            return bad
        who = values.get("WhoId")
        if who and who not in self.objects["Contact"]:
            return 400, errors(f"Name ID: id value of incorrect type: {who}", "FIELD_INTEGRITY_EXCEPTION", ["WhoId"])
        key = values.get(mapping.EVENT_ID)
        if key:
            twin = next((r for r in self.objects[object_type].values() if r.get(mapping.EVENT_ID) == key), None)
            if twin:
                return 400, errors(f"duplicate value found: {mapping.EVENT_ID} duplicates value on record with id: "
                                   f"{twin['Id']}", "DUPLICATE_VALUE", [])
        record = self._store(object_type, self._new_id(object_type), values)
        links = [{"to": values[k], "type": k} for k in ("WhoId", "WhatId") if values.get(k)]
        self.ledger.append({"object": object_type, "id": record["Id"], "op": "create", "properties": dict(values),
                            "associations": links})
        return 201, {"id": record["Id"], "success": True, "errors": []}

    def _update(self, object_type: str, oid: str, values: dict):
        if oid not in self.objects[object_type]:
            return 404, errors("The requested resource does not exist", "NOT_FOUND")
        bad = self._bad_fields(object_type, values)
        if bad:
            return bad
        self._write(object_type, oid, values)
        self.ledger.append({"object": object_type, "id": oid, "op": "update", "properties": dict(values),
                            "associations": []})
        return 204, None

    # ------------------------------------------------------------------ SOQL

    def _query(self, version: str, soql: str, headers: dict):
        match = SOQL.match(soql)
        if not match:
            return 400, errors(f"unexpected token: '{soql[:40]}'", "MALFORMED_QUERY")
        object_type = match["object"]
        if object_type not in self.objects:
            return 400, errors(f"sObject type '{object_type}' is not supported.", "INVALID_TYPE")
        names = [n.strip() for n in match["fields"].split(",")]
        for name in names:
            if name not in self.fields[object_type]:
                return 400, errors(f"No such column '{name}' on entity '{object_type}'. If you are attempting to "
                                   "use a custom field, be sure to append the '__c' after the custom field name.",
                                   "INVALID_FIELD")
        try:
            conditions = [self._condition(object_type, c) for c in re.split(r"\s+AND\s+", match["where"] or "", flags=re.I)
                          if c.strip()]
        except ValueError as error:
            return 400, errors(str(error), "MALFORMED_QUERY")
        found = [r for r in self.objects[object_type].values() if all(test(r) for test in conditions)]
        for part in reversed([p.strip() for p in (match["order"] or "").split(",") if p.strip()]):
            name, _, direction = part.partition(" ")
            kind = self.fields[object_type].get(name)
            found.sort(key=lambda r, n=name, k=kind: _key(r.get(n), k), reverse=direction.strip().upper() == "DESC")
        if match["limit"]:
            found = found[:int(match["limit"])]
        rows = [self._public(object_type, r, names, version) for r in found]
        size = _batch_size(headers.get("sforce-query-options", ""))
        return 200, self._batch(version, rows, 0, size)

    def _condition(self, object_type: str, text: str):
        found = CONDITION.match(text)
        if not found:
            raise ValueError(f"unexpected token: '{text.strip()[:40]}'")
        name, op, literal = found.groups()
        kind = self.fields[object_type].get(name)
        if kind is None:
            raise ValueError(f"No such column '{name}' on entity '{object_type}'")
        if literal.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", literal[1:-1])
        elif literal.lower() == "null":
            value = None
        else:
            value = literal
        if kind == "datetime" and value is not None and _moment(value) is None:
            raise ValueError(f"value of filter criterion for field '{name}' must be of type dateTime")
        want = _key(value, kind)

        def test(record) -> bool:
            have = _key(record.get(name), kind)
            if op == "=":
                return have == want
            if op == "!=":
                return have != want
            if have is None or want is None:
                return False
            return {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[op]

        return test

    def _batch(self, version: str, rows: list[dict], start: int, size: int) -> dict:
        answer = {"totalSize": len(rows), "done": start + size >= len(rows), "records": rows[start:start + size]}
        if not answer["done"]:
            locator = f"{LOCATOR}{len(self.locators):08d}"
            self.locators[locator] = (size, rows)
            answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{start + size}"
        return answer

    def _more(self, version: str, identifier: str):
        locator, _, offset = identifier.rpartition("-")
        if locator not in self.locators or not offset.isdigit():
            return 400, errors("invalid query locator", "INVALID_QUERY_LOCATOR")
        size, rows = self.locators[locator]
        answer = self._batch(version, rows, int(offset), size)
        return 200, answer

    def _public(self, object_type: str, record: dict, names: list[str] | None, version: str) -> dict:
        keep = names if names is not None else list(record)
        return {"attributes": {"type": object_type,
                               "url": f"/services/data/v{version}/sobjects/{object_type}/{record['Id']}"},
                **{n: record.get(n) for n in keep}}


def _key(value, kind):
    if value is None:
        return None
    if kind == "datetime":
        return _moment(value)
    if kind in ("currency", "double", "int", "percent"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def _batch_size(option: str) -> int:
    """Sforce-Query-Options: batchSize=N (200 to 2000; 2000 without it)."""
    found = re.search(r"batchSize=(\d+)", option or "")
    return min(2000, max(200, int(found.group(1)))) if found else 2000


def serve(port: int, token: str, daily_limit: int = 100_000, client_id: str = "", client_secret: str = "",
          refresh_token: str = "") -> None:
    fake = FakeSalesforce(token=token, port=port, daily_limit=daily_limit, client_id=client_id,
                          client_secret=client_secret, refresh_token=refresh_token)
    fake.start()
    print(f"fake Salesforce on {fake.url} (token {token!r}, {daily_limit} requests a day); Ctrl-C stops it",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
