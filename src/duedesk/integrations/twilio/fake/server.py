"""FakeTwilio: a local HTTP server speaking Twilio's REST API for messages and calls."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from xml.etree import ElementTree

import httpx

from duedesk.integrations.twilio import errors as codes
from duedesk.integrations.twilio.fake import resources as res
from duedesk.integrations.twilio.fake.callbacks import Dispatcher
from duedesk.integrations.twilio.fake.callee import Callee, FakeCall
from duedesk.integrations.twilio.fake.voice import CallRunner
from duedesk.integrations.twilio.signing import sign

TEST_ACCOUNT_SID = "AC" + "d0e0de5c" * 4
SERVICE_NUMBER = "+15005550006"  # stands in for the number a Messaging Service picks
_REPEATED = {"StatusCallbackEvent", "MediaUrl"}
_LOOKUP = re.compile(r"^/v2/PhoneNumbers/(?P<number>[^/]+)$")
_ROUTE = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls|IncomingPhoneNumbers)(?:/(?P<sid>[^/.]+))?\.json$"
)


class FakeTwilio:
    """Twilio's Messages and Calls API on loopback, with scripted callees and injectable faults.

    callbacks: True delivers webhooks on background threads (wait_idle() to sync), "manual"
    delivers them only on flush(), False never sends them (resources then stay "queued").
    A machine that answered under async AMD waits, in-progress, for update_call(); that wait is
    not pending work, so wait_idle() returns while such a call is still open.
    Faults from fail_next()/slow_next() apply to the next API requests of any kind.
    dedupe: texts with an idempotency token seen before are answered with the first one (a guard our
    fake adds for tests); dedupe=False is Twilio as it is: every request is a new text, so a bug that
    sends twice shows as two texts.
    """

    def __init__(
        self,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = "test-token",
        host: str = "127.0.0.1",
        port: int = 0,
        callbacks: bool | str = True,
        callback_delay: float = 0.0,
        callback_workers: int = 4,
        clock: Callable[[], datetime] | None = None,
        dedupe: bool = True,
        webhook_timeout: float = 15.0,
    ) -> None:
        self.dedupe = dedupe
        # How long the fake waits for our webhooks' answers: Twilio's 15 s, or longer for tests on a busy machine.
        self.webhook_timeout = webhook_timeout
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host, self.port = host, port
        self.callback_delay = callback_delay
        self.messages: list[dict] = []
        self.calls: list[FakeCall] = []
        self.inbound: list[dict] = []
        # The account's own numbers and where Twilio sends what comes in to them (set by tests).
        self.numbers: dict[str, dict[str, str]] = {}
        # Lookup v2: each number's line type ("landline", "mobile", "fixedVoip"...; default mobile) and
        # every number looked up, in order.
        self.line_types: dict[str, str] = {}
        self.lookups: list[str] = []
        self.default_callee = Callee.person()
        self._now = clock or res.now_utc
        self._lock = threading.RLock()
        self._counters: Counter[str] = Counter()
        self._by_sid: dict[str, dict | FakeCall] = {}
        self._idempotent: dict[tuple[str, str], str] = {}
        self._scripts: dict[str, Callee] = {}
        self._dispatcher = Dispatcher(auth_token, callbacks, callback_workers, webhook_timeout)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.reset_faults()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> FakeTwilio:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-twilio", daemon=True
        )
        self._thread.start()
        self._dispatcher.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._dispatcher.stop()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- inspection ------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        with self._lock:
            snapshot = dict(self._counters)
        snapshot["callbacks_sent"] = len(self._dispatcher.log)
        return snapshot

    @property
    def callback_log(self) -> list[dict]:
        return list(self._dispatcher.log)

    def message(self, sid: str) -> dict:
        """The message as Twilio's REST API would show it now."""
        with self._lock:
            return res.message_json(self.account_sid, self._by_sid[sid])

    def call(self, sid: str) -> FakeCall:
        return self._by_sid[sid]  # type: ignore[return-value]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued callback and call has been played out."""
        return self._dispatcher.wait_idle(timeout)

    def flush(self) -> int:
        """In callbacks="manual" mode, deliver everything pending on this thread."""
        return self._dispatcher.flush()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.calls.clear()
            self.inbound.clear()
            self.lookups.clear()
            self._by_sid.clear()
            self._idempotent.clear()
            self._counters.clear()

    # -- scripting and faults -------------------------------------------------------
    def script_call(self, number: str, callee: Callee) -> None:
        """Who answers calls to `number` from now on."""
        with self._lock:
            self._scripts[number] = callee

    def fail_next(
        self, n: int = 1, status: int = 500, code: int | None = None, retry_after: float | None = None
    ):
        """The next n API requests get an error response (nothing is recorded); code=0: a body without a code."""
        if code is None:
            code = {429: 20429, 503: 20503}.get(status, 20500 if status >= 500 else 20001)
        with self._lock:
            self._failures.extend([(status, code, retry_after)] * n)

    def fail_lookups(self, n: int = 1, status: int = 503) -> None:
        """The next n Lookup requests get an error response (a lookup host down, apart from the API's)."""
        with self._lock:
            self._lookup_failures.extend([status] * n)

    def slow_next(self, n: int, seconds: float) -> None:
        """The next n API requests are handled (and recorded) at once but answered late."""
        with self._lock:
            self._slow.extend([seconds] * n)

    def error_for(self, number: str, code: int = 21211, status: str | None = None) -> None:
        """Sends to `number` fail with `code`: at once (HTTP 400) for REST-time codes, or by a
        later undelivered/failed status callback for delivery-time codes (30003-30008)."""
        with self._lock:
            self._number_errors[number] = (str(code), status)

    def reset_faults(self) -> None:
        with self._lock:
            self._failures: list[tuple[int, int, float | None]] = []
            self._lookup_failures: list[int] = []
            self._slow: list[float] = []
            self._number_errors: dict[str, tuple[str, str | None]] = {}

    # -- inbound ---------------------------------------------------------------------
    def send_inbound_sms(
        self, to_webhook_url: str, *, from_: str, to: str, body: str, **extra: str
    ) -> httpx.Response:
        """POST a signed incoming-message webhook to our app, as Twilio does when a patient texts."""
        sid = res.new_sid("SM")
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "To": to,
            "NumSegments": str(res.num_segments(body)),
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "ApiVersion": res.API_VERSION,
            "FromCountry": "US",
            **extra,
        }
        with self._lock:
            self.inbound.append(params)
        headers = {"X-Twilio-Signature": sign(self.auth_token, to_webhook_url, params)}
        response = httpx.post(to_webhook_url, data=params, headers=headers, timeout=self.webhook_timeout)
        self.reply_from_twiml(response, from_=to, to=from_)
        return response

    def incoming_call(self, *, from_: str, to: str, caller: Callee, url: str | None = None,
                      status_callback: str | None = None) -> FakeCall:
        """A person (`caller`: their lines answer each <Gather>) calls `to`, one of the account's numbers: the
        signed request goes to the number's voice URL (`numbers[to]["voice_url"]`, or `url`), the TwiML is
        followed as for an outbound call (Say, Gather, Dial, Hangup, Redirect), and the end is reported to the
        number's status callback (`numbers[to]["voice_status_callback"]`) when it has one. Runs as one
        callback job: flush() (manual mode) or wait_idle() plays it."""
        config = self.numbers.get(to, {})
        params = {"From": from_, "To": to, "Url": url or config.get("voice_url", ""), "Method": "POST"}
        callback = status_callback or config.get("voice_status_callback")
        if callback:
            params["StatusCallback"] = callback
        now = self._now()
        with self._lock:
            call = FakeCall(res.new_sid("CA"), params, caller, now, now, direction="inbound")
            self.calls.append(call)
            self._by_sid[call.sid] = call
            self._counters["calls_received"] += 1
        self._dispatcher.submit(CallRunner(self, call).run_incoming)
        return call

    def reply_from_twiml(self, response: httpx.Response, *, from_: str, to: str) -> list[dict]:
        """Each <Message> of a 200 answer to an incoming text becomes a text back to the sender, sent and
        reported to its statusCallback like any other (Twilio does the same with a webhook's TwiML)."""
        if response.status_code != 200 or "xml" not in response.headers.get("content-type", ""):
            return []
        sent = []
        for element in ElementTree.fromstring(response.content).iter("Message"):
            params = {"To": element.get("to") or to, "From": element.get("from") or from_,
                      "Body": "".join(element.itertext())}
            if element.get("statusCallback") or element.get("action"):
                params["StatusCallback"] = element.get("statusCallback") or element.get("action")
            with self._lock:
                sent.append(self._new_message(params, self._now(), None, self._number_errors.get(params["To"])))
        return sent

    # -- HTTP ------------------------------------------------------------------------
    def _handle(self, h: _Handler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode("utf-8") if length else ""
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        form = parse_qs(raw, keep_blank_values=True) if method == "POST" else {}
        with self._lock:
            self._counters["requests"] += 1
        if not self._authorized(h.headers.get("Authorization")):
            body = res.error_body(20003, "Authenticate", 401)
            body["detail"] = "Your AccountSid or AuthToken was incorrect."
            return _reply(h, 401, body, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        lookup = _LOOKUP.match(split.path)
        if lookup and method == "GET":
            return _reply(h, *self._lookup(unquote(lookup["number"]), query))
        route = _ROUTE.match(split.path)
        if not route or route["account"] != self.account_sid:
            return _reply(
                h, 404, res.error_body(20404, f"The requested resource {split.path} was not found", 404)
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            delay = self._slow.pop(0) if self._slow else 0.0
        if failure:
            status, code, retry_after = failure
            with self._lock:
                self._counters["faults_injected"] += 1
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            body = res.error_body(code, codes.describe(code), status) if code else {"status": status,
                                                                                    "message": "Bad request"}
            return _reply(h, status, body, headers)
        token = h.headers.get("I-Twilio-Idempotency-Token")
        status, body = self._route(method, route["kind"], route["sid"], form, query, token)
        if delay:
            self._stopping.wait(delay)  # recorded already: this is the timeout-after-accept case
        _reply(h, status, body)

    def _lookup(self, number: str, query: dict) -> tuple[int, dict]:
        """Lookup v2 (GET /v2/PhoneNumbers/{number}): line type intelligence when asked for in Fields;
        the type is the one a test set in `line_types`, else "mobile". The answer has every property of
        Twilio's `lookups.v2.phone_number` schema (twilio-oai spec/json/twilio_lookups_v2.json), the ones
        not asked for null."""
        with self._lock:
            self._counters["lookups"] += 1
            self.lookups.append(number)
            kind = self.line_types.get(number, "mobile")
            failure = self._lookup_failures.pop(0) if self._lookup_failures else None
        if failure:
            code = {429: 20429, 503: 20503}.get(failure, 20500)
            return failure, res.error_body(code, codes.describe(code), failure)
        valid = bool(re.fullmatch(r"\+[1-9]\d{6,14}", number))
        fields = ",".join(query.get("Fields", [])).split(",")
        intelligence = None
        if valid and "line_type_intelligence" in fields:
            intelligence = {"type": kind, "carrier_name": "Fake Carrier", "mobile_country_code": None,
                            "mobile_network_code": None, "error_code": None}
        return 200, {
            "calling_country_code": "1" if number.startswith("+1") else None,
            "country_code": "US" if number.startswith("+1") else None,
            "phone_number": number, "national_format": None, "valid": valid,
            "validation_errors": None if valid else ["INVALID_LENGTH"],
            "caller_name": None, "sim_swap": None, "call_forwarding": None, "live_activity": None,
            "line_type_intelligence": intelligence, "identity_match": None, "reassigned_number": None,
            "sms_pumping_risk": None, "phone_number_quality_score": None,
            "url": f"{self.base_url}/v2/PhoneNumbers/{number}",
        }

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _route(self, method, kind, sid, form, query, token) -> tuple[int, dict]:
        if method == "GET" and kind == "IncomingPhoneNumbers" and not sid:
            return 200, self._list_numbers(query)
        if method == "GET" and sid:
            return self._fetch(kind, sid)
        if method == "GET" and kind == "Messages":
            return 200, self._list_messages(query)
        if method == "GET" and kind == "Calls":
            return 200, self._list_calls(query)
        if method == "POST" and not sid:
            return self._create(kind, form, token)
        if method == "POST" and kind == "Calls":
            return self._update_call(sid, form)
        return 405, res.error_body(20004, "Method not allowed", 405)

    def _fetch(self, kind: str, sid: str) -> tuple[int, dict]:
        with self._lock:
            found = self._by_sid.get(sid)
            if isinstance(found, dict) and kind == "Messages":
                return 200, res.message_json(self.account_sid, found)
            if isinstance(found, FakeCall) and kind == "Calls":
                return 200, res.call_json(self.account_sid, found)
        path = f"/{res.API_VERSION}/Accounts/{self.account_sid}/{kind}/{sid}.json"
        return 404, res.error_body(20404, f"The requested resource {path} was not found", 404)

    def _create(self, kind: str, form: dict, token: str | None) -> tuple[int, dict]:
        with self._lock:
            # Twilio's REST API has no idempotency key for calls (only our fake's texts honour it):
            # a call request repeated after a timeout is a second call, as it would be at Twilio.
            if kind == "Calls":
                token = None
            if token and self.dedupe and (kind, token) in self._idempotent:
                # Same token, same resource: nothing new is sent.
                self._counters["idempotent_replays"] += 1
                return 201, self._fetch(kind, self._idempotent[(kind, token)])[1]
            problem = res.check_message(form) if kind == "Messages" else res.check_call(form)
            to = res.first(form, "To") or ""
            number_error = self._number_errors.get(to)
            if not problem and number_error and number_error[0] not in codes.DELIVERY_CODES:
                problem = int(number_error[0]), codes.describe(number_error[0])
            if problem:
                self._counters["rejected"] += 1
                return 400, res.error_body(*problem)
            params = {k: (v if k in _REPEATED else v[-1]) for k, v in form.items()}
            now = self._now()
            if kind == "Messages":
                item = self._new_message(params, now, token, number_error)
            else:
                item = self._new_call(params, now, number_error)
            sid = item["sid"] if isinstance(item, dict) else item.sid
            if token and self.dedupe:
                self._idempotent[(kind, token)] = sid
            return 201, self._fetch(kind, sid)[1]

    def _new_message(self, params, now, token, number_error) -> dict:
        msg = {
            "sid": res.new_sid("SM"),
            **params,
            "status": "queued",
            "created": now,
            "updated": now,
            "idempotency_token": token,
            "error_code": None,
            "error_message": None,
        }
        self.messages.append(msg)
        self._by_sid[msg["sid"]] = msg
        self._counters["messages_created"] += 1
        failure = number_error if number_error and number_error[0] in codes.DELIVERY_CODES else None
        self._dispatcher.submit(lambda: self._deliver(msg, failure))
        return msg

    def _new_call(self, params, now, number_error) -> FakeCall:
        callee = self._scripts.get(params["To"], self.default_callee)
        if number_error:  # a delivery-time code on a call: the carrier fails it
            callee = Callee.failed()
        call = FakeCall(res.new_sid("CA"), params, callee, now, now)
        self.calls.append(call)
        self._by_sid[call.sid] = call
        self._counters["calls_created"] += 1
        self._dispatcher.submit(CallRunner(self, call).run)
        return call

    def _deliver(self, msg: dict, failure: tuple[str, str | None] | None) -> None:
        """queued -> sent -> delivered, or -> undelivered/failed with the ErrorCode."""
        steps: list[tuple[str, str | None]] = [("sent", None)]
        if failure:
            code, final = failure
            steps.append((final or "undelivered", code))
        else:
            steps.append(("delivered", None))
        for status, code in steps:
            if self.callback_delay:
                self._stopping.wait(self.callback_delay)
            with self._lock:
                msg["status"], msg["updated"] = status, self._now()
                if code:
                    msg["error_code"], msg["error_message"] = code, codes.describe(code)
            url = msg.get("StatusCallback")
            if not url:
                continue
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": res.API_VERSION,
                "From": msg.get("From") or SERVICE_NUMBER,
                "MessageSid": msg["sid"],
                "MessageStatus": status,
                "SmsSid": msg["sid"],
                "SmsStatus": status,
                "To": msg["To"],
            }
            if msg.get("MessagingServiceSid"):
                params["MessagingServiceSid"] = msg["MessagingServiceSid"]
            if code:
                params["ErrorCode"] = code
            self._dispatcher.post(url, params)

    def _update_call(self, sid: str, form: dict) -> tuple[int, dict]:
        with self._lock:
            call = self._by_sid.get(sid)
            if not isinstance(call, FakeCall):
                return self._fetch("Calls", sid)
            params = {k: v[-1] for k, v in form.items()}
            call.updates.append(params)
            if call.ended:
                return 400, res.error_body(21220, "Call is not in-progress. Cannot redirect.")
            if params.get("Status") in ("completed", "canceled"):
                update = ("end", params["Status"])
            elif params.get("Twiml"):
                update = ("twiml", params["Twiml"])
            elif params.get("Url"):
                update = ("url", params["Url"])
            else:
                return 200, res.call_json(self.account_sid, call)
            if call.parked:
                call.parked = False
                self._dispatcher.submit(lambda: CallRunner(self, call).resume(update))
            else:
                call.pending_update = update
            return 200, res.call_json(self.account_sid, call)

    def _list_messages(self, query: dict) -> dict:
        def one(name: str) -> str | None:
            return res.first(query, name)

        to, from_ = one("To"), one("From")
        after, before, on = (
            res.parse_when(v) if v else None for v in (one("DateSent>"), one("DateSent<"), one("DateSent"))
        )
        with self._lock:
            found = [
                m
                for m in reversed(self.messages)
                if (not to or m.get("To") == to)
                and (not from_ or m.get("From") == from_)
                and (not after or m["created"] >= after)
                and (not before or m["created"] < before)
                and (not on or m["created"].date() == on.date())
            ]
            rows = [res.message_json(self.account_sid, m) for m in found]
        return self._page("Messages", "messages", rows, query)

    def _list_calls(self, query: dict) -> dict:
        """Twilio's Calls list: To, From, Status and StartTime filters (a queued call has no start
        time, so a StartTime filter leaves it out, as Twilio's does)."""

        def one(name: str) -> str | None:
            return res.first(query, name)

        to, from_, status = one("To"), one("From"), one("Status")
        after, before, on = (
            res.parse_when(v) if v else None for v in (one("StartTime>"), one("StartTime<"), one("StartTime"))
        )
        with self._lock:
            found = []
            for c in reversed(self.calls):
                started = res.call_started(c)
                if to and c.get("To") != to or from_ and c.get("From") != from_:
                    continue
                if status and c.status != status:
                    continue
                if (after or before or on) and started is None:
                    continue
                if (after and started < after) or (before and started >= before) or (
                        on and started.date() != on.date()):
                    continue
                found.append(c)
            rows = [res.call_json(self.account_sid, c) for c in found]
        return self._page("Calls", "calls", rows, query)

    def _list_numbers(self, query: dict) -> dict:
        """Twilio's IncomingPhoneNumbers list, with its PhoneNumber filter."""
        wanted = res.first(query, "PhoneNumber")
        with self._lock:
            rows = [{"phone_number": number, "sms_url": urls.get("sms_url", ""),
                     "voice_url": urls.get("voice_url", ""), "account_sid": self.account_sid}
                    for number, urls in sorted(self.numbers.items()) if not wanted or number == wanted]
        return self._page("IncomingPhoneNumbers", "incoming_phone_numbers", rows, query)

    def _page(self, kind: str, key: str, rows: list[dict], query: dict) -> dict:
        size = max(1, min(int(res.first(query, "PageSize") or 50), 1000))
        page = int(res.first(query, "Page") or 0)
        chunk = rows[page * size : (page + 1) * size]
        keep = {k: v[0] for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}
        base = f"/{res.API_VERSION}/Accounts/{self.account_sid}/{kind}.json"

        def uri(p: int) -> str:
            return f"{base}?{urlencode({**keep, 'PageSize': size, 'Page': p})}"

        return {
            key: chunk,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(0, len(chunk) - 1),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "next_page_uri": uri(page + 1) if (page + 1) * size < len(rows) else None,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API; benchmarks depend on it
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait on delayed ACKs
    fake: FakeTwilio

    def do_GET(self) -> None:  # noqa: N802
        self.fake._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.fake._handle(self, "POST")

    def log_message(self, *args) -> None:
        pass


def _reply(h: BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode("utf-8")
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Twilio-Request-Id", res.new_sid("RQ"))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (e.g. its timeout fired during slow_next)


def serve(port: int, auth_token: str, account_sid: str, host: str = "127.0.0.1", dedupe: bool = True) -> None:
    """Run a fake Twilio until interrupted (for `duedesk fake-twilio --port N`)."""
    fake = FakeTwilio(account_sid=account_sid, auth_token=auth_token, host=host, port=port, dedupe=dedupe)
    fake.start()
    print(f"Fake Twilio listening on {fake.base_url} (account {account_sid})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
