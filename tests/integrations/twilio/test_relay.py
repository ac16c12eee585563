"""Streaming voice (Twilio ConversationRelay) instead of <Gather>: with DUEDESK_VOICE_RELAY_URL set, the call's
first answer is <Connect><ConversationRelay>; the fake Twilio opens our WebSocket (over loopback, signed), sends
setup, hears each text turn and answers it with the caller's next line (a prompt, keys, or a barge-in), and on our
`end` asks the <Connect action> what comes next. The same dialog machine, so the same words as with <Gather>;
each turn's reply time lands on the call and its timeline."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from duedesk.integrations.twilio import relay
from duedesk.integrations.twilio.fake import Callee
from duedesk.integrations.twilio.fake import relay as fake_relay
from duedesk.integrations.twilio.signing import sign
from duedesk.records.models import Call, Event, Handoff, Promise
from tests.loopback import PATIENCE

from .test_hotline import OFFICE, VERIFY, call_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def streaming(wired, settings, monkeypatch, clock):
    """duedesk relay on a free loopback port, and calls answered with it."""
    with relay.server("127.0.0.1", 0) as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        settings.VOICE_RELAY_URL = f"ws://127.0.0.1:{running.socket.getsockname()[1]}/relay"
        monkeypatch.setattr(relay, "clock", clock)
        yield wired
        running.shutdown()
    thread.join(PATIENCE)


def test_the_same_story_over_the_socket_hears_the_same_words_as_with_gather(streaming, make_invoice, make_contact,
                                                                             settings):
    story = (*VERIFY, "how much do I owe", "i can pay on friday", "yes that's right")
    relay_url, settings.VOICE_RELAY_URL = settings.VOICE_RELAY_URL, ""
    gathered, _ = call_in(streaming, make_invoice(contact=make_contact(first_name="Ann", last_name="Lee")).contact.phone,
                          *story)
    settings.VOICE_RELAY_URL = relay_url
    invoice = make_invoice(contact=make_contact(first_name="Ann", last_name="Lee"))
    placed, call = call_in(streaming, invoice.contact.phone, *story)
    assert {h["verb"] for h in placed.heard} == {"ConversationRelay"}  # no <Say>: Twilio spoke our text tokens
    assert placed.heard_text == gathered.heard_text and len(placed.heard_text) == 6
    assert placed.errors == [] and placed.transferred_to is None
    assert Promise.objects.get(invoice=invoice).promised_date == date(2026, 12, 11)
    call.refresh_from_db()
    assert call.outcome == "promised" and len(call.dialog_state["reply_ms"]) == len(story)
    times = Event.objects.get(kind="call.reply_times", contact=invoice.contact)
    assert times.detail["turns"] == 5 and times.detail["reply_ms"] == call.dialog_state["reply_ms"]
    assert 0 <= times.detail["median_ms"] <= times.detail["slowest_ms"]
    completed = Event.objects.get(kind="call.completed", contact=invoice.contact)
    assert [t["text"] for t in completed.detail["transcript"] if t["speaker"] == "patient"] == list(story)


def test_a_barge_in_marks_what_the_caller_heard_and_the_turn_goes_on(streaming, make_invoice):
    invoice = make_invoice()
    placed, call = call_in(streaming, invoice.contact.phone, *VERIFY,
                           Callee.barge_in("how much do i owe", after_words=4), "i'll pay now", Callee.HANGUP)
    assert placed.heard_text[3].startswith("Your balance is $120.00.")  # the interrupted question was answered
    call.refresh_from_db()
    assistant = [t for t in call.dialog_state["transcript"] if t["speaker"] == "assistant"]
    interrupted = [t for t in assistant if t.get("interrupted")]
    assert len(interrupted) == 1 and interrupted[0] is assistant[2]  # the "How can I help you today?" turn
    assert interrupted[0]["interrupted"]["heard_until"] == "Thank you for confirming."


def test_a_dispute_in_office_hours_ends_the_session_and_the_action_transfers_the_call(streaming, make_invoice):
    invoice = make_invoice()
    placed, call = call_in(streaming, invoice.contact.phone, *VERIFY,
                           "this bill is wrong my insurance should have covered it")
    assert placed.heard_text[-1].endswith("I'm connecting you with a member of our billing team now. Please hold "
                                          "for a moment.")
    assert placed.transferred_to == OFFICE  # <Dial> from the <Connect action>, after our `end`
    assert Handoff.objects.get(invoice=invoice).reason == "dispute"


def test_keys_a_spanish_choice_and_a_date_of_birth_on_the_keypad(streaming, make_invoice, make_contact, clock):
    mother = make_contact(first_name="Rosa", last_name="Diaz", phone="+12125550777", language="es")
    son = make_contact(first_name="Tomas", last_name="Diaz", phone="+12125550777", language="en")
    make_invoice(contact=mother, amount="80.00")
    make_invoice(contact=son, amount="45.00")
    placed, call = call_in(streaming, "+12125550777", Callee.press("2"), "soy tomas diaz", Callee.press("03031980"),
                           "cuánto debo", Callee.HANGUP)
    assert placed.heard[1] == {"verb": "ConversationRelay", "text": "Para español, oprima dos.", "language": "es-US",
                               "voice": None}
    assert placed.heard[2]["text"].startswith("Tengo a más de una persona") and placed.heard[2]["language"] == "es-US"
    assert placed.heard_text[4].startswith("Gracias por confirmar.")  # eight keys made one answer
    assert placed.heard_text[5].startswith("Su saldo es de")
    call.refresh_from_db()
    assert call.contact == son and call.dialog_state["collected"]["identity_verified"] is True


def test_an_unsigned_or_forged_handshake_is_refused(streaming, make_invoice):
    from django.conf import settings

    call = Call.objects.create(organization=streaming.org, to=CLINIC, sender="+12125550001", status="in-progress",
                               provider_id="CA" + "9" * 32, created_at=datetime(2026, 12, 7, 15, tzinfo=UTC))
    url = f"{settings.VOICE_RELAY_URL}?call={call.pk}"
    for headers in ({}, {"X-Twilio-Signature": sign("another-token", url, {})}):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=PATIENCE)
        assert refused.value.response.status_code == 403
    with connect(url, additional_headers={"X-Twilio-Signature": sign(streaming.fake.auth_token, url, {})},
                 open_timeout=PATIENCE) as ws:
        ws.send(json.dumps({"type": "setup", "callSid": "CA" + "8" * 32}))  # another call's session
        assert json.loads(ws.recv(timeout=PATIENCE))["type"] == "end"


CLINIC = "+12125550199"


def test_a_reminder_call_we_place_runs_over_the_socket_too(streaming, make_invoice, clock):
    from tests.integrations.twilio.test_twilio_transport import late_call_due

    invoice = late_call_due(make_invoice, clock)
    lines = ["yes this is me", "march third 1980", "i can pay on friday", "yes that's right"]
    streaming.fake.script_call(invoice.contact.phone, Callee.person(lines=lines))
    streaming.worker.tick()
    streaming.fake.flush()
    call = Call.objects.get(invoice=invoice)
    placed = streaming.fake.call(call.provider_id)
    assert placed.errors == [] and placed.said == lines
    assert {h["verb"] for h in placed.heard} == {"ConversationRelay"}
    assert placed.heard_text[0].startswith("Hello, this is an automated assistant calling on behalf of Maple Clinic.")
    assert invoice.promises.get().promised_date == date(2026, 12, 11)
    call.refresh_from_db()
    assert call.outcome == "promised" and call.ended_at is not None
    assert Event.objects.get(kind="call.reply_times", invoice=invoice).detail["turns"] == 4


def test_a_caller_who_says_nothing_is_asked_again_then_a_person_is_told(streaming, make_invoice, monkeypatch):
    # The quiet after our words that makes a silent turn: as long as a busy machine needs while the caller still
    # has words, 0.2 s once they have none left (the fake speaks instantly).
    monkeypatch.setattr(relay, "SILENCE_SECONDS", PATIENCE)
    monkeypatch.setattr(relay, "WORDS_PER_SECOND", 1000.0)
    answer = fake_relay._answer

    def caller_answers(ws, runner, turn, lang):
        if runner.cursor == len(VERIFY) - 1:  # the last words before the silence: from our next question on
            monkeypatch.setattr(relay, "SILENCE_SECONDS", 0.2)
        return answer(ws, runner, turn, lang)

    monkeypatch.setattr(fake_relay, "_answer", caller_answers)
    invoice = make_invoice()
    placed, call = call_in(streaming, invoice.contact.phone, *VERIFY, Callee.SILENCE, Callee.SILENCE)
    assert placed.heard_text[3].startswith("Are you still there?")
    assert placed.heard_text[4].startswith("I'm sorry, I'm having trouble understanding.")
    assert Handoff.objects.get(invoice=invoice).reason == "reply_needs_reading"
    call.refresh_from_db()
    assert call.outcome == "unclear" and len(call.dialog_state["reply_ms"]) == 4
