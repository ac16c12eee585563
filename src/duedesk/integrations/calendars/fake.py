"""Fake Google Calendar and fake Microsoft Graph, for tests and local runs (`duedesk fake-calendar google|graph`).

Each answers the endpoints duedesk uses, with the vendor's documented JSON shapes and errors:
- Google: OAuth (`/o/oauth2/auth` redirects straight back with a code, `/token` for codes and refresh tokens),
  Calendar v3 `calendars/{id}`, `calendars/{id}/events` (insert with a client-chosen id, 409 `duplicate`),
  `events/{id}` (get, patch, put, delete; 404 `notFound`, 410 `deleted`) and `freeBusy`.
- Graph: the Microsoft identity platform (`/{tenant}/v2.0/.well-known/openid-configuration`,
  `/{tenant}/oauth2/v2.0/authorize` and `/token`) and `/v1.0/me`, `/v1.0/me/events` (a repeated `transactionId`
  gives back the event it made), `/v1.0/me/events/{id}` (PATCH, DELETE; `ErrorItemNotFound`) and
  `/v1.0/me/calendar/getSchedule`. MSAL accepts only https authorities, so this fake serves TLS with a
  certificate it makes for 127.0.0.1 (`cert_path`; duedesk trusts it through DUEDESK_MICROSOFT_CA_BUNDLE).
- Test-only: `GET /__fake__/ledger` (every write, in order), `POST /__fake__/busy` (seed busy times),
  `POST /__fake__/fail` (the next N API requests answer 503 with Retry-After).
"""

from __future__ import annotations

import json
import secrets
import ssl
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit


class _Base:
    """Tokens, events, busy times and the ledger, shared by both fakes."""

    provider = ""

    def __init__(self, port: int = 0, account: str = "billing@clinic.example"):
        self.account = account
        self.codes: dict[str, str] = {}  # authorization code -> scope
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.events: dict[str, dict] = {}
        self.deleted: set[str] = set()
        self.busy: list[dict] = []  # {"start": iso, "end": iso} in UTC
        self.ledger: list[dict] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.scheme = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def grant(self) -> tuple[str, str]:
        """A fresh access and refresh token (as if a person had consented)."""
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        self.access.add(access)
        self.refresh.add(refresh)
        return access, refresh

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def record(self, op: str, event_id: str, body: dict | None = None) -> None:
        self.ledger.append({"op": op, "id": event_id, "event": json.loads(json.dumps(body)) if body else None})

    def busy_between(self, start: datetime, end: datetime) -> list[dict]:
        out = []
        for span in self.busy + [self._span(e) for e in self.events.values() if self._span(e)]:
            s, e = _parse(span["start"]), _parse(span["end"])
            if s < end and e > start:
                out.append({"start": s, "end": e})
        return sorted(out, key=lambda b: b["start"])

    def _span(self, event: dict) -> dict | None:
        raise NotImplementedError


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------ Google

def _google_error(code: int, reason: str, message: str, status: str) -> dict:
    return {"error": {"code": code, "message": message, "status": status,
                      "errors": [{"domain": "global", "reason": reason, "message": message}]}}


