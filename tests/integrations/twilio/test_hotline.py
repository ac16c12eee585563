"""The invoice question hotline over HTTP: the fake Twilio places a call to the organization's number, our
incoming-call webhook answers, and the fake follows the TwiML (Say, Gather, Dial, Hangup) with the caller's
scripted lines, as it does for the calls we place. What the caller heard and what landed on the timeline are
what the tests check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from duedesk.integrations.twilio.fake import Callee
from duedesk.records.models import Call, Contact, Event, Handoff, Message, Promise

from .conftest import CLINIC_NUMBER

OFFICE = "+12125550100"  # the organization's callback number (the office line)
OFFICE_SPOKEN = "2 1 2, 5 5 5, 0 1 0 0"


def call_in(wired, phone: str, *lines: str):
    """The patient at `phone` calls the clinic's number and says `lines`, one per question."""
    fake = wired.fake
    fake.numbers[CLINIC_NUMBER] = {"voice_url": f"{wired.url}/hooks/twilio/voice/incoming",
                                   "voice_status_callback": f"{wired.url}/hooks/twilio/voice/status"}
    placed = fake.incoming_call(from_=phone, to=CLINIC_NUMBER, caller=Callee.person(lines=lines))
    fake.flush()
    assert placed.errors == []
    assert placed.callbacks == ["completed"]  # the number's status callback, answered
    return placed, Call.objects.select_related("contact").get(provider_id=placed.sid)


def timeline(contact) -> list[str]:
    return list(Event.objects.filter(contact=contact).order_by("at", "pk").values_list("kind", flat=True))


VERIFY = ("yes this is me", "march third 1980")
pytestmark = pytest.mark.django_db(transaction=True)


def test_known_caller_verifies_asks_the_balance_and_promises_friday(wired, make_invoice):
    invoice = make_invoice(amount="120.00", due=date(2026, 12, 10))
    contact = invoice.contact
    placed, call = call_in(wired, contact.phone, *VERIFY, "how much do I owe", "i can pay on friday",
                           "yes that's right")
    heard = placed.heard_text
    assert heard[0] == (f"Hello, you've reached Maple Clinic. This is an automated assistant. Am I speaking with "
                        f"{contact.full_name}?")
    assert "date of birth" in heard[1]
    assert not any("120" in h for h in heard[:2])  # nothing about the bill before identity
    assert heard[2].startswith("Thank you for confirming. How can I help you today?")
    assert heard[3].startswith("Your balance is $120.00.")
    assert heard[4] == "Friday, December 11. Is that right?"
    assert heard[5].startswith("Thank you. I've noted that you plan to pay on Friday, December 11.")
    assert placed.transferred_to is None and all(h["language"] == "en-US" for h in placed.heard)
    promise = Promise.objects.get(invoice=invoice)
    assert (promise.promised_date, promise.status, promise.channel) == (date(2026, 12, 11), "pending", "call")
    call.refresh_from_db()
    assert (call.contact, call.invoice, call.outcome, call.to, call.sender) == (
        contact, invoice, "promised", CLINIC_NUMBER, contact.phone)
    kinds = timeline(contact)
    assert kinds.index("call.received") < kinds.index("call.identity_verified") < kinds.index("promise.recorded")
    completed = Event.objects.get(kind="call.completed", contact=contact)
    assert completed.detail["direction"] == "inbound" and completed.detail["outcome"] == "promised"
    said = [t["text"] for t in completed.detail["transcript"] if t["speaker"] == "patient"]
    assert said == [*VERIFY, "how much do I owe", "i can pay on friday", "yes that's right"]
    # The date of birth is an identity answer, not a promise to pay.
    assert [t.get("intent") for t in completed.detail["transcript"] if t["speaker"] == "patient"][:2] == [None, None]
    assert completed.detail["collected"]["promised_date"] == "2026-12-11"
    # The status callback after our own end changes nothing but the call's length.
    assert Event.objects.filter(kind="call.completed").count() == 1
    assert call.duration_seconds and call.ended_at is not None


