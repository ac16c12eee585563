"""The HTTP side of the CRM fakes (hubspot/fake.py, pipedrive/fake.py, salesforce/fake.py): a threaded loopback server that
hands each request to the fake as (method, path, query, JSON body, headers) and writes its answer.

A fake answers `serve_request(...) -> (status, payload, headers, fault)`; a fault with a `delay` holds the
answer back after the request was carried out (for that many seconds, or until the fake stops), so a client
that has given up never hears it (the lost answer the outbox must look up), and `bad_json()` is its answer to
a body that is not JSON."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    fake = None  # set on a subclass per server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as they are written: no 40 ms delayed-ACK stall

    def log_message(self, *args):
        pass

    def _serve(self, method: str):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                # OAuth token requests (Salesforce's /services/oauth2/token) are forms, not JSON.
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, self.fake.bad_json(), {})
            return
        status, payload, headers, fault = self.fake.serve_request(
            method, parts.path, parse_qs(parts.query), body, {k.lower(): v for k, v in self.headers.items()})
        if fault and fault.get("delay"):
            self.fake.stopping.wait(float(fault["delay"]))  # the client has given up: its answer is lost
        self._send(status, payload, headers)

    def _send(self, status: int, payload, headers: dict):
        if status == 204 or payload is None:
            data = b""  # No Content: Salesforce's answer to an update
        else:
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        headers = dict(headers)
        try:
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json;charset=utf-8"))
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

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


def start(fake, host: str, port: int) -> tuple[ThreadingHTTPServer, int]:
    """Serve `fake` on host:port (0: any free port) in a daemon thread. Returns the server and its port."""
    handler = type("FakeHandler", (Handler,), {"fake": fake})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def stop(server: ThreadingHTTPServer | None) -> None:
    if server:
        server.shutdown()
        server.server_close()


class Fake:
    """What both CRM fakes share: serving on loopback, the ledger, and injected faults. A subclass sets
    host, port, lock, ledger and faults in its __init__ and answers serve_request and bad_json."""

    host: str
    port: int
    server = None
    limit_name = "per_10s"  # the rate-limit attribute /__fake__/limit sets

    def not_found(self, message: str):
        return {"error": message}

    def start(self):
        self.stopping = threading.Event()
        self.server, self.port = start(self, self.host, self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.stopping.set()  # answers held back are let go
        stop(self.server)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def ledger_lines(self) -> str:
        with self.lock:
            return "".join(json.dumps(entry) + "\n" for entry in self.ledger)

    def fail_next(self, **fault) -> None:
        """The next `count` requests matching `method` and the start of `path` fail with `status` (after
        `delay` seconds; with `accept`, after the request was carried out)."""
        fault.setdefault("count", 1)
        with self.lock:
            self.faults.append(fault)

    def _fault(self, method: str, path: str) -> dict | None:
        for fault in self.faults:
            if fault.get("method", method) == method and path.startswith(fault.get("path", "")) and fault["count"] > 0:
                fault["count"] -= 1
                return fault
        return None

    def _control(self, method: str, path: str, body):
        """The test-only routes under /__fake__/ (see each fake's docstring)."""
        if path == "/__fake__/contacts" and method == "POST":
            items = body if isinstance(body, list) else [body or {}]
            return 201, {"ids": self.seed(items)}, {}, None
        if path == "/__fake__/ledger" and method == "GET":
            return 200, self.ledger_lines(), {"Content-Type": "application/x-ndjson"}, None
        if path == "/__fake__/faults" and method == "POST":
            for fault in body if isinstance(body, list) else [body or {}]:
                self.fail_next(**fault)
            return 200, {"faults": len(self.faults)}, {}, None
        if path == "/__fake__/token" and method == "POST":
            self.expired = bool((body or {}).get("expired"))
            return 200, {"expired": self.expired}, {}, None
        if path == "/__fake__/limit" and method == "POST":
            name = self.limit_name
            setattr(self, name, int((body or {}).get(name, getattr(self, name))))
            return 200, {name: getattr(self, name)}, {}, None
        return 404, self.not_found(f"no control route {method} {path}"), {}, None
