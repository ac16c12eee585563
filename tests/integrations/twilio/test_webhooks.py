"""Twilio webhooks through Django's test client: signatures, inbound texts, delivery statuses, call turns."""

from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions, definitions
from duedesk.engine.models import Step
from duedesk.integrations.twilio.signing import sign
from duedesk.records.models import Call, CallTurn, Contact, Event, Line, Message
from tests.integrations.twilio.conftest import CLINIC_NUMBER, TOKEN, payload

pytestmark = pytest.mark.django_db


def state(contact=None):
    """Everything a webhook could change, to prove a refused one changed nothing."""
    return (
        Event.objects.count(),
        Message.objects.count(),
        list(Message.objects.order_by("pk").values_list("status", "error_code", "provider_id")),
        list(Call.objects.order_by("pk").values_list("status", "outcome", "provider_id", "dialog_state")),
        list(Line.objects.order_by("pk").values_list("opted_out", "unreachable", "consent")),
        SimulatedSend.objects.count(),
    )


# ----------------------------------------------------------------------------- signatures


@pytest.fixture
def sent_message(connected_org, make_invoice, clock):
    invoice = make_invoice()
    contact = invoice.contact
    return Message.objects.create(
        organization=connected_org, contact=contact, invoice=invoice, channel="sms", direction="out",
        to=contact.phone, sender=CLINIC_NUMBER, body="Hello", status="queued", provider_id="SM" + "a" * 32,
        idempotency_key="e1:heads_up:1", created_at=clock(),
    )


@pytest.fixture
def live_call(connected_org, make_invoice, clock):
    invoice = make_invoice()
    return Call.objects.create(
        organization=connected_org, contact=invoice.contact, invoice=invoice, to=invoice.contact.phone,
        sender=CLINIC_NUMBER, status="ringing", provider_id="CA" + "b" * 32, idempotency_key="e1:late_call:1",
        created_at=clock(),
    )


def requests_for(sent_message, live_call, make_contact):
    patient = make_contact(phone="+12125550042")
    return {
        "inbound": ("/hooks/twilio/sms", payload("sms_inbound", To=CLINIC_NUMBER, From=patient.phone, Body="STOP")),
        "sms_status": ("/hooks/twilio/sms/status", payload(
            "sms_status_undelivered", MessageSid=sent_message.provider_id, SmsSid=sent_message.provider_id,
            To=sent_message.to, ErrorCode="21610")),
        "answer": (f"/hooks/twilio/voice/answer?call={live_call.pk}", payload(
            "voice_answer", CallSid=live_call.provider_id)),
        "turn": (f"/hooks/twilio/voice/turn?call={live_call.pk}&n=1", payload(
            "voice_turn_speech", CallSid=live_call.provider_id)),
        "amd": (f"/hooks/twilio/voice/amd?call={live_call.pk}", payload(
            "voice_amd_machine", CallSid=live_call.provider_id)),
        "status": (f"/hooks/twilio/voice/status?call={live_call.pk}", payload(
            "voice_status_completed", CallSid=live_call.provider_id)),
    }


@pytest.mark.parametrize("hook", ["inbound", "sms_status", "answer", "turn", "amd", "status"])
@pytest.mark.parametrize("forgery", ["forged", "missing", "stale_url", "other_token", "tampered"])
def test_bad_signatures_get_403_and_change_nothing(hook, forgery, twilio_post, hook_clock, sent_message,
                                                   live_call, make_contact, caplog):
    path, params = requests_for(sent_message, live_call, make_contact)[hook]
    before = state()
    if forgery == "forged":
        response = twilio_post.post(path, params, signature="bm90IGEgcmVhbCBzaWduYXR1cmU=")
    elif forgery == "missing":
        response = twilio_post.post(path, params, sign_it=False)
    elif forgery == "stale_url":
        # Signed for the address Django would compute behind a proxy, not the public one Twilio used.
        response = twilio_post.post(path, params, signed_for="http://testserver" + path)
    elif forgery == "other_token":
        response = twilio_post.post(path, params, token="someone-elses-token")
    else:
        # Signed correctly, then changed on the way: the signature covers every field.
        signature = sign(TOKEN, twilio_post.url(path), params)
        tampered = {**params, "Body": "START", "CallStatus": "busy", "SpeechResult": "no", "ErrorCode": "30005"}
        response = twilio_post.post(path, tampered, signature=signature)
    assert response.status_code == 403
    assert state() == before
    assert "refused" in caplog.text