GOOGLE_UNAUTHENTICATED = _google_error(
    401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential.", "UNAUTHENTICATED")
GOOGLE_NOT_FOUND = _google_error(404, "notFound", "Not Found", "NOT_FOUND")
GOOGLE_DELETED = _google_error(410, "deleted", "Resource has been deleted", "GONE")
GOOGLE_DUPLICATE = _google_error(409, "duplicate", "The requested identifier already exists.", "ALREADY_EXISTS")
GOOGLE_UNAVAILABLE = _google_error(503, "backendError", "The service is currently unavailable.", "UNAVAILABLE")
BASE32HEX = set("0123456789abcdefghijklmnopqrstuv")


class FakeGoogle(_Base):
    provider = "google"

    def _span(self, event: dict) -> dict | None:
        if event.get("transparency") == "transparent" or "dateTime" not in event.get("start", {}):
            return None
        return {"start": event["start"]["dateTime"], "end": event["end"]["dateTime"]}

    def handle(self, method: str, path: str, query: dict, body: dict, auth: str) -> tuple[int, dict | None, dict]:
        if path == "/o/oauth2/auth":
            code = f"code-{secrets.token_hex(6)}"
            self.codes[code] = query.get("scope", "")
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", ""),
                                                              "scope": query.get("scope", "")})
            return 302, None, {"Location": target}
        if path == "/token":
            return self._token(body)
        if not path.startswith("/calendar/v3/"):
            return 404, GOOGLE_NOT_FOUND, {}
        if auth.removeprefix("Bearer ") not in self.access:
            return 401, GOOGLE_UNAUTHENTICATED, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        if self.fail_next:
            self.fail_next -= 1
            return 503, GOOGLE_UNAVAILABLE, {"Retry-After": "30"}
        parts = path.removeprefix("/calendar/v3/").split("/")
        if parts == ["freeBusy"] and method == "POST":
            return 200, self._freebusy(body), {}
        if len(parts) == 2 and parts[0] == "calendars" and method == "GET":
            calendar = self.account if parts[1] == "primary" else parts[1]
            return 200, {"kind": "calendar#calendar", "id": calendar, "summary": calendar, "timeZone": "UTC",
                         "etag": '"1"'}, {}
        if len(parts) == 3 and parts[0] == "calendars" and parts[2] == "events" and method == "POST":
            return self._insert(body)
        if len(parts) == 4 and parts[0] == "calendars" and parts[2] == "events":
            return self._one(method, parts[3], body)
        return 404, GOOGLE_NOT_FOUND, {}

    def _token(self, form: dict) -> tuple[int, dict, dict]:
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") in self.codes:
            scope = self.codes.pop(form["code"])
            access, refresh = self.grant()
            return 200, {"access_token": access, "expires_in": 3599, "refresh_token": refresh, "scope": scope,
                         "token_type": "Bearer"}, {}
        if grant == "refresh_token" and form.get("refresh_token") in self.refresh:
            access = f"at-{secrets.token_hex(8)}"
            self.access.add(access)
            return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                         "scope": "https://www.googleapis.com/auth/calendar.events "
                                  "https://www.googleapis.com/auth/calendar.freebusy"}, {}
        return 400, {"error": "invalid_grant", "error_description": "Bad Request"}, {}

    def _insert(self, body: dict) -> tuple[int, dict, dict]:
        event_id = body.get("id") or secrets.token_hex(13)
        if not (5 <= len(event_id) <= 1024 and set(event_id) <= BASE32HEX):
            return 400, _google_error(400, "invalid", "Invalid resource id value.", "INVALID_ARGUMENT"), {}
        if event_id in self.events or event_id in self.deleted:
            return 409, GOOGLE_DUPLICATE, {}
        event = {**body, "kind": "calendar#event", "id": event_id, "status": body.get("status", "confirmed"),
                 "etag": '"1"', "sequence": 0, "htmlLink": f"{self.base_url}/event?eid={event_id}"}
        self.events[event_id] = event
        self.record("insert", event_id, event)
        return 200, event, {}

    def _one(self, method: str, event_id: str, body: dict) -> tuple[int, dict | None, dict]:
        if event_id in self.deleted:
            return 410, GOOGLE_DELETED, {}
        if event_id not in self.events:
            return 404, GOOGLE_NOT_FOUND, {}
        event = self.events[event_id]
        if method == "GET":
            return 200, event, {}
        if method == "DELETE":
            del self.events[event_id]
            self.deleted.add(event_id)
            self.record("delete", event_id)
            return 204, None, {}
        if method in ("PATCH", "PUT"):
            fresh = {**event, **body} if method == "PATCH" else {**body, "id": event_id, "kind": "calendar#event"}
            fresh["sequence"] = event.get("sequence", 0) + 1
            fresh["etag"] = f'"{fresh["sequence"] + 1}"'
            self.events[event_id] = fresh
            self.record("update", event_id, fresh)
            return 200, fresh, {}
        return 404, GOOGLE_NOT_FOUND, {}

    def _freebusy(self, body: dict) -> dict:
        start, end = _parse(body["timeMin"]), _parse(body["timeMax"])
        calendars = {}
        for item in body.get("items", []):
            calendars[item["id"]] = {"busy": [{"start": _z(b["start"]), "end": _z(b["end"])}
                                              for b in self.busy_between(start, end)]}
        return {"kind": "calendar#freeBusy", "timeMin": body["timeMin"], "timeMax": body["timeMax"],
                "calendars": calendars}


