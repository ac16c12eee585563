"""Salesforce's REST API through the maintained `simple-salesforce` library, in the terms the shared sync
uses.

The instance URL is settings.CRM_BASE_URLS["salesforce"] (DUEDESK_SALESFORCE_BASE_URL, e.g.
https://clinic.my.salesforce.com, or the local fake). The library builds every address as
https://{instance}; an http:// instance URL (only the loopback fake) is reached as written by the session's
adapter. The adapter also gives every request the connection's timeout and never retries: a timeout after
Salesforce accepted a write must be looked up, not repeated.

Tokens: the access token comes from the variable the connection names (or the one the refresh flow last
gave, kept encrypted). When Salesforce answers 401 INVALID_SESSION_ID, the client asks the token endpoint
for a new one — the OAuth 2 refresh-token grant, or the JWT bearer grant for a server-to-server
connection — hands it to `on_token` (kept encrypted on the connection) and repeats the request once. A 401
means Salesforce did nothing, so repeating a write is safe. When the token endpoint refuses, the error is
an auth error: the owner is told and the writes wait.

Every request first takes a slot of the connection's budget (ratelimit.py); the daily allowance Salesforce
reports (Sforce-Limit-Info) is kept for the status page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

from duedesk.integrations.crm.base import CrmError, Page, Record, Touch
from duedesk.integrations.crm.ratelimit import RateLimit
from duedesk.integrations.salesforce import mapping

API_VERSION = "59.0"
BATCH = {"Sforce-Query-Options": "batchSize=200"}  # the smallest batch Salesforce gives: bounded memory
DESCRIPTION_MAX = 32_000  # Task.Description holds 32,000 characters
SUBJECT_MAX = 255
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class OAuth:
    """What the token endpoint needs: a refresh token (web-server flow) or a private key (JWT bearer)."""

    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    username: str = ""  # JWT bearer: the Salesforce user duedesk acts as
    private_key: str = ""  # JWT bearer: PEM, the certificate's key uploaded to the connected app
    audience: str = "https://login.salesforce.com"  # JWT bearer: test.salesforce.com for a sandbox

    @property
    def usable(self) -> bool:
        return bool(self.client_id and (self.refresh_token or (self.username and self.private_key)))


class _Adapter(HTTPAdapter):
    """Every request with the connection's timeout, no retries; to an http:// instance (the fake) as written."""

    def __init__(self, timeout: float, plain: bool):
        super().__init__(max_retries=0)
        self.timeout, self.plain = timeout, plain

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.plain and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]
        return super().send(request, **kwargs)