def test_good_signature_behind_a_proxy_uses_the_public_url(twilio_post, hook_clock, sent_message):
    path = f"/hooks/twilio/sms/status?key={sent_message.idempotency_key}"
    params = payload("sms_status_delivered", MessageSid=sent_message.provider_id, To=sent_message.to)
    response = twilio_post.post(path, params)
    assert response.status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"


def test_get_is_not_allowed(client, connected_org):
    assert client.get("/hooks/twilio/sms").status_code == 405


def test_unknown_number_is_refused(twilio_post, hook_clock, connected_org):
    params = payload("sms_inbound", To="+19995550000", From="+12125550042")
    assert twilio_post.post("/hooks/twilio/sms", params).status_code == 403
    assert Message.objects.count() == 0


def test_an_organization_without_a_token_accepts_nothing(twilio_post, hook_clock, connected_org, settings):
    settings.TWILIO_AUTH_TOKENS = {}
    params = payload("sms_inbound", To=CLINIC_NUMBER, From="+12125550042")
    assert twilio_post.post("/hooks/twilio/sms", params).status_code == 403


# ----------------------------------------------------------------------------- inbound texts


def test_inbound_text_lands_on_the_timeline_once(twilio_post, hook_clock, connected_org, make_invoice):
    invoice = make_invoice()
    contact = invoice.contact
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="Who is this?")
    response = twilio_post.post("/hooks/twilio/sms", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert ET.fromstring(response.content).tag == "Response" and len(ET.fromstring(response.content)) == 0
    again = twilio_post.post("/hooks/twilio/sms", params)  # Twilio retried the webhook
    assert again.status_code == 200
    received = Event.objects.filter(kind="sms.received", contact=contact)
    assert received.count() == 1
    assert received.get().detail["body"] == "Who is this?"
    assert received.get().at == hook_clock()
    assert Message.objects.filter(direction="in", provider_id=params["MessageSid"]).count() == 1


def test_inbound_text_found_by_messaging_service(twilio_post, hook_clock, connected_org, make_contact):
    connected_org.sms_from = ""
    connected_org.messaging_service_sid = "MG" + "c" * 32
    connected_org.save()
    contact = make_contact()
    params = payload("sms_inbound", To="+15005550006", From=contact.phone, Body="hello",
                     MessagingServiceSid=connected_org.messaging_service_sid)
    assert twilio_post.post("/hooks/twilio/sms", params).status_code == 200
    assert Event.objects.filter(kind="sms.received", contact=contact).exists()


STOP_FORMS = ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel!", "END", "quit", "REVOKE", "OptOut",
              "opt out", "OPT-OUT", "ALTO", "parar", "Cancelar", "NO MAS", "no más", "No Más!!", "  NO  MÁS. "]


