"""The fake's HTTP side: Checkout Sessions (create with Stripe's idempotency rules, retrieve, expire), and
the events a payment or refund makes, posted to the webhook URL with a `Stripe-Signature` header."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

# Stripe's own example objects, when the vendor specs sit beside the project; the few fields we use otherwise.
# (the project's checkout sits beside `shared/`; look up the folders for it).
FIXTURES = next((d / "shared" / "vendor-specs" / "stripe" / "fixtures3.json" for d in Path(__file__).resolve().parents
                 if (d / "shared" / "vendor-specs" / "stripe" / "fixtures3.json").exists()), Path("/nonexistent"))
MINIMAL = {
    "checkout.session": {"object": "checkout.session", "mode": "payment", "livemode": False, "metadata": {}},
    "payment_intent": {"object": "payment_intent", "livemode": False, "metadata": {}},
    "charge": {"object": "charge", "livemode": False, "metadata": {}, "refunded": False},
    "invoice": {"object": "invoice", "livemode": False, "metadata": {}},
    "event": {"object": "event", "api_version": "2024-06-20", "livemode": False, "pending_webhooks": 1,
              "request": {"id": None, "idempotency_key": None}},
}


def load_examples(path: Path | None = None) -> dict:
    path = path or FIXTURES
    if path.exists():
        resources = json.loads(path.read_text())["resources"]
        return {name: resources[name] for name in MINIMAL}
    return copy.deepcopy(MINIMAL)


def sign(payload: str, secret: str, timestamp: int) -> str:
    """Stripe's scheme: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint's whsec_ secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _nested(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`line_items[0][price_data][currency]=usd`) back into a dict."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class FakeStripe:
    def __init__(self, secret_key: str = "sk_test_fake", webhook_secret: str = "whsec_fake",
                 webhook_url: str = "", port: int = 0, examples: Path | None = None, poster=None):
        self.secret_key, self.webhook_secret, self.webhook_url = secret_key, webhook_secret, webhook_url
        # How a signed event reaches the webhook: an HTTP POST (tests may hand it to their own client).
        self.poster = poster or _http_post
        self.examples = load_examples(examples)
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.events: list[dict] = []
        self.deliveries: list[tuple[str, int]] = []  # (event id, our webhook's HTTP status)
        self.requests: list[tuple[str, str]] = []
        self._idempotent: dict[str, tuple[str, int, dict]] = {}
        self._faults: list[int] = []
        self._faults_after: list[int] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeStripe:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-stripe").start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next API requests answer with this HTTP status (429, 500…) without acting."""
        self._faults.extend([status] * times)

    def fail_after_next(self, status: int) -> None:
        """The next request is carried out, then answered with this status: the answer is lost."""
        self._faults_after.append(status)

    # ---------------------------------------------------------------- objects
    def _object(self, kind: str, prefix: str, **fields) -> dict:
        obj = copy.deepcopy(self.examples[kind])
        obj.update({"id": f"{prefix}_{secrets.token_hex(12)}", "created": int(time.time()), **fields})
        return obj

    def create_session(self, params: dict) -> dict:
        item = params["line_items"]["0"]
        price = item["price_data"]
        amount = int(price["unit_amount"]) * int(item.get("quantity", 1))
        session = self._object(
            "checkout.session", "cs_test", amount_total=amount, amount_subtotal=amount, currency=price["currency"],
            metadata=params.get("metadata", {}), client_reference_id=params.get("client_reference_id"),
            success_url=params.get("success_url"), status="open", payment_status="unpaid", payment_intent=None,
            expires_at=int(params.get("expires_at") or time.time() + 86400), mode=params.get("mode", "payment"),
            customer=None, invoice=None, subscription=None, payment_link=None, url=None)
        session["url"] = f"https://checkout.stripe.com/c/pay/{session['id']}"
        session["_intent_metadata"] = (params.get("payment_intent_data") or {}).get("metadata", {})
        self.sessions[session["id"]] = session
        return session

    def pay(self, session_id: str) -> list[dict]:
        """The patient pays: the session completes, a PaymentIntent and a charge succeed, events go out."""
        with self._lock:
            session = self.sessions[session_id]
            intent = self._object("payment_intent", "pi", amount=session["amount_total"],
                                  amount_received=session["amount_total"], currency=session["currency"],
                                  metadata=session["_intent_metadata"], status="succeeded")
            charge = self._object("charge", "ch", amount=session["amount_total"],
                                  amount_captured=session["amount_total"], amount_refunded=0,
                                  currency=session["currency"], payment_intent=intent["id"], paid=True,
                                  refunded=False, status="succeeded", metadata=session["_intent_metadata"])
            intent["latest_charge"] = charge["id"]
            self.intents[intent["id"]], self.charges[charge["id"]] = intent, charge
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return [self.send("checkout.session.completed", session), self.send("payment_intent.succeeded", intent)]

    def refund(self, payment_intent: str, amount: int | None = None) -> dict:
        charge = next(c for c in self.charges.values() if c["payment_intent"] == payment_intent)
        charge["amount_refunded"] += amount if amount is not None else charge["amount"] - charge["amount_refunded"]
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return self.send("charge.refunded", charge)

    def invoice_event(self, kind: str, **fields) -> dict:
        """Stripe Invoicing: `invoice.payment_failed` or `invoice.paid` for an invoice with these fields."""
        invoice = self._object("invoice", "in", **{"status": "open", "amount_paid": 0, "attempt_count": 1,
                                                   "hosted_invoice_url": None, "payment_intent": None, **fields})
        if invoice.get("hosted_invoice_url") is None:
            invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/{invoice['id']}"
        return self.send(kind, invoice)

    def send(self, kind: str, obj: dict) -> dict:
        public = {k: v for k, v in obj.items() if not k.startswith("_")}
        event = self._object("event", "evt", type=kind, data={"object": copy.deepcopy(public)})
        self.events.append(event)
        self.deliver(event)
        return event

    def deliver(self, event: dict, *, secret: str | None = None) -> int:
        """POST one event to the webhook URL, signed (again, for a redelivery: Stripe retries with the same id)."""
        if not self.webhook_url:
            return 0
        payload = json.dumps(event)
        header = sign(payload, secret or self.webhook_secret, int(time.time()))
        status = self.poster(self.webhook_url, payload, {"Content-Type": "application/json", "Stripe-Signature": header})
        self.deliveries.append((event["id"], status))
        return status

    # ---------------------------------------------------------------- HTTP
    def answer(self, method: str, path: str, auth: str, idem: str, body: str) -> tuple[int, dict]:
        self.requests.append((method, path))
        if self._faults:
            status = self._faults.pop(0)
            return status, _error("api_error" if status >= 500 else "rate_limit_error", f"fake fault {status}")
        if auth != f"Bearer {self.secret_key}":
            return 401, _error("invalid_request_error", "Invalid API Key provided")
        params = _nested(parse_qsl(body, keep_blank_values=True))
        if method == "POST" and idem:
            # Stripe keeps an idempotency key's first answer; the same key with other parameters is an error.
            seen = self._idempotent.get(idem)
            if seen is not None:
                if seen[0] != body:
                    return 400, _error("idempotency_error", "Keys for idempotent requests can only be used with the "
                                                            "same parameters they were first used with.")
                return seen[1], seen[2]
        status, obj = self._route(method, path, params)
        if method == "POST" and idem:
            self._idempotent[idem] = (body, status, obj)
        if self._faults_after:
            status = self._faults_after.pop(0)
            return status, _error("api_error", f"fake fault {status} after the request was carried out")
        return status, obj

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, _public(self.create_session(params))
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)(/expire)?", path)
        if match and match.group(1) in self.sessions:
            session = self.sessions[match.group(1)]
            if match.group(2) and method == "POST":
                if session["status"] != "open":
                    return 400, _error("invalid_request_error", "Only Checkout Sessions with a status of open "
                                                                "can be expired.")
                session["status"] = "expired"
            return 200, _public(session)
        if match:
            return 404, _error("invalid_request_error", f"No such checkout.session: '{match.group(1)}'")
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")


def _http_post(url: str, payload: str, headers: dict) -> int:
    return httpx.post(url, content=payload, headers=headers, timeout=10).status_code


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


def _handler(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _serve(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            status, obj = fake.answer(method, path, self.headers.get("Authorization", ""),
                                      self.headers.get("Idempotency-Key", ""), body or query)
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

    return Handler


def serve(port: int, webhook_url: str, secret_key: str, webhook_secret: str) -> None:
    fake = FakeStripe(secret_key, webhook_secret, webhook_url, port=port)
    print(f"fake Stripe at {fake.base_url} (webhooks to {webhook_url or 'nowhere'})", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
