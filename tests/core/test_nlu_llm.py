"""The optional model fallback, against a fake OpenAI-compatible server on loopback."""

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from duedesk.core.nlu import llm, understand
from tests.loopback import PATIENCE, refused_port, wait_until

NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"
UNCLEAR = "the weather is nice"


class FakeModel(BaseHTTPRequestHandler):
    reply = "{}"  # the assistant message content the server answers with
    hold: threading.Event | None = None  # set: the answer waits for it (a model that is too slow)
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if type(self).hold is not None:
            type(self).hold.wait(PATIENCE)
        payload = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": type(self).reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(payload).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_model(monkeypatch):
    FakeModel.reply, FakeModel.hold, FakeModel.requests = "{}", None, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)  # quick to shut down
    thread.start()
    monkeypatch.setattr(llm, "SETTINGS", llm.LlmSettings(
        base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="tiny", api_key="test-key", timeout=PATIENCE))
    yield FakeModel
    if FakeModel.hold is not None:
        FakeModel.hold.set()
    server.shutdown()
    server.server_close()


def test_off_by_default(monkeypatch):
    monkeypatch.setattr(llm, "SETTINGS", llm.LlmSettings())
    assert understand(UNCLEAR, NOW, NY).intent == "unclear"


def test_good_reply_is_used(fake_model):
    fake_model.reply = json.dumps({"intent": "callback_later"})
    assert understand(UNCLEAR, NOW, NY).intent == "callback_later"
    request = fake_model.requests[0]
    assert request["model"] == "tiny"
    schema = request["response_format"]["json_schema"]["schema"]
    assert "hardship" in schema["properties"]["intent"]["enum"]
    assert request["response_format"]["type"] == "json_schema"


def test_model_is_asked_only_when_rules_are_unclear(fake_model):
    fake_model.reply = json.dumps({"intent": "opt_out"})
    got = understand("I'll pay Friday", NOW, NY)
    assert got.intent == "promise_to_pay"
    assert fake_model.requests == []


def test_model_never_sets_date_or_amount(fake_model):
    fake_model.reply = json.dumps({"intent": "promise_to_pay", "date": "2030-01-01", "amount": "999"})
    got = understand(UNCLEAR, NOW, NY)
    assert got.intent == "promise_to_pay"
    assert got.date is None and got.amount is None


def test_slow_reply_falls_back_to_rules(fake_model, monkeypatch):
    fake_model.reply = json.dumps({"intent": "affirm"})
    fake_model.hold = threading.Event()  # no answer until the test is over: waiting for it would give "affirm"
    monkeypatch.setattr(llm, "SETTINGS", llm.LlmSettings(base_url=llm.SETTINGS.base_url, model="tiny",
                                                         api_key="test-key", timeout=0.2))
    assert understand(UNCLEAR, NOW, NY).intent == "unclear"  # not waited for
    wait_until(lambda: fake_model.requests, "the model to be asked")  # a busy machine may run the fake only now
    assert len(fake_model.requests) == 1


@pytest.mark.parametrize(
    "reply",
    ["not json at all", json.dumps({"intent": "buy_a_boat"}), json.dumps({"label": "affirm"}), json.dumps(["affirm"]), ""],
)
def test_garbage_falls_back_to_rules(fake_model, reply):
    fake_model.reply = reply
    assert understand(UNCLEAR, NOW, NY).intent == "unclear"


def test_unreachable_server_falls_back(monkeypatch):
    with refused_port() as port:
        monkeypatch.setattr(llm, "SETTINGS", llm.LlmSettings(base_url=f"http://127.0.0.1:{port}/v1", model="tiny",
                                                             timeout=PATIENCE))
        assert understand(UNCLEAR, NOW, NY).intent == "unclear"