@pytest.mark.parametrize("body", STOP_FORMS)
def test_stop_by_text_stops_the_next_text_and_call_within_one_tick(body, twilio_post, hook_clock, connected_org,
                                                                     make_contact, make_invoice, worker, clock):
    contact = make_contact()
    due_soon = make_invoice(contact=contact, due=date(2026, 12, 10))  # heads-up text due today
    late = make_invoice(contact=contact, due=date(2026, 11, 25))  # late call due
    clock.set(clock() - timedelta(days=1))
    actions.enroll_invoice(due_soon, clock())
    enrollment = actions.enroll_invoice(late, clock())
    actions._cancel_pending(enrollment, clock())  # straight to the late call
    actions.go_to_step(enrollment, definitions.parsed(enrollment.workflow), "late_call", clock())
    clock.advance(days=1)
    due = Step.objects.filter(enrollment__contact=contact, status="pending", run_at__lte=clock())
    assert sorted(due.values_list("kind", flat=True)) == ["call", "sms"]

    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body=body)
    assert twilio_post.post("/hooks/twilio/sms", params).status_code == 200
    contact.refresh_from_db()
    assert "all" in contact.opted_out
    recorded = SimulatedSend.objects.count()  # the STOP confirmation, if any
    worker.tick()
    assert SimulatedSend.objects.count() == recorded
    assert not Message.objects.filter(contact=contact, direction="out", step__isnull=False).exists()
    assert not Call.objects.filter(contact=contact).exists()
    assert Event.objects.filter(contact=contact, kind="step.blocked").count() == 2


# ----------------------------------------------------------------------------- delivery statuses


def status_post(twilio_post, message, status, code=None, by_key=True):
    path = "/hooks/twilio/sms/status" + (f"?key={message.idempotency_key}" if by_key else "")
    params = payload("sms_status_delivered", MessageSid=message.provider_id, SmsSid=message.provider_id,
                     To=message.to, MessageStatus=status, SmsStatus=status, ErrorCode=code)
    return twilio_post.post(path, params)


def test_delivered_is_recorded_and_never_moves_backwards(twilio_post, hook_clock, sent_message):
    for status in ("sent", "delivered", "sent", "queued", "undelivered"):
        assert status_post(twilio_post, sent_message, status).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"
    assert list(Event.objects.filter(kind__startswith="sms.").values_list("kind", flat=True)) == ["sms.delivered"]


def test_status_found_by_sid_without_our_key(twilio_post, hook_clock, sent_message):
    assert status_post(twilio_post, sent_message, "delivered", by_key=False).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"


def test_status_before_the_worker_saved_the_sid(twilio_post, hook_clock, sent_message):
    sid = sent_message.provider_id
    Message.objects.filter(pk=sent_message.pk).update(provider_id="")
    params = payload("sms_status_delivered", MessageSid=sid, SmsSid=sid, To=sent_message.to)
    path = f"/hooks/twilio/sms/status?key={sent_message.idempotency_key}"
    assert twilio_post.post(path, params).status_code == 204
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.provider_id) == ("delivered", sid)


@pytest.mark.parametrize("code,effect", [("30003", "unreachable"), ("30005", "invalid_number"),
                                         ("30006", "not_mobile"), ("21610", "opted_out"),
                                         ("21614", "not_mobile"), ("30004", "blocked")])
def test_permanent_delivery_error_marks_the_channel(code, effect, twilio_post, hook_clock, sent_message):
    assert status_post(twilio_post, sent_message, "undelivered", code).status_code == 204
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.error_code) == ("undelivered", code)
    event = Event.objects.get(kind="sms.undelivered")
    assert event.detail["code"] == code
    contact = sent_message.contact
    contact.refresh_from_db()
    assert contact.unreachable == {"sms": effect}
    assert Event.objects.filter(kind="contact.unreachable", contact=contact).count() == 1


@pytest.mark.parametrize("code", ["30008", "30001", "30007"])
def test_other_delivery_errors_leave_the_number_alone(code, twilio_post, hook_clock, sent_message):
    assert status_post(twilio_post, sent_message, "failed", code).status_code == 204
    assert Event.objects.get(kind="sms.failed").detail["code"] == code
    sent_message.contact.refresh_from_db()
    assert sent_message.contact.unreachable == {}


def test_permanent_delivery_error_sends_the_workflow_to_its_fallback(twilio_post, hook_clock, connected_org,
                                                                     make_invoice, worker, clock):
    """After 30003 on a text, the next text step is blocked as unreachable and the workflow moves on."""
    invoice = make_invoice(due=date(2026, 11, 30))
    actions.enroll_invoice(invoice, clock())
    message = Message.objects.create(
        organization=connected_org, contact=invoice.contact, invoice=invoice, channel="sms", to=invoice.contact.phone,
        body="hi", status="sent", provider_id="SM" + "d" * 32, idempotency_key="x:1", created_at=clock())
    status_post(twilio_post, message, "undelivered", "30003")
    invoice.contact.refresh_from_db()
    assert invoice.contact.unreachable == {"sms": "unreachable"}