# ------------------------------------------------------------------------------------------------ Graph

def _graph_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-01-01T00:00:00", "request-id": secrets.token_hex(8)}}}


GRAPH_UNAUTHENTICATED = _graph_error("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
GRAPH_NOT_FOUND = _graph_error("ErrorItemNotFound", "The specified object was not found in the store.")
GRAPH_UNAVAILABLE = _graph_error("ServiceNotAvailable", "The service is temporarily unavailable.")


class FakeGraph(_Base):
    provider = "graph"

    def __init__(self, port: int = 0, account: str = "billing@clinic.example"):
        super().__init__(port, account)
        self.by_transaction: dict[str, str] = {}
        self.cert_path = _self_signed()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https"

    def _span(self, event: dict) -> dict | None:
        if event.get("isAllDay") or event.get("showAs") == "free":
            return None
        return {"start": event["start"]["dateTime"] + "Z", "end": event["end"]["dateTime"] + "Z"}

    def handle(self, method: str, path: str, query: dict, body: dict, auth: str) -> tuple[int, dict | None, dict]:
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            root = f"{self.base_url}/{tenant}"
            return 200, {"authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                         "token_endpoint": f"{root}/oauth2/v2.0/token",
                         "issuer": f"{root}/v2.0", "jwks_uri": f"{root}/discovery/v2.0/keys",
                         "response_types_supported": ["code"], "scopes_supported": ["openid", "offline_access"],
                         "end_session_endpoint": f"{root}/oauth2/v2.0/logout"}, {}
        if path.endswith("/oauth2/v2.0/authorize"):
            code = f"code-{secrets.token_hex(6)}"
            self.codes[code] = query.get("scope", "")
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", ""),
                                                              "session_state": secrets.token_hex(4)})
            return 302, None, {"Location": target}
        if path.endswith("/oauth2/v2.0/token"):
            return self._token(body)
        if not path.startswith("/v1.0/"):
            return 404, _graph_error("BadRequest", "Resource not found for the segment."), {}
        if auth.removeprefix("Bearer ") not in self.access:
            return 401, GRAPH_UNAUTHENTICATED, {}
        if self.fail_next:
            self.fail_next -= 1
            return 503, GRAPH_UNAVAILABLE, {"Retry-After": "30"}
        parts = path.removeprefix("/v1.0/").split("/")
        if parts == ["me"] and method == "GET":
            return 200, {"id": "00000000-0000-0000-0000-000000000001", "displayName": "Billing",
                         "mail": self.account, "userPrincipalName": self.account}, {}
        if parts == ["me", "calendar", "getSchedule"] and method == "POST":
            return 200, self._schedule(body), {}
        if parts == ["me", "events"] and method == "POST":
            return self._create(body)
        if len(parts) == 3 and parts[:2] == ["me", "events"]:
            return self._one(method, parts[2], body)
        return 404, _graph_error("BadRequest", "Resource not found for the segment."), {}

    def _token(self, form: dict) -> tuple[int, dict, dict]:
        grant = form.get("grant_type")
        scope = form.get("scope", "")
        if grant == "authorization_code" and form.get("code") in self.codes:
            self.codes.pop(form["code"])
        elif not (grant == "refresh_token" and form.get("refresh_token") in self.refresh):
            return 400, {"error": "invalid_grant", "error_description": "AADSTS70000: The provided value for the "
                         "'code' or 'refresh_token' parameter is not valid.", "error_codes": [70000]}, {}
        access, refresh = self.grant()
        return 200, {"token_type": "Bearer", "scope": scope, "expires_in": 3599, "ext_expires_in": 3599,
                     "access_token": access, "refresh_token": refresh}, {}

    def _create(self, body: dict) -> tuple[int, dict, dict]:
        transaction_id = body.get("transactionId")
        if transaction_id and transaction_id in self.by_transaction:
            existing = self.by_transaction[transaction_id]
            if existing in self.events:
                return 201, self.events[existing], {}
        event_id = "AAMkA" + secrets.token_urlsafe(24)
        event = {"@odata.etag": 'W/"1"', "id": event_id, **body, "webLink": f"{self.base_url}/owa/?itemid={event_id}"}
        self.events[event_id] = event
        if transaction_id:
            self.by_transaction[transaction_id] = event_id
        self.record("create", event_id, event)
        return 201, event, {}

    def _one(self, method: str, event_id: str, body: dict) -> tuple[int, dict | None, dict]:
        if event_id not in self.events:
            return 404, GRAPH_NOT_FOUND, {}
        if method == "GET":
            return 200, self.events[event_id], {}
        if method == "DELETE":
            del self.events[event_id]
            self.deleted.add(event_id)
            self.record("delete", event_id)
            return 204, None, {}
        if method == "PATCH":
            fresh = {**self.events[event_id], **body}
            self.events[event_id] = fresh
            self.record("update", event_id, fresh)
            return 200, fresh, {}
        return 405, _graph_error("ErrorInvalidRequest", "The OData request is not supported."), {}

    def _schedule(self, body: dict) -> dict:
        start = _parse(body["startTime"]["dateTime"])
        end = _parse(body["endTime"]["dateTime"])
        interval = int(body.get("availabilityViewInterval", 30))
        busy = self.busy_between(start, end)
        view, moment = "", start
        while moment < end:
            nxt = moment + timedelta(minutes=interval)
            view += "2" if any(b["start"] < nxt and b["end"] > moment for b in busy) else "0"
            moment = nxt
        items = [{"isPrivate": False, "status": "busy",
                  "start": {"dateTime": b["start"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                            "timeZone": "UTC"},
                  "end": {"dateTime": b["end"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                          "timeZone": "UTC"}} for b in busy]
        return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection("
                                  "microsoft.graph.scheduleInformation)",
                "value": [{"scheduleId": s, "availabilityView": view, "scheduleItems": items,
                           "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                            "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                            "timeZone": {"name": "UTC"}}}
                          for s in body.get("schedules", [])]}


def _self_signed() -> str:
    """A certificate and key for 127.0.0.1 in one PEM file (the fake's own, made once per fake)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime(2000, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=365 * 200))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = Path(tempfile.mkdtemp(prefix="fake-graph-")) / "cert.pem"
    path.write_bytes(pem)
    return str(path)


# ------------------------------------------------------------------------------------------------ HTTP

def _handler(fake: _Base):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body: dict = {}
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw)
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            with fake.lock:
                if parts.path.startswith("/__fake__/"):
                    status, answer, headers = _test_only(fake, method, parts.path, body)
                else:
                    status, answer, headers = fake.handle(method, parts.path, query, body,
                                                          self.headers.get("Authorization", ""))
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if answer is not None:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler


def _test_only(fake: _Base, method: str, path: str, body: dict) -> tuple[int, dict | list, dict]:
    if path == "/__fake__/ledger" and method == "GET":
        return 200, {"provider": fake.provider, "writes": fake.ledger, "events": list(fake.events.values())}, {}
    if path == "/__fake__/busy" and method == "POST":
        fake.busy.extend(body.get("busy", []))
        return 200, {"busy": fake.busy}, {}
    if path == "/__fake__/fail" and method == "POST":
        fake.fail_next = int(body.get("times", 1))
        return 200, {"fail_next": fake.fail_next}, {}
    if path == "/__fake__/grant" and method == "POST":
        access, refresh = fake.grant()
        return 200, {"access_token": access, "refresh_token": refresh}, {}
    return 404, {"error": "no such test endpoint"}, {}


def serve(provider: str, port: int, account: str = "billing@clinic.example") -> None:
    fake = (FakeGoogle if provider == "google" else FakeGraph)(port=port, account=account)
    print(f"fake-calendar {provider} on {fake.base_url}", flush=True)
    if isinstance(fake, FakeGraph):
        print(f"  its certificate: {fake.cert_path} (DUEDESK_MICROSOFT_CA_BUNDLE)", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