class SalesforceClient:
    provider = "salesforce"

    def __init__(self, token: str, base_url: str, timeout: float = 15.0, limit: RateLimit | None = None, *,
                 oauth: OAuth | None = None, on_token: Callable[[str], None] | None = None):
        base_url = (base_url or "").rstrip("/")
        if not base_url:
            raise CrmError("DUEDESK_SALESFORCE_BASE_URL is not set: set it to the org's instance URL "
                           "(https://YOURDOMAIN.my.salesforce.com)", permanent=True)
        self.oauth = oauth or OAuth()
        if not token and not self.oauth.usable:
            raise CrmError("no Salesforce token: the environment variable the connection names is not set, and "
                           "there is no refresh token or JWT key to get one", auth=True)
        self.base_url, self.timeout, self.limit, self.on_token = base_url, timeout, limit, on_token
        self.usage = ""  # "api-usage=N/M" as Salesforce last reported it
        self.describes: dict[str, dict[str, dict]] = {}
        parts = urlsplit(base_url)
        session = requests.Session()
        session.mount(f"https://{parts.netloc}", _Adapter(timeout, plain=parts.scheme == "http"))
        session.hooks["response"].append(self._heard)
        self.session = session
        self._last = None
        self.sf = Salesforce(instance_url=base_url, session_id=token or "none", session=session,
                             version=API_VERSION)
        if not token:
            self.refresh()

    # ------------------------------------------------------------------ one request, errors in words

    def _heard(self, response, *args, **kwargs):
        self._last = response
        usage = response.headers.get("Sforce-Limit-Info")
        if usage:
            self.usage = usage

    def _call(self, fn, *args, **kwargs):
        for attempt in (1, 2):
            if self.limit is not None:
                self.limit.acquire()
            try:
                return fn(*args, **kwargs)
            except requests.Timeout as error:
                raise CrmError(f"Salesforce did not answer in time ({type(error).__name__}); the write is looked "
                               "up before it is tried again", answer_lost=True) from None
            except requests.ConnectionError as error:
                raise CrmError(f"Salesforce could not be reached or the connection dropped ({type(error).__name__});"
                               " the write is looked up before it is tried again", answer_lost=True) from None
            except SalesforceError as error:
                problem = translate(error.status, error.content, self._last.headers if self._last is not None
                                    else {})
                if problem.status == 401 and attempt == 1 and self.oauth.usable:
                    self.refresh()  # raises an auth error when the token endpoint refuses
                    continue
                raise problem from None
        raise AssertionError("unreachable")

    def refresh(self) -> None:
        """A new access token from the token endpoint (refresh token, else JWT bearer)."""
        o = self.oauth
        if o.refresh_token:
            form = {"grant_type": "refresh_token", "client_id": o.client_id, "refresh_token": o.refresh_token}
            if o.client_secret:
                form["client_secret"] = o.client_secret
        else:
            form = {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        try:
            answer = self.session.post(f"{self.base_url}/services/oauth2/token", data=form, timeout=self.timeout)
        except requests.RequestException as error:
            raise CrmError(f"Salesforce's token endpoint could not be reached ({type(error).__name__})") from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if answer.status_code != 200 or not data.get("access_token"):
            words = data.get("error_description") or data.get("error") or f"HTTP {answer.status_code}"
            how = "refresh token" if o.refresh_token else "JWT bearer grant"
            raise CrmError(f"Salesforce refused to give a new access token ({how}): {words}",
                           status=answer.status_code, auth=True)
        token = data["access_token"]
        self.sf.session_id = token
        self.sf._generate_headers()
        if self.on_token:
            self.on_token(token)

    def _assertion(self) -> str:
        import jwt

        o = self.oauth
        claims = {"iss": o.client_id, "sub": o.username, "aud": o.audience, "exp": int(time.time()) + 180}
        try:
            return jwt.encode(claims, o.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise CrmError(f"the JWT private key could not sign ({error})", auth=True) from None

    # ------------------------------------------------------------------ connect

    def check(self) -> None:
        limits = self._call(self.sf.limits)
        daily = (limits or {}).get("DailyApiRequests") or {}
        if daily.get("Max"):
            used = int(daily["Max"]) - int(daily.get("Remaining", 0))
            self.usage = f"api-usage={used}/{daily['Max']}"

    def prepare(self) -> list[str]:
        """Salesforce's fields are the admin's to create (docs/integrations.md); only the Task field holding our
        event id is required, because without it a lost answer could not be looked up."""
        tasks = self.fields("Task")
        if mapping.EVENT_ID not in tasks:
            raise CrmError(f"Salesforce's Task has no field {mapping.EVENT_ID}: create it on Activity (Setup → "
                           "Object Manager → Activity → Fields & Relationships; Text(64), Unique, External ID)",
                           permanent=True)
        return []

    def fields(self, object_type: str) -> dict[str, dict]:
        if object_type not in self.describes:
            answer = self._call(getattr(self.sf, object_type).describe)
            self.describes[object_type] = {f["name"]: f for f in answer.get("fields") or []}
        return self.describes[object_type]

    # ------------------------------------------------------------------ pull

    def _select(self, properties: list[str]) -> str:
        names = {"Id", "SystemModstamp", *mapping.PHONES} | set(properties)
        names -= {"phone"}  # ours: MobilePhone, else Phone
        return ", ".join(sorted(names))

    def _page(self, answer: dict) -> Page:
        records = [contact_record(r) for r in answer.get("records") or []]
        return Page(records, None if answer.get("done", True) else answer.get("nextRecordsUrl"))

    def full_page(self, after: str | None, properties: list[str]) -> Page:
        if after:
            try:
                return self._page(self._call(self.sf.query_more, after, identifier_is_url=True, headers=BATCH))
            except CrmError as error:
                if getattr(error, "code", "") != "INVALID_QUERY_LOCATOR":
                    raise
                # The saved batch's query locator expired (15 minutes unused): read from the start again;
                # contacts already landed are recognised by their links and change nothing.
        soql = f"SELECT {self._select(properties)} FROM Contact ORDER BY Id"
        return self._page(self._call(self.sf.query, soql, headers=BATCH))

    def latest_modified(self) -> str | None:
        answer = self._call(self.sf.query, "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp DESC "
                                           "LIMIT 1")
        rows = answer.get("records") or []
        return str(rows[0]["SystemModstamp"]) if rows else None

    def changed_since(self, cursor: str, properties: list[str]) -> Iterator[Page]:
        """Contacts whose SystemModstamp is at or after `cursor`, oldest first, in batches."""
        where = f" WHERE SystemModstamp >= {soql_datetime(cursor)}" if cursor else ""
        soql = f"SELECT {self._select(properties)} FROM Contact{where} ORDER BY SystemModstamp, Id"
        page = self._page(self._call(self.sf.query, soql, headers=BATCH))
        while True:
            yield page
            if page.after is None:
                return
            page = self._page(self._call(self.sf.query_more, page.after, identifier_is_url=True, headers=BATCH))

    # ------------------------------------------------------------------ push

    def find_activity(self, touch: Touch, crm_id: str = "") -> str | None:
        soql = format_soql(f"SELECT Id FROM Task WHERE {mapping.EVENT_ID} = {{}} LIMIT 1", touch.key)
        rows = self._call(self.sf.query, soql).get("records") or []
        return str(rows[0]["Id"]) if rows else None

    def create_activity(self, touch: Touch, crm_id: str) -> str:
        try:
            answer = self._call(self.sf.Task.create, task_fields(touch, crm_id))
        except CrmError as error:
            if getattr(error, "code", "") == "DUPLICATE_VALUE":
                # Our event id is already on a Task: an earlier try got through. Use it, never a second one.
                found = self.find_activity(touch, crm_id)
                if found:
                    return found
            raise
        return str(answer["id"])

    def update_contact(self, crm_id: str, properties: dict) -> None:
        fields = self.fields("Contact")
        values = {}
        for name, value in properties.items():
            field = fields.get(name)
            if field is None:
                raise CrmError(f"Salesforce's Contact has no field {name!r} (the mapping names it)", permanent=True)
            values[name] = typed(field, value)
        self._call(self.sf.Contact.update, crm_id, values)


def task_fields(touch: Touch, crm_id: str) -> dict:
    kind = "email" if touch.event_kind == "email.sent" else touch.kind
    subtype, status = mapping.TASKS[kind]
    fields = {"WhoId": crm_id, "Subject": touch.subject[:SUBJECT_MAX], "Description": touch.body[:DESCRIPTION_MAX],
              "Status": status, "Priority": "High" if kind == "task" else "Normal", "TaskSubtype": subtype,
              "ActivityDate": touch.at.astimezone(_zone(touch.zone)).date().isoformat(), mapping.EVENT_ID: touch.key}
    if kind == "call":
        fields["CallType"] = "Outbound"
    if kind == "text" and touch.direction == "in":
        fields["Subject"] = touch.subject or "Text received"
    if kind == "task" and touch.owner_id:
        fields["OwnerId"] = touch.owner_id
    return fields


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC


def typed(field: dict, value):
    """Our text as the field's type wants it: a checkbox, a number, a date or text."""
    text = "" if value is None else str(value)
    kind = field.get("type")
    if kind == "boolean":
        return text.strip().lower() in ("on", "true", "yes", "1")
    if text == "":
        return None
    if kind in ("currency", "double", "percent"):
        return float(text)
    if kind == "int":
        return int(float(text))
    if kind == "date":
        return date.fromisoformat(text[:10]).isoformat()
    return text


def _plain(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == round(value, 2):
        # Salesforce sends a currency as a JSON number (120.0); written as duedesk writes amounts (120.00),
        # a balance we wrote back is not read as a change made in Salesforce.
        return f"{value:.2f}"
    return str(value)


def contact_record(row: dict) -> Record:
    props = {k: _plain(v) for k, v in row.items() if k != "attributes"}
    props["phone"] = next((props[p] for p in mapping.PHONES if props.get(p)), "")
    return Record(crm_id=str(row["Id"]), modified=str(row.get("SystemModstamp") or ""), properties=props)


def soql_datetime(cursor: str) -> str:
    """A SystemModstamp as Salesforce writes it (2026-01-01T00:00:01.000+0000) as a SOQL dateTime literal."""
    for shape in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            moment = datetime.strptime(cursor.replace("Z", "+0000"), shape)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    raise CrmError(f"the pull's cursor {cursor!r} is not a Salesforce dateTime; run a full sync", permanent=True)


def translate(status: int, content, headers) -> CrmError:
    """Salesforce's error answer (a JSON list of {"message", "errorCode"}) in words, with what it means."""
    first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
    if isinstance(content, dict):
        first = content
    message = str(first.get("message") or "").strip() or f"HTTP {status}"
    code = str(first.get("errorCode") or "")
    headers = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    wait = _seconds(headers.get("retry-after"))
    if status == 401:
        error = CrmError(f"Salesforce refused the access token ({code or 'INVALID_SESSION_ID'}): {message}",
                         status=401, auth=True)
    elif code == "REQUEST_LIMIT_EXCEEDED" or status == 429:
        wait = wait if wait is not None else 300.0
        error = CrmError(f"Salesforce's API request limit was reached ({message}); waiting {wait:g} s",
                         status=status, retry_after=wait)
    elif status == 403:
        error = CrmError(f"Salesforce says the connected user may not do this ({code}): {message}", status=403,
                         auth=True)
    elif status >= 500:
        error = CrmError(f"Salesforce had a server error ({status} {code}): {message}".replace(" )", ")"),
                         status=status)
    elif status == 404:
        error = CrmError(f"Salesforce has no such record ({code}): {message}", status=404, permanent=True)
    else:
        error = CrmError(f"Salesforce refused the request ({status} {code}): {message}".replace(" )", ")"),
                         status=status, permanent=True)
    error.code = code
    return error


def _seconds(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def authorize_url(base_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where an owner signs in to Salesforce and approves duedesk (the OAuth 2 web-server flow), at the org's
    My Domain (the instance URL answers /services/oauth2/authorize like login.salesforce.com)."""
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "state": state, "scope": "api refresh_token", "prompt": "login consent"})
    return f"{(base_url or '').rstrip('/')}/services/oauth2/authorize?{query}"


def exchange_code(base_url: str, code: str, client_id: str, client_secret: str, redirect_uri: str,
                  timeout: float = 15.0) -> dict:
    """The code Salesforce sent back, exchanged for an access token and a refresh token."""
    if not base_url:
        raise CrmError("DUEDESK_SALESFORCE_BASE_URL is not set: set it to the org's instance URL", permanent=True)
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": redirect_uri}
    try:
        answer = requests.post(f"{base_url.rstrip('/')}/services/oauth2/token", data=form, timeout=timeout)
        data = answer.json()
    except requests.RequestException as error:
        raise CrmError(f"Salesforce's token endpoint could not be reached ({type(error).__name__})") from None
    except ValueError:
        data = {}
    if answer.status_code != 200 or not data.get("access_token") or not data.get("refresh_token"):
        words = data.get("error_description") or data.get("error") or f"HTTP {answer.status_code}"
        if answer.status_code == 200:
            words = "no refresh token came back: give the connected app the refresh_token scope"
        raise CrmError(f"Salesforce did not give duedesk its tokens: {words}", auth=True)
    return data
