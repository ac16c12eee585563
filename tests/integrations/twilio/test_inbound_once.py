"""Every inbound text is handled exactly once, and answered in the webhook's own response.

Twilio may deliver the same MessageSid twice (at the same moment, or again after our 500): the patient gets
one answer, and a text whose handling failed is acted on when Twilio tries again."""

from __future__ import annotations

import threading
from xml.etree import ElementTree as ET

import pytest
from django.db import connection, connections
from django.test import Client

from duedesk.channels.models import SimulatedSend
from duedesk.conversations.texts import REPLIES
from duedesk.records.models import Event, Message
from tests.integrations.twilio.conftest import CLINIC_NUMBER, Signed, payload

HELP = REPLIES["help"]["en"].format(org="Maple Clinic", callback="+12125550100")


def replies(response) -> list[str]:
    """The texts Twilio sends back for this answer (TwiML <Message>)."""
    assert response["Content-Type"].startswith("text/xml")
    return [m.text for m in ET.fromstring(response.content).iter("Message")]


@pytest.mark.django_db
def test_the_reply_is_recorded_then_given_back_as_twiml(twilio_post, hook_clock, connected_org, make_invoice):
    contact = make_invoice().contact
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="HELP")
    response = twilio_post.post("/hooks/twilio/sms", params)
    assert response.status_code == 200
    assert replies(response) == [HELP]
    callback = ET.fromstring(response.content).find("Message").get("statusCallback")
    reply = Message.objects.get(contact=contact, direction="out")
    assert (reply.body, reply.status, reply.to) == (HELP, "queued", contact.phone)
    assert callback == ("https://duedesk.example.org/hooks/twilio/sms/status?key="
                        + reply.idempotency_key.replace(":", "%3A"))
    # The timeline shows the reply as before, and nothing went through a REST call.
    assert Event.objects.get(kind="sms.sent", contact=contact).detail["body"] == HELP
    assert SimulatedSend.objects.count() == 0
    # Twilio's status callback for the reply finds it by our key.
    status = payload("sms_status_delivered", MessageSid="SM" + "f" * 32, SmsSid="SM" + "f" * 32, To=contact.phone,
                     MessageStatus="delivered", SmsStatus="delivered")
    assert twilio_post.post(f"/hooks/twilio/sms/status?key={reply.idempotency_key}", status).status_code == 204
    reply.refresh_from_db()
    assert (reply.status, reply.provider_id) == ("delivered", "SM" + "f" * 32)


@pytest.mark.django_db
def test_the_same_text_delivered_again_is_answered_once(twilio_post, hook_clock, connected_org, make_invoice):
    contact = make_invoice().contact
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="HELP")
    first = twilio_post.post("/hooks/twilio/sms", params)
    again = twilio_post.post("/hooks/twilio/sms", params)
    assert (first.status_code, again.status_code) == (200, 200)
    assert replies(first) == [HELP] and replies(again) == []
    assert Event.objects.filter(kind="sms.received", contact=contact).count() == 1
    assert Event.objects.filter(kind="sms.sent", contact=contact).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_same_text_delivered_twice_at_once_is_answered_once(settings, hook_clock, connected_org,
                                                                 make_invoice):
    if connection.vendor != "postgresql":
        pytest.skip("two webhooks at the same moment need PostgreSQL (SQLite: the serial test above)")
    settings.PUBLIC_URL = "https://duedesk.example.org"
    settings.ALLOWED_HOSTS = ["testserver", "duedesk.example.org"]
    contacts = [make_invoice().contact for _ in range(6)]
    answered: list[list[str]] = []
    errors: list[BaseException] = []

    def deliver(params, start):
        try:
            start.wait()
            response = Signed(Client(), settings).post("/hooks/twilio/sms", params)
            assert response.status_code == 200
            answered.append(replies(response))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    for n, contact in enumerate(contacts):  # each text twice, both deliveries released together
        sid = f"SM{n:032d}"
        params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="HELP", MessageSid=sid, SmsSid=sid,
                         SmsMessageSid=sid)
        start = threading.Barrier(2)
        threads = [threading.Thread(target=deliver, args=(params, start)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert sorted(len(r) for r in answered) == [0] * 6 + [1] * 6  # one answer per text
    for contact in contacts:
        assert Message.objects.filter(contact=contact, direction="in").count() == 1
        assert Event.objects.filter(kind="sms.received", contact=contact).count() == 1
        assert list(Event.objects.filter(kind="sms.sent", contact=contact).values_list("detail__body", flat=True)) \
            == [HELP]


@pytest.mark.django_db
def test_a_text_whose_handling_failed_is_acted_on_when_twilio_retries(twilio_post, hook_clock, connected_org,
                                                                     make_invoice, caplog):
    invoice = make_invoice()
    contact = invoice.contact
    contact.timezone = "Not/AZone"  # saved before the forms checked it: every reading of the date fails
    contact.save()
    twilio_post.client.raise_request_exception = False
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="I can pay on Friday")
    assert twilio_post.post("/hooks/twilio/sms", params).status_code == 500
    assert not Message.objects.filter(contact=contact).exists()  # nothing kept: the retry is not "already seen"
    assert not Event.objects.filter(contact=contact).exists()

    contact.timezone = ""
    contact.save()
    retried = twilio_post.post("/hooks/twilio/sms", params)  # Twilio tries the same MessageSid again
    assert retried.status_code == 200
    (answer,) = replies(retried)
    assert "We've noted that you plan to pay on Friday, December 11" in answer
    assert Event.objects.filter(kind="sms.received", contact=contact).count() == 1
    assert invoice.promises.count() == 1


@pytest.mark.django_db
def test_a_signed_text_with_nul_is_stored_and_answered(twilio_post, hook_clock, connected_org, make_invoice):
    contact = make_invoice().contact
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body="HE\x00LP\x07")
    response = twilio_post.post("/hooks/twilio/sms", params)
    assert response.status_code == 200
    assert replies(response) == [HELP]
    assert Message.objects.get(contact=contact, direction="in").body == "HELP"
    assert Event.objects.get(kind="sms.received", contact=contact).detail["body"] == "HELP"


