"""A signed inbound text from a contact whose language is any locale of Spanish ("es-MX", "es-419",
"es_US") is answered wholly in Spanish: the STOP confirmation, HELP, and the replies to what they wrote."""

from __future__ import annotations

import pytest

from duedesk.records.models import Message
from tests.integrations.twilio.conftest import CLINIC_NUMBER, payload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("tag", ["es-MX", "es_US", "ES"])  # as stored (the column holds 5 characters)
@pytest.mark.parametrize("body, spanish, english", [
    ("STOP", "Se ha dado de baja", "unsubscribed"),
    ("AYUDA", "Llámenos al", "Call us at"),
    ("ya pagué", "Revisaremos nuestros registros", "check our records"),
])
def test_a_spanish_locale_gets_its_confirmation_and_replies_in_spanish(tag, body, spanish, english, twilio_post,
                                                                      hook_clock, connected_org, make_contact,
                                                                      make_invoice):
    contact = make_contact(language=tag)
    make_invoice(contact=contact)
    params = payload("sms_inbound", To=CLINIC_NUMBER, From=contact.phone, Body=body)
    answer = twilio_post.post("/hooks/twilio/sms", params)
    assert answer.status_code == 200
    # The reply is recorded as an outbound text and given back in the webhook's TwiML <Message>.
    (text,) = Message.objects.filter(direction="out", channel="sms").values_list("body", flat=True)
    assert spanish in text and english not in text, text
    assert spanish in answer.content.decode()