# ----------------------------------------------------------------------------- voice


def test_answer_speaks_and_gathers(twilio_post, hook_clock, live_call):
    path = f"/hooks/twilio/voice/answer?call={live_call.pk}"
    response = twilio_post.post(path, payload("voice_answer", CallSid=live_call.provider_id))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf" and gather.get("speechTimeout") == "auto"
    assert gather.get("language") == "en-US" and gather.get("actionOnEmptyResult") == "true"
    assert gather.get("action") == f"https://duedesk.example.org/hooks/twilio/voice/turn?call={live_call.pk}&n=1"
    say = gather.find("Say")
    assert say.get("language") == "en-US" and "Maria" in say.text
    live_call.refresh_from_db()
    assert live_call.status == "in-progress" and live_call.dialog_state


def test_a_retried_turn_changes_state_once(twilio_post, hook_clock, live_call):
    twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}",
                     payload("voice_answer", CallSid=live_call.provider_id))
    path = f"/hooks/twilio/voice/turn?call={live_call.pk}&n=1"
    params = payload("voice_turn_speech", CallSid=live_call.provider_id, SpeechResult="yes")
    first = twilio_post.post(path, params)
    live_call.refresh_from_db()
    state_after_first = live_call.dialog_state
    second = twilio_post.post(path, params)
    live_call.refresh_from_db()
    assert first.content == second.content
    assert live_call.dialog_state == state_after_first
    assert ET.fromstring(first.content).find("Gather").get("action").endswith("&n=2")


def test_a_turn_whose_handling_fails_hangs_up_keeps_nothing_and_its_retry_is_heard(twilio_post, hook_clock,
                                                                                   live_call):
    """The call is read once, locked, for the signature check and the turn: a turn that fails still rolls back
    whole (its key too), so Twilio's retry of the same turn is acted on, not answered as already heard."""
    twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}",
                     payload("voice_answer", CallSid=live_call.provider_id))
    live_call.refresh_from_db()
    before = state()
    contact = live_call.contact
    Contact.objects.filter(pk=contact.pk).update(timezone="Not/AZone")  # written before zones were checked
    path = f"/hooks/twilio/voice/turn?call={live_call.pk}&n=1"
    params = payload("voice_turn_speech", CallSid=live_call.provider_id, SpeechResult="yes this is Maria")
    failed = twilio_post.post(path, params)
    assert failed.status_code == 200 and ET.fromstring(failed.content).find("Hangup") is not None
    assert state() == before and not CallTurn.objects.filter(call=live_call).exists()

    Contact.objects.filter(pk=contact.pk).update(timezone="America/New_York")
    retried = twilio_post.post(path, params)
    assert ET.fromstring(retried.content).find("Gather").get("action").endswith("&n=2")
    live_call.refresh_from_db()
    assert live_call.dialog_state != before[3][0][3]
    assert CallTurn.objects.filter(call=live_call).count() == 1


def test_silence_is_a_turn(twilio_post, hook_clock, live_call):
    twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}",
                     payload("voice_answer", CallSid=live_call.provider_id))
    params = payload("voice_turn_speech", CallSid=live_call.provider_id)
    params.pop("SpeechResult")
    params.pop("Confidence")
    response = twilio_post.post(f"/hooks/twilio/voice/turn?call={live_call.pk}&n=1", params)
    assert response.status_code == 200
    live_call.refresh_from_db()
    assert list(CallTurn.objects.filter(call=live_call).values_list("provider_id", "sequence")) == [
        (live_call.provider_id, 1)]


def test_a_callback_for_another_call_sid_is_refused(twilio_post, hook_clock, live_call):
    params = payload("voice_answer", CallSid="CA" + "e" * 32)
    assert twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}", params).status_code == 403


