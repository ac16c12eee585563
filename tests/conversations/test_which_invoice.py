"""A text from a number with several open invoices (a parent and a child on one phone, or one patient with two
visits to pay) asks which invoice is meant before a promise, a payment or a dispute is acted on, and the answer
(its number in the list, an amount, a first name) acts on the text first written, for that invoice. Signed
inbound texts through Twilio's webhook; the replies are what the patient reads in the webhook's TwiML."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.records.models import Event, Handoff, Message, Promise
from tests.integrations.twilio.conftest import CLINIC_NUMBER, payload

pytestmark = pytest.mark.django_db
PHONE = "+12125550777"


@pytest.fixture
def text_in(connected_org, hook_clock, twilio_post):
    """The patient texts the clinic's number; returns what we answered (the TwiML's text, one reply)."""
    def send(body: str, sender: str = PHONE) -> str:
        hook_clock.advance(minutes=2)
        sid = f"SM{hook_clock().timestamp():.0f}{len(body)}"
        response = twilio_post.post("/hooks/twilio/sms", payload(
            "sms_inbound", To=CLINIC_NUMBER, From=sender, Body=body, MessageSid=sid, SmsSid=sid))
        assert response.status_code == 200
        reply = Message.objects.filter(direction="out").order_by("-pk").first()
        return reply.body if reply and reply.created_at == hook_clock() else ""

    return send


@pytest.fixture
def family(make_contact, make_invoice):
    """Rosa (the parent, listed first) and Tomas (her son) on one phone, each with an open bill."""
    rosa = make_contact(first_name="Rosa", last_name="Diaz", phone=PHONE)
    tomas = make_contact(first_name="Tomas", last_name="Diaz", phone=PHONE, date_of_birth=date(2010, 6, 1))
    return make_invoice(contact=rosa, amount="80.00", due=date(2026, 12, 14)), \
        make_invoice(contact=tomas, amount="45.00", due=date(2026, 12, 9))


def test_a_promise_from_a_shared_phone_asks_which_bill_and_the_number_from_the_list_settles_it(family, text_in):
    rosas, tomass = family
    question = text_in("i can pay friday")
    assert question == ("Maple Clinic: Which bill is your message about? Reply with its number: 1) $45.00, due "
                        "Wednesday, December 9; 2) $80.00, due Monday, December 14. You can also reply with the "
                        "patient's first name. Reply STOP to opt out.")
    assert "Rosa" not in question and "Tomas" not in question  # a text never names the patient
    assert not Promise.objects.exists()  # nothing acted on before we know which
    confirmation = text_in("2")
    assert confirmation.startswith("Maple Clinic: Thank you! We've noted that you plan to pay on Friday, "
                                   "December 11")
    promise = Promise.objects.get()
    assert (promise.invoice, promise.contact, promise.promised_date) == (rosas, rosas.contact, date(2026, 12, 11))
    chosen = Event.objects.get(kind="sms.invoice_chosen")
    assert chosen.invoice == rosas and chosen.detail["answer"] == "2"


@pytest.mark.parametrize("answer", ["Tomas", "it's for my son tomas", "the $45 one", "45.00", "the first one"])
def test_a_name_or_an_amount_answers_the_list(family, text_in, answer):
    rosas, tomass = family
    text_in("I already paid this")
    assert text_in(answer).startswith("Maple Clinic: Thank you! We'll check our records")
    tomass.refresh_from_db()
    rosas.refresh_from_db()
    assert tomass.paused_until is not None and rosas.paused_until is None
    handoff = Handoff.objects.get()
    assert (handoff.reason, handoff.invoice, handoff.contact) == ("verify_payment", tomass, tomass.contact)


def test_a_dispute_that_names_the_patient_is_acted_on_at_once(family, text_in):
    rosas, tomass = family
    reply = text_in("tomas's bill is wrong, insurance should have covered his visit")
    assert "billing team will contact you" in reply
    tomass.refresh_from_db()
    rosas.refresh_from_db()
    assert (tomass.status, rosas.status) == ("disputed", "open")
    assert not Event.objects.filter(kind="sms.invoice_asked").exists()


def test_one_patient_with_two_open_invoices_is_asked_too_and_the_amount_answers(make_contact, make_invoice, text_in):
    maria = make_contact(first_name="Maria", last_name="Ruiz", phone=PHONE, language="es")
    first = make_invoice(contact=maria, amount="120.00", due=date(2026, 12, 10))
    second = make_invoice(contact=maria, amount="60.00", due=date(2026, 12, 20))
    question = text_in("puedo pagar el viernes")
    assert question.startswith("Maple Clinic: ¿Sobre qué cuenta es su mensaje? Responda con su número: "
                               "1) $120.00, vence el jueves, 10 de diciembre; 2) $60.00, vence el domingo, 20 de "
                               "diciembre. También puede responder con el nombre del paciente.")
    assert text_in("la de 60").startswith("Maple Clinic: ¡Gracias! Anotamos que planea pagar el")
    assert Promise.objects.get().invoice == second
    assert not first.promises.exists()


def test_an_answer_that_picks_nothing_gets_the_list_again_then_the_text_is_read_on_its_own(family, text_in):
    text_in("i can pay friday")
    again = text_in("huh?")
    assert again.startswith("Maple Clinic: Sorry, we could not tell which one you meant. Please reply with its "
                            "number: 1) $45.00")
    text_in("whatever")  # a second miss: no third list; read as a text of its own (unclear: a person reads it)
    assert Event.objects.filter(kind="sms.invoice_asked").count() == 2
    assert not Promise.objects.exists()
    assert Handoff.objects.get().reason == "reply_needs_reading"


def test_only_one_open_invoice_on_the_number_is_the_one_meant_even_when_it_is_the_childs(make_contact,
                                                                                       make_invoice, text_in):
    rosa = make_contact(first_name="Rosa", last_name="Diaz", phone=PHONE)  # listed first, owes nothing
    tomas = make_contact(first_name="Tomas", last_name="Diaz", phone=PHONE)
    theirs = make_invoice(contact=tomas, amount="45.00")
    make_invoice(contact=rosa, amount="30.00", status="paid")
    assert "Thank you! We've noted" in text_in("i'll pay on friday")
    assert Promise.objects.get().invoice == theirs


def test_a_question_or_help_from_a_shared_phone_asks_nothing(family, text_in):
    assert "Call us at" in text_in("HELP")
    assert "date of birth" in text_in("how much do i owe")  # the identity question, as before
    assert not Event.objects.filter(kind="sms.invoice_asked").exists()