def test_known_caller_who_fails_identity_hears_only_the_limited_content_message(wired, make_invoice):
    invoice = make_invoice(amount="120.00")
    placed, call = call_in(wired, invoice.contact.phone, "yes this is me", "january first 1990",
                           "february second 1991", "how much do I owe")
    heard = placed.heard_text
    assert heard[-1] == ("I'm sorry, I wasn't able to confirm who I'm speaking with, so I can't go any further on "
                         f"this call. Please call Maple Clinic back at {OFFICE_SPOKEN} and ask for Dana. Goodbye.")
    for said in heard:
        assert "120" not in said and "balance" not in said.lower() and "bill" not in said.lower()
    assert placed.said == ["yes this is me", "january first 1990", "february second 1991"]  # then we hung up
    call.refresh_from_db()
    assert call.outcome == "identity_failed"
    assert Event.objects.get(kind="call.identity_failed").detail["reason"] == "mismatch"
    assert not Promise.objects.exists() and not Message.objects.filter(direction="out").exists()
    assert Event.objects.filter(kind="call.completed", contact=invoice.contact).exists()


def test_unknown_caller_hears_the_office_number_and_a_person_is_told(wired, make_invoice):
    make_invoice()  # someone else's bill: nothing about it may be said
    stranger = "+13125559876"
    placed, call = call_in(wired, stranger)
    assert placed.heard_text == [
        "Hello, you've reached Maple Clinic. This is an automated assistant.", "Para español, oprima dos.",
        "I'm sorry, I couldn't find this phone number in our records. Please call our office at "
        f"{OFFICE_SPOKEN}, and a member of our team will help you. I've also let them know you called. Goodbye."]
    assert [h["language"] for h in placed.heard] == ["en-US", "es-US", "en-US"]  # the offer in a Spanish voice
    handoff = Handoff.objects.get(reason="unknown_caller")
    assert handoff.contact.phone == stranger and handoff.contact.full_name == ""
    assert stranger in handoff.summary and handoff.invoice is None
    assert call.contact == handoff.contact and call.outcome == "unknown_caller"
    assert timeline(handoff.contact) == ["contact.created", "call.received", "handoff.opened", "call.completed"]
    # The second call from the number finds the same contact and opens no second ticket.
    call_in(wired, stranger)
    assert Contact.objects.filter(phone=stranger).count() == 1
    assert Handoff.objects.filter(reason="unknown_caller").count() == 1


def test_dispute_in_office_hours_goes_to_a_person_and_is_transferred(wired, make_invoice):
    invoice = make_invoice()
    placed, call = call_in(wired, invoice.contact.phone, *VERIFY,
                           "this bill is wrong my insurance should have covered it")
    assert placed.heard_text[-1] == ("I understand, and I'm sorry for any confusion about this bill. I'm connecting "
                                     "you with a member of our billing team now. Please hold for a moment.")
    assert placed.transferred_to == OFFICE
    handoff = Handoff.objects.get(invoice=invoice)
    assert handoff.reason == "dispute" and "insurance" in handoff.summary
    invoice.refresh_from_db()
    assert invoice.status == "disputed"  # reminders stop while a person looks at it
    assert Event.objects.get(kind="call.transfer").detail["number"] == OFFICE


def test_transfer_in_office_hours_dials_the_office_line(wired, make_invoice, clock):
    clock.set(datetime(2026, 12, 8, 21, 30, tzinfo=UTC))  # Tuesday 16:30 in New York: staff are in
    wired.org.transfer_number = "+12125550111"
    wired.org.save()
    invoice = make_invoice()
    placed, _ = call_in(wired, invoice.contact.phone, *VERIFY, "can i talk to a person")
    assert placed.transferred_to == "+12125550111"
    assert placed.heard_text[-1].endswith("I'm connecting you with a member of our billing team now. Please hold "
                                          "for a moment.")
    assert Handoff.objects.get(invoice=invoice).reason == "request_human"


def test_after_hours_the_assistant_takes_a_message_for_a_person(wired, make_invoice, clock):
    clock.set(datetime(2026, 12, 8, 23, 30, tzinfo=UTC))  # Tuesday 18:30 in New York: the office is closed
    invoice = make_invoice()
    message = "please call me tomorrow morning about the payment"
    placed, call = call_in(wired, invoice.contact.phone, *VERIFY, "can i talk to a person", message)
    assert placed.transferred_to is None
    assert placed.heard_text[-2] == ("Of course. Our office is closed right now. Please tell me your message and "
                                     "the best time to reach you, and a member of our team will call you back.")
    assert placed.heard_text[-1] == ("Thank you. I've passed your message on, and a member of our team will call "
                                     "you back. Goodbye.")
    handoff = Handoff.objects.get(invoice=invoice)
    assert handoff.reason == "request_human" and message in handoff.summary
    assert handoff.collected["message"] == message
    assert call.outcome == "request_human"


