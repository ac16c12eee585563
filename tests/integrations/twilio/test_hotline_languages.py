"""The hotline for callers whose language we can't know from the number (an unknown number, or people of both
languages on it): the English greeting offers Spanish in a Spanish voice ("Para español, oprima dos"), and a
caller who presses 2 or answers in Spanish hears the rest in Spanish. And a caller who owes on several
invoices hears the total and each invoice named. Over HTTP against the fake Twilio, as test_hotline.py."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.integrations.twilio.fake import Callee
from duedesk.records.models import Event, Handoff, Promise

from .test_hotline import OFFICE_SPOKEN, VERIFY, call_in

pytestmark = pytest.mark.django_db(transaction=True)
STRANGER = "+13125559876"
SPANISH_OFFICE = ("Lo siento, no encontré este número de teléfono en nuestros registros. Por favor, llame a nuestra "
                  f"oficina al {OFFICE_SPOKEN} y una persona de nuestro equipo le ayudará. También les avisé de su "
                  "llamada. Hasta luego.")


@pytest.mark.parametrize("answer", [Callee.press("2"), "hola necesito ayuda con mi cuenta", "español"])
def test_an_unknown_caller_who_speaks_spanish_hears_the_office_number_in_spanish(wired, answer):
    placed, call = call_in(wired, STRANGER, answer)
    assert placed.heard_text[-1] == SPANISH_OFFICE
    assert placed.heard[-1]["language"] == "es-US"
    handoff = Handoff.objects.get(reason="unknown_caller")  # one person told, as for an English caller
    assert STRANGER in handoff.summary and handoff.invoice is None
    call.refresh_from_db()
    assert call.outcome == "unknown_caller" and call.dialog_state["lang"] == "es"
    completed = Event.objects.get(kind="call.completed", contact=handoff.contact)
    assert completed.detail["transcript"][-1]["text"] == SPANISH_OFFICE


def test_an_unknown_caller_who_presses_1_or_waits_hears_nothing_more(wired):
    placed, call = call_in(wired, STRANGER, Callee.press("1"))
    assert len(placed.heard_text) == 3 and "Lo siento" not in " ".join(placed.heard_text)
    assert Handoff.objects.filter(reason="unknown_caller").count() == 1


def test_people_of_both_languages_on_a_number_are_offered_spanish_and_the_rest_is_spanish(wired, make_invoice,
                                                                                         make_contact):
    mother = make_contact(first_name="Rosa", last_name="Diaz", phone="+12125550777", language="es")
    son = make_contact(first_name="Tomas", last_name="Diaz", phone="+12125550777", language="en")
    make_invoice(contact=mother, amount="80.00")
    make_invoice(contact=son, amount="45.00", due=date(2026, 12, 9))
    placed, call = call_in(wired, "+12125550777", Callee.press("2"), "soy tomas diaz", "el 3 de marzo de 1980",
                           "cuánto debo")
    heard = placed.heard_text
    assert heard[1] == "Para español, oprima dos."
    assert heard[2] == ("Tengo a más de una persona registrada con este número de teléfono. ¿Me podría decir su "
                        "nombre y apellido, por favor?")
    assert heard[3].startswith("Gracias.") and "fecha de nacimiento" in heard[3]
    assert heard[5].startswith("Su saldo es de") and "45" in heard[5]
    assert {h["language"] for h in placed.heard[2:]} == {"es-US"}  # the son is on file in English; he chose Spanish
    call.refresh_from_db()
    assert call.contact == son


def test_people_of_one_language_on_a_number_are_not_offered_spanish(wired, make_invoice, make_contact):
    for first in ("Rosa", "Tomas"):
        make_invoice(contact=make_contact(first_name=first, last_name="Diaz", phone="+12125550777"))
    placed, _ = call_in(wired, "+12125550777")
    assert not any("español" in h for h in placed.heard_text)


@pytest.fixture
def two_invoices(make_invoice, make_contact):
    contact = make_contact(first_name="Maria", last_name="Ruiz")
    first = make_invoice(contact=contact, amount="120.00", due=date(2026, 12, 4))
    second = make_invoice(contact=contact, amount="60.50", due=date(2026, 12, 18))
    return first, second


def spoken(invoice) -> str:
    return "I N V, " + " ".join(invoice.external_ref.split("-")[1])


def test_a_caller_with_two_open_invoices_hears_the_total_and_each_one(wired, two_invoices):
    first, second = two_invoices
    placed, _ = call_in(wired, first.contact.phone, *VERIFY, "how much do i owe", "what is it for")
    heard = placed.heard_text
    assert heard[3].startswith(f"Your total balance is $180.50, across 2 invoices: invoice {spoken(first)}, $120.00, "
                               f"which was due on Friday, December 4; invoice {spoken(second)}, $60.50, due on "
                               "Friday, December 18.")
    assert heard[4].startswith(f"You have 2 open invoices from Maple Clinic: invoice {spoken(first)}, billed at "
                               f"$120.00, with $120.00 still open; invoice {spoken(second)}, billed at $60.50, with "
                               "$60.50 still open.")


def test_a_day_to_pay_after_hearing_the_total_is_a_promise_on_each_invoice(wired, two_invoices):
    placed, _ = call_in(wired, two_invoices[0].contact.phone, *VERIFY, "how much do i owe", "i can pay friday",
                        "yes")
    assert placed.heard_text[-1].startswith("Thank you. I've noted that you plan to pay on Friday, December 11.")
    promised = sorted(Promise.objects.values_list("invoice_id", "promised_date"))
    assert promised == [(two_invoices[0].pk, date(2026, 12, 11)), (two_invoices[1].pk, date(2026, 12, 11))]


def test_spanish_totals(wired, make_invoice, make_contact):
    contact = make_contact(first_name="Lucía", last_name="Gómez", language="es")
    make_invoice(contact=contact, amount="120.00", due=date(2026, 12, 10))
    make_invoice(contact=contact, amount="30.00", due=date(2026, 12, 20))
    placed, _ = call_in(wired, contact.phone, "sí soy yo", "el 3 de marzo de 1980", "cuánto debo")
    assert placed.heard_text[3].startswith("Su saldo total es de")
    assert "en 2 facturas: la factura" in placed.heard_text[3] and "que vence el" in placed.heard_text[3]
