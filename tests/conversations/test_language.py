"""Language: every spelling of a locale ("es-MX", "es-419", "es_US", "ES", "en-GB") is stored as the
language the templates are written in, and a contact is written to wholly in it: the reminder, its amount
and date, the opt-out line and every reply. Checked through the import, the API, the staff form and the
worker's texts on the virtual clock (the STOP confirmation by signed webhook is in
tests/integrations/twilio/test_webhooks.py)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from duedesk.api import auth
from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions, definitions
from duedesk.intake.importer import import_invoices
from duedesk.records.models import Contact, Invoice
from tests.api.test_rest_api import INVOICE, Api
from tests.conversations.conftest import reply

pytestmark = pytest.mark.django_db

HEADER = "external_ref,first_name,last_name,phone,email,timezone,language,date_of_birth,amount_due,currency,due_date"
ENGLISH_WORDS = ("Hi", "Reply STOP", "balance", "You can pay")
SPANISH_WORDS = ("Hola", "Responda ALTO", "saldo", "Puede pagar")


def wholly(text: str, language: str) -> bool:
    """True when the text has the words of `language` and none of the other one."""
    mine, other = (SPANISH_WORDS, ENGLISH_WORDS) if language == "es" else (ENGLISH_WORDS, SPANISH_WORDS)
    return all(w in text for w in mine) and not any(w in text for w in other)


@pytest.mark.parametrize("tag, stored", [
    ("es-MX", "es"), ("es-419", "es"), ("es_US", "es"), ("ES", "es"), ("spa", "es"), ("en-GB", "en"),
    ("EN", "en"), ("en_us", "en"),
])
def test_an_imported_locale_is_stored_as_its_language_and_the_reminder_is_wholly_in_it(org, clock, worker, tag,
                                                                                       stored):
    rows = f"{HEADER}\nL-1,Lucía,Gómez,(212) 555-0177,,America/New_York,{tag},03/03/1980,120.00,USD,2026-12-10\n"
    result = import_invoices(org, io.StringIO(rows, newline=""), clock())
    assert result.errors == []
    invoice = Invoice.objects.get(organization=org, external_ref="L-1")
    assert invoice.contact.language == stored
    worker.tick()  # Monday Dec 7, 10:00 in New York: the heads-up, 3 days before the due date
    (text,) = SimulatedSend.objects.values_list("body", flat=True)
    assert wholly(text, stored), text
    assert ("$120.00" in text) and (("jueves" in text) if stored == "es" else ("Thursday" in text))


def test_the_api_and_the_staff_form_store_the_language_of_a_locale(client, org, clock, monkeypatch, make_contact):
    monkeypatch.setattr(auth, "clock", clock)
    api = Api(client, auth.create_key(org, "billing system", clock()).token)
    assert api.put("/api/v1/invoices/L-2", {**INVOICE, "language": "es-419"}).status_code == 201
    assert Invoice.objects.get(external_ref="L-2").contact.language == "es"

    from django.contrib.auth import get_user_model

    from duedesk.records.models import Membership

    user = get_user_model().objects.create_user("ana", "ana@example.com", "a-long-password-1")
    Membership.objects.create(user=user, organization=org, role="staff")
    client.force_login(user)
    contact = make_contact()
    monkeypatch.setattr("duedesk.web.access.now", clock)
    form = {"first_name": "Ana", "last_name": "Reyes", "phone": "(212) 555-0199", "email": "ana@example.com",
            "zip_code": "", "timezone": "", "language": "es-MX", "date_of_birth": "1980-03-03"}
    response = client.post(f"/contacts/{contact.pk}/edit/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Contact.objects.get(pk=contact.pk).language == "es"


def test_a_locale_stored_before_the_rule_still_gets_one_language(make_invoice, make_contact, clock, worker,
                                                                transports):
    """A contact written with "es-MX" (a CRM field, an older row) gets the Spanish text, not the English
    body under a Spanish opt-out line, and Spanish replies."""
    invoice = make_invoice(contact=make_contact(language="es-MX"))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    (text,) = SimulatedSend.objects.values_list("body", flat=True)
    assert wholly(text, "es"), text
    sent = reply(invoice, "lo pago el viernes", clock, transports)
    assert sent[-1].startswith("Maple Clinic: ¡Gracias!") and "viernes" in sent[-1], sent


def test_a_template_without_spanish_is_wholly_english_for_a_spanish_speaker(org, make_invoice, make_contact,
                                                                            clock, worker):
    source, _ = definitions.shipped_source("default"), None
    english_only = source.replace(
        "    es: >-\n      Hola, le escribe {{ org.name }}. Le recordamos que su saldo de\n"
        "      {{ invoice.amount }} vence el {{ invoice.due_date }}. Puede pagar aquí:\n"
        "      {{ invoice.pay_link }}\n", "")
    assert english_only != source
    definitions.save_version(org, org.workflow_slug, english_only)
    invoice = make_invoice(contact=make_contact(language="es-MX"), due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    (text,) = SimulatedSend.objects.values_list("body", flat=True)
    assert wholly(text, "en"), text
    assert "Thursday" in text