def test_a_holiday_is_after_hours(wired, make_invoice, clock):
    clock.set(datetime(2026, 12, 25, 15, 0, tzinfo=UTC))  # Christmas, 10:00 in New York
    invoice = make_invoice()
    placed, _ = call_in(wired, invoice.contact.phone, *VERIFY, "i want to speak with someone")
    assert placed.transferred_to is None and "Our office is closed right now." in placed.heard_text[-2]
    assert Handoff.objects.get(invoice=invoice).reason == "request_human"  # taken when the caller hung up


def test_spanish_caller(wired, make_invoice, make_contact):
    invoice = make_invoice(contact=make_contact(first_name="Lucía", last_name="Gómez", language="es"))
    placed, _ = call_in(wired, invoice.contact.phone, "sí soy yo", "el 3 de marzo de 1980", "cuánto debo",
                        "puedo pagar el viernes", "sí es correcto")
    heard = placed.heard_text
    assert heard[0] == "Hola, se ha comunicado con Maple Clinic. Le atiende un asistente automático. ¿Hablo con Lucía Gómez?"
    assert heard[2].startswith("Gracias por confirmar. ¿En qué puedo ayudarle?")
    assert heard[3].startswith("Su saldo es de") and "120" in heard[3]
    assert heard[5].startswith("Gracias. He anotado que piensa pagar el viernes, 11 de diciembre")
    assert {h["language"] for h in placed.heard} == {"es-US"}
    assert Promise.objects.get(invoice=invoice).promised_date == date(2026, 12, 11)


def test_several_contacts_on_the_number_are_asked_which_one(wired, make_invoice, make_contact):
    parent = make_contact(first_name="Rosa", last_name="Diaz", phone="+12125550777")
    child = make_contact(first_name="Tomas", last_name="Diaz", phone="+12125550777",
                         date_of_birth=date(2010, 6, 1))
    make_invoice(contact=parent, amount="80.00")
    theirs = make_invoice(contact=child, amount="45.00", due=date(2026, 12, 9))
    placed, call = call_in(wired, "+12125550777", "this is tomas diaz", "june first 2010", "what is this charge for")
    heard = placed.heard_text
    assert heard[0].endswith("I have more than one person on file for this phone number. Could you tell me your "
                             "first and last name, please?")
    assert "Rosa" not in heard[0] and "Tomas" not in heard[0]
    assert heard[1] == "Thank you. To protect your privacy, could you please tell me your date of birth?"
    digits = " ".join(theirs.external_ref.split("-")[1])
    assert heard[3].startswith(f"It's invoice I N V, {digits} from Maple Clinic, "
                               "billed at $45.00, and $45.00 of it is still open.")
    call.refresh_from_db()
    assert (call.contact, call.invoice) == (child, theirs)
    assert Event.objects.filter(kind="call.completed", contact=child).exists()
    assert not Event.objects.filter(contact=parent, kind__startswith="call.").exists()


def test_the_same_call_delivered_twice_is_one_call(wired, make_invoice, twilio_post, settings):
    invoice = make_invoice()
    settings.PUBLIC_URL = wired.url
    from django.test import Client

    from duedesk.integrations.twilio.signing import sign

    params = {"CallSid": "CA" + "1" * 32, "From": invoice.contact.phone, "To": CLINIC_NUMBER,
              "AccountSid": wired.fake.account_sid, "CallStatus": "ringing", "Direction": "inbound"}
    url = wired.url + "/hooks/twilio/voice/incoming"
    client = Client()
    answers = [client.post("/hooks/twilio/voice/incoming", data=params,
                           headers={"X-Twilio-Signature": sign(wired.fake.auth_token, url, params)})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content and b"<Gather" in answers[0].content
    assert Call.objects.count() == 1 and Event.objects.filter(kind="call.received").count() == 1
    unsigned = client.post("/hooks/twilio/voice/incoming", data=params)
    assert unsigned.status_code == 403 and Call.objects.count() == 1
