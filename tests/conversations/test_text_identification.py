"""Every text names the organization, and the first text in a thread carries the opt-out line in the
contact's language (rule text_identification), enforced where every text outside a workflow step is sent
(engine/actions/sends.send_text_now) and in the renderer for workflow texts: conversational replies, the
identity question, staff texts."""

from __future__ import annotations

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.conversations.texts import receive_text
from duedesk.inbox.actions import send_staff_text
from tests.conversations.conftest import reply

pytestmark = pytest.mark.django_db


def bodies() -> list[str]:
    return list(SimulatedSend.objects.order_by("pk").values_list("body", flat=True))


@pytest.mark.parametrize("language, opt_out", [("en", "Reply STOP to opt out."),
                                               ("es-MX", "Responda ALTO para cancelar.")])
def test_the_first_reply_in_a_thread_carries_the_opt_out_line_and_later_ones_do_not(make_invoice, make_contact,
                                                                                   clock, transports, language,
                                                                                   opt_out):
    invoice = make_invoice(contact=make_contact(language=language))
    # The patient writes first: our answer (the identity question) opens the thread.
    receive_text(invoice.organization, invoice.contact.phone, "+12125550000",
                 "how much do I owe" if language == "en" else "cuánto debo", clock(), transports, provider_id="SM1")
    (first,) = bodies()
    assert first.startswith("Maple Clinic: ") and first.endswith(opt_out), first
    clock.advance(minutes=2)
    receive_text(invoice.organization, invoice.contact.phone, "+12125550000", "01/01/1999", clock(), transports,
                 provider_id="SM2")
    second = bodies()[1]
    assert second.startswith("Maple Clinic: ") and opt_out not in second, second


def test_a_staff_text_names_the_organization(texted, clock, transports):
    result = send_staff_text(texted.contact, texted, "Hi Maria, about your bill: call me back at 212 555 0100",
                             clock(), actor="ana", transports=transports)
    assert result.sent
    assert bodies()[-1].startswith("Maple Clinic: Hi Maria, about your bill")


def test_a_stop_confirmation_that_opens_a_thread_gets_no_opt_out_line(make_invoice, clock, transports):
    invoice = make_invoice()
    receive_text(invoice.organization, invoice.contact.phone, "+12125550000", "STOP", clock(), transports,
                 provider_id="SM3")
    (confirmation,) = bodies()
    assert confirmation.startswith("Maple Clinic: You are unsubscribed") and "Reply STOP" not in confirmation


def test_a_reply_later_in_the_thread_still_names_the_organization(texted, clock, transports):
    sent = reply(texted, "I'll pay friday", clock, transports)
    assert sent[-1].startswith("Maple Clinic: Thank you!") and "Reply STOP" not in sent[-1]
