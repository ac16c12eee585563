"""The fake Twilio's webhooks: signed status callbacks, inbound texts, and scripted calls."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from twilio.twiml.voice_response import Gather, VoiceResponse

from duedesk.integrations.twilio import TransportError, TwilioRest, validate
from duedesk.integrations.twilio.fake import SILENCE, Callee, FakeTwilio, Press
from tests.loopback import PATIENCE

CLINIC = "+15005550006"
PATIENT = "+14155550123"


class Hooks:
    """A tiny app on loopback: records every webhook, checks its signature, answers by path."""

    def __init__(self, auth_token: str):
        self.auth_token = auth_token
        self.routes = {}  # path -> fn(params) -> TwiML text (or None for an empty 204)
        self.requests = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                multi = parse_qs(raw, keep_blank_values=True)
                params = {k: v if len(v) > 1 else v[0] for k, v in multi.items()}
                url = hooks.url(self.path)
                ok = validate(hooks.auth_token, url, params, self.headers.get("X-Twilio-Signature"))
                hooks.requests.append({"path": urlsplit(self.path).path, "params": params, "signed": ok,
                                       "at": time.monotonic()})
                fn = hooks.routes.get(urlsplit(self.path).path)
                body = (fn(params) or "") if fn else ""
                data = body.encode()
                self.send_response(200 if body else 204)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def to(self, path: str) -> list[dict]:
        return [r["params"] for r in self.requests if r["path"] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    with FakeTwilio(webhook_timeout=PATIENCE) as f:
        yield f


@pytest.fixture
def hooks(fake):
    h = Hooks(fake.auth_token)
    yield h
    h.close()


@pytest.fixture
def rest(fake):
    with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url) as client:
        yield client


def place_call(rest, hooks, **kw):
    return rest.create_call(
        to=PATIENT,
        from_=CLINIC,
        url=hooks.url("/voice/answer"),
        status_callback=hooks.url("/voice/status"),
        async_amd_status_callback=hooks.url("/voice/amd"),
        **kw,
    )


# -- messages --------------------------------------------------------------------------


def test_signed_status_callbacks_move_to_delivered(fake, hooks, rest):
    msg = rest.send_message(
        to=PATIENT, from_=CLINIC, body="Reminder", status_callback=hooks.url("/sms/status")
    )
    assert fake.wait_idle(PATIENCE)
    got = hooks.to("/sms/status")
    assert [p["MessageStatus"] for p in got] == ["sent", "delivered"]
    assert all(r["signed"] for r in hooks.requests)
    first = got[0]
    assert first["MessageSid"] == first["SmsSid"] == msg["sid"]
    assert (first["To"], first["From"], first["AccountSid"]) == (PATIENT, CLINIC, fake.account_sid)
    assert first["ApiVersion"] == "2010-04-01" and "ErrorCode" not in first
    assert rest.fetch_message(msg["sid"])["status"] == "delivered"


def test_delivery_time_error_arrives_by_callback(fake, hooks, rest):
    fake.error_for(PATIENT, code=30003)
    msg = rest.send_message(
        to=PATIENT, from_=CLINIC, body="Reminder", status_callback=hooks.url("/sms/status")
    )
    assert msg["status"] == "queued"  # accepted at first, like Twilio
    assert fake.wait_idle(PATIENCE)
    last = hooks.to("/sms/status")[-1]
    assert (last["MessageStatus"], last["ErrorCode"]) == ("undelivered", "30003")
    fetched = rest.fetch_message(msg["sid"])
    assert (fetched["status"], fetched["error_code"]) == ("undelivered", 30003)


def test_manual_mode_delivers_only_on_flush(hooks):
    with FakeTwilio(auth_token=hooks.auth_token, callbacks="manual") as fake:
        with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url) as rest:
            rest.send_message(to=PATIENT, from_=CLINIC, body="Hi", status_callback=hooks.url("/sms/status"))
            assert hooks.requests == []
            assert fake.flush() == 1
            assert [p["MessageStatus"] for p in hooks.to("/sms/status")] == ["sent", "delivered"]
            assert fake.flush() == 0 and fake.wait_idle(0.1)


def test_inbound_sms_is_signed_like_twilio(fake, hooks):
    response = fake.send_inbound_sms(hooks.url("/sms/inbound"), from_=PATIENT, to=CLINIC, body="STOP")
    assert response.status_code == 204
    (req,) = hooks.requests
    assert req["signed"]
    p = req["params"]
    assert (p["From"], p["To"], p["Body"], p["NumMedia"]) == (PATIENT, CLINIC, "STOP", "0")
    assert p["MessageSid"].startswith("SM") and p["AccountSid"] == fake.account_sid


@pytest.mark.parametrize(
    "path, data, code",
    [
        ("Messages.json", {"From": CLINIC, "Body": "hi"}, 21604),
        ("Messages.json", {"To": PATIENT, "From": CLINIC}, 21602),
        ("Messages.json", {"To": PATIENT, "Body": "hi"}, 21603),
        ("Calls.json", {"From": CLINIC, "Url": "http://x/a"}, 21201),
        ("Calls.json", {"To": PATIENT, "Url": "http://x/a"}, 21213),
        ("Calls.json", {"To": PATIENT, "From": CLINIC}, 21205),
        ("Calls.json", {"To": "12", "From": CLINIC, "Url": "http://x/a"}, 21211),
    ],
)
def test_missing_fields_rejected_like_twilio(fake, path, data, code):
    url = f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/{path}"
    r = httpx.post(url, data=data, auth=(fake.account_sid, fake.auth_token))
    assert r.status_code == 400
    body = r.json()
    assert (body["code"], body["status"]) == (code, 400)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}" and body["message"]


def test_wrong_auth_gets_twilio_401(fake):
    url = f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    r = httpx.post(url, data={"To": PATIENT}, auth=(fake.account_sid, "nope"))
    assert r.status_code == 401 and r.json()["code"] == 20003


# -- calls -----------------------------------------------------------------------------


def conversation(hooks):
    def answer(p):
        vr = VoiceResponse()
        g = Gather(input="speech dtmf", action="/voice/gather", speech_timeout="auto")
        g.say("Hello, this is Sunrise Clinic about invoice 1042. When can you pay?", language="en-US")
        vr.append(g)
        vr.say("We did not hear you. Goodbye.", language="en-US")
        return str(vr)

    def gathered(p):
        vr = VoiceResponse()
        vr.say(f"Thank you, we noted: {p.get('SpeechResult') or p.get('Digits')}.", language="en-US")
        vr.hangup()
        return str(vr)

    hooks.routes.update({"/voice/answer": answer, "/voice/gather": gathered})


def test_person_call_transcript_and_callbacks(fake, hooks, rest):
    conversation(hooks)
    fake.script_call(PATIENT, Callee.person(lines=["I can pay on Friday"]))
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    call = fake.call(sid)
    assert call.heard_text == [
        "Hello, this is Sunrise Clinic about invoice 1042. When can you pay?",
        "Thank you, we noted: I can pay on Friday.",
    ]
    assert call.heard[0]["language"] == "en-US"
    assert call.said == ["I can pay on Friday"]
    assert (call.status, call.answered_by, call.voicemail, call.transferred_to) == (
        "completed",
        "human",
        None,
        None,
    )
    assert all(r["signed"] for r in hooks.requests)
    (amd,) = hooks.to("/voice/amd")
    assert amd["AnsweredBy"] == "human" and amd["CallSid"] == sid
    answer = hooks.to("/voice/answer")[0]
    assert (answer["CallStatus"], answer["Direction"], answer["To"]) == (
        "in-progress",
        "outbound-api",
        PATIENT,
    )
    gather = hooks.to("/voice/gather")[0]
    assert gather["SpeechResult"] == "I can pay on Friday" and float(gather["Confidence"]) > 0.5
    statuses = hooks.to("/voice/status")
    assert [s["CallStatus"] for s in statuses] == ["initiated", "ringing", "in-progress", "completed"]
    assert int(statuses[-1]["CallDuration"]) > 0
    assert rest.fetch_call(sid)["status"] == "completed"


def test_silence_falls_through_to_next_verb(fake, hooks, rest):
    conversation(hooks)
    fake.script_call(PATIENT, Callee.person(lines=[SILENCE]))
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    call = fake.call(sid)
    assert call.heard_text[-1] == "We did not hear you. Goodbye."
    assert hooks.to("/voice/gather") == [] and call.said == []


def test_keypad_answer(fake, hooks, rest):
    conversation(hooks)
    fake.script_call(PATIENT, Callee.person(lines=[Press("2")]))
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    assert hooks.to("/voice/gather")[0]["Digits"] == "2"
    assert fake.call(sid).heard_text[-1] == "Thank you, we noted: 2."


def test_dial_records_transfer(fake, hooks, rest):
    def answer(p):
        vr = VoiceResponse()
        vr.say("Connecting you with our billing office.")
        vr.dial("+14155550000")
        return str(vr)

    hooks.routes["/voice/answer"] = answer
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    assert fake.call(sid).transferred_to == "+14155550000"


def voicemail_twiml():
    vr = VoiceResponse()
    vr.say("This is Sunrise Clinic with a message about your account. Please call 415 555 0000.")
    vr.hangup()
    return str(vr)


def test_voicemail_left_with_update_call_from_amd_webhook(fake, hooks, rest):
    hooks.routes["/voice/answer"] = lambda p: str(VoiceResponse().pause(length=10))

    def amd(p):
        if p["AnsweredBy"].startswith("machine"):
            rest.update_call(p["CallSid"], twiml=voicemail_twiml())

    hooks.routes["/voice/amd"] = amd
    fake.script_call(PATIENT, Callee.voicemail())
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    call = fake.call(sid)
    assert call.answered_by == "machine_end_beep"
    assert call.voicemail.startswith("This is Sunrise Clinic with a message about your account.")
    assert call.status == "completed" and call.said == []
    assert hooks.to("/voice/status")[-1]["CallStatus"] == "completed"


def test_voicemail_left_by_a_later_update(hooks):
    hooks.routes["/voice/answer"] = lambda p: str(VoiceResponse().pause(length=10))
    with FakeTwilio(auth_token=hooks.auth_token, callbacks="manual") as fake:
        with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url) as rest:
            fake.script_call(PATIENT, Callee.voicemail())
            sid = place_call(rest, hooks)["sid"]
            fake.flush()
            assert fake.call(sid).status == "in-progress"  # waiting on the machine for our message
            assert hooks.to("/voice/amd")[0]["AnsweredBy"] == "machine_end_beep"
            rest.update_call(sid, twiml=voicemail_twiml())
            assert fake.flush() == 1
            call = fake.call(sid)
            assert call.status == "completed" and "Sunrise Clinic" in call.voicemail
            with pytest.raises(TransportError) as caught:
                rest.update_call(sid, twiml=voicemail_twiml())
            assert caught.value.code == "21220"


@pytest.mark.parametrize(
    "callee, final", [(Callee.no_answer(), "no-answer"), (Callee.busy(), "busy"), (Callee.failed(), "failed")]
)
def test_unanswered_calls_report_final_status(fake, hooks, rest, callee, final):
    fake.script_call(PATIENT, callee)
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    statuses = [s["CallStatus"] for s in hooks.to("/voice/status")]
    assert statuses[-1] == final
    assert hooks.to("/voice/answer") == [] and hooks.to("/voice/amd") == []
    assert rest.fetch_call(sid)["status"] == final
    assert all(r["signed"] for r in hooks.requests)


def test_callback_delay_and_counters(hooks):
    with FakeTwilio(auth_token=hooks.auth_token, callback_delay=0.3) as fake:
        with TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url) as rest:
            asked = time.monotonic()
            rest.send_message(to=PATIENT, from_=CLINIC, body="Hi", status_callback=hooks.url("/sms/status"))
            assert fake.wait_idle(PATIENCE)
            assert len(hooks.requests) == 2
            assert min(r["at"] for r in hooks.requests) - asked >= 0.3  # none came before the delay
            counters = fake.counters
            assert counters["messages_created"] == 1 and counters["callbacks_sent"] == 2


def test_rest_time_error_for_a_call(fake, hooks, rest):
    fake.error_for(PATIENT, code=13224)
    with pytest.raises(TransportError) as caught:
        place_call(rest, hooks)
    assert (caught.value.code, caught.value.permanent) == ("13224", True)
    assert fake.calls == []


def test_machine_without_amd_hears_the_whole_message(fake, hooks, rest):
    hooks.routes["/voice/answer"] = lambda p: voicemail_twiml()
    fake.script_call(PATIENT, Callee.voicemail())
    sid = place_call(rest, hooks, machine_detection=None)["sid"]
    assert fake.wait_idle(PATIENCE)
    assert "Please call 415 555 0000" in fake.call(sid).voicemail
    assert "AnsweredBy" not in hooks.to("/voice/answer")[0]


def test_app_error_on_answer_ends_the_call(fake, hooks, rest):
    hooks.routes["/voice/answer"] = lambda p: "this is not TwiML"
    sid = place_call(rest, hooks)["sid"]
    assert fake.wait_idle(PATIENCE)
    call = fake.call(sid)
    assert call.status == "completed" and call.errors and call.errors[0].startswith("12100")
    assert hooks.to("/voice/status")[-1]["CallStatus"] == "completed"