def test_final_status_ends_the_call_once(twilio_post, hook_clock, live_call):
    path = f"/hooks/twilio/voice/status?call={live_call.pk}"
    params = payload("voice_status_completed", CallSid=live_call.provider_id, CallStatus="no-answer")
    assert twilio_post.post(path, params).status_code == 204
    assert twilio_post.post(path, params).status_code == 204
    live_call.refresh_from_db()
    assert (live_call.status, live_call.outcome) == ("no-answer", "no_answer")
    assert Event.objects.filter(kind="call.completed").count() == 1


def test_progress_status_changes_nothing(twilio_post, hook_clock, live_call):
    path = f"/hooks/twilio/voice/status?call={live_call.pk}"
    params = payload("voice_status_completed", CallSid=live_call.provider_id, CallStatus="ringing")
    assert twilio_post.post(path, params).status_code == 204
    live_call.refresh_from_db()
    assert live_call.status == "ringing" and live_call.ended_at is None


def test_amd_human_changes_nothing(twilio_post, hook_clock, live_call):
    params = payload("voice_amd_machine", CallSid=live_call.provider_id, AnsweredBy="human")
    assert twilio_post.post(f"/hooks/twilio/voice/amd?call={live_call.pk}", params).status_code == 204
    live_call.refresh_from_db()
    assert live_call.outcome == "" and not Event.objects.filter(kind="call.voicemail").exists()


# ----------------------------------------------------------------------------- who answered (AMD)


def answer_async(twilio_post, live_call):
    """Twilio's answer webhook under asynchronous AMD: no AnsweredBy yet."""
    params = payload("voice_answer", CallSid=live_call.provider_id)
    params.pop("AnsweredBy", None)
    return twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}", params)


@pytest.mark.parametrize("answered_by", ["human", "unknown"])
def test_a_person_is_logged_as_answering_when_detection_says_so(answered_by, twilio_post, hook_clock, live_call):
    assert ET.fromstring(answer_async(twilio_post, live_call).content).find("Gather") is not None
    assert not Event.objects.filter(kind="call.answered").exists()  # nobody knows yet who picked up
    params = payload("voice_amd_machine", CallSid=live_call.provider_id, AnsweredBy=answered_by)
    for _ in range(2):  # the callback repeated changes nothing
        assert twilio_post.post(f"/hooks/twilio/voice/amd?call={live_call.pk}", params).status_code == 204
    (answered,) = Event.objects.filter(kind="call.answered")
    assert answered.detail["answered_by"] == answered_by
    live_call.refresh_from_db()
    assert live_call.answered_by == answered_by and live_call.outcome == ""


def test_a_fax_answering_marks_the_number_and_says_no_person_answered(twilio_post, hook_clock, live_call):
    params = payload("voice_answer", CallSid=live_call.provider_id, AnsweredBy="fax")
    response = twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}", params)
    assert ET.fromstring(response.content).find("Hangup") is not None
    live_call.refresh_from_db()
    assert (live_call.answered_by, live_call.outcome) == ("fax", "unreachable")
    live_call.contact.refresh_from_db()
    assert live_call.contact.unreachable == {"call": "fax"}
    assert [e.kind for e in Event.objects.filter(contact=live_call.contact).exclude(kind="contact.unreachable")] \
        == ["call.fax"]


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_beep", "machine_end_silence"])
def test_a_machine_found_by_synchronous_detection_gets_the_voicemail_only(answered_by, twilio_post, hook_clock,
                                                                         live_call):
    params = payload("voice_answer", CallSid=live_call.provider_id, AnsweredBy=answered_by)
    response = twilio_post.post(f"/hooks/twilio/voice/answer?call={live_call.pk}", params)
    root = ET.fromstring(response.content)
    assert root.find("Gather") is None and "Maple Clinic" in root.find("Say").text
    assert list(Event.objects.values_list("kind", flat=True)) == ["call.voicemail"]
