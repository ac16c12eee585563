"""HubSpot end to end, over HTTP with the official client against the fake: due dates in from contact
properties, every touch written back as HubSpot's own activities."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.conversations import calls as conversation
from duedesk.engine.models import Enrollment, Step
from duedesk.integrations.crm.models import CrmLink, OutboxItem
from duedesk.integrations.crm.sync import sync_connection
from duedesk.records.models import Call, Contact, Invoice, Message

from .conftest import ledger, patient

pytestmark = pytest.mark.django_db


def crm_id(contact) -> str:
    return CrmLink.objects.get(contact=contact).crm_id


def test_due_dates_in_touches_out_switch_and_balance(hubspot, fake_hubspot, clock, worker, transports):
    ids = fake_hubspot.seed([patient(n) for n in range(1, 6)])

    result = sync_connection(hubspot, clock())
    assert (result.pulled.created, result.pulled.errors) == (5, [])
    invoices = Invoice.objects.filter(organization=hubspot.organization).order_by("pk")
    assert [(i.due_date, str(i.balance)) for i in invoices] == [(date(2026, 12, 10), "120.00")] * 5
    assert Enrollment.objects.filter(status="active").count() == 5

    worker.run_until_idle()  # the heads-up texts, 3 days before the due date
    texts = {m.contact_id: m.body for m in Message.objects.filter(direction="out", channel="sms")}
    assert len(texts) == 5
    sync_connection(hubspot, clock())
    written = [e for e in ledger(fake_hubspot) if e["object"] == "communications"]
    assert len(written) == 5
    for entry in written:
        (assoc,) = entry["associations"]
        contact = CrmLink.objects.get(connection=hubspot, crm_id=assoc["to"]).contact
        assert assoc["type"] == 81
        assert entry["properties"]["hs_communication_body"] == texts[contact.pk]
        assert entry["properties"]["hs_communication_channel_type"] == "SMS"
    assert {e["associations"][0]["to"] for e in written} == set(ids)
    outcome = fake_hubspot.contact(ids[0])["properties"]["duedesk_last_outcome"]
    assert outcome == "Text sent"

    # Five days late: the call. The first patient answers and promises to pay on Friday.
    clock.set(clock().replace(day=15))
    worker.run_until_idle()
    first = Contact.objects.get(crm_links__crm_id=ids[0])
    for call_id in transports.voice.take_placed():
        call = Call.objects.get(pk=call_id)
        if call.contact_id != first.pk:
            conversation.ended(call_id, "no-answer", clock())
            continue
        turn = conversation.answered(call_id, clock())
        for line in ["yes this is me", "march third 1980", "i can pay on friday", "yes that's right",
                     "no thank you bye"]:
            if not turn.listen:
                break
            turn = conversation.heard(call_id, line, clock())
        conversation.ended(call_id, "completed", clock(), duration=90)
    promise = first.promises.get(status="pending")
    sync_connection(hubspot, clock())
    calls = [e for e in ledger(fake_hubspot) if e["object"] == "calls"]
    assert len(calls) == 5
    (answered,) = [c for c in calls if c["associations"][0]["to"] == ids[0]]
    assert answered["associations"][0]["type"] == 194
    assert "Patient: i can pay on friday" in answered["properties"]["hs_call_body"]
    assert "duedesk: Hello, this is an automated assistant" in answered["properties"]["hs_call_body"]
    props = fake_hubspot.contact(ids[0])["properties"]
    assert props["duedesk_promise_date"] == promise.promised_date.isoformat()

    # The switch flipped off in HubSpot: outreach stops within one sync.
    second = Contact.objects.get(crm_links__crm_id=ids[1])
    fake_hubspot.seed([{"id": ids[1], "properties": {"duedesk_outreach": "off"}}])
    sync_connection(hubspot, clock())
    second.refresh_from_db()
    assert second.outreach_on is False
    assert not Step.objects.filter(enrollment__contact=second, status="pending").exists()

    # Balance 0 in HubSpot: paid, pending steps cancelled.
    third = Contact.objects.get(crm_links__crm_id=ids[2])
    fake_hubspot.seed([{"id": ids[2], "properties": {"duedesk_balance": "0"}}])
    sync_connection(hubspot, clock())
    invoice = Invoice.objects.get(contact=third)
    assert invoice.status == "paid" and invoice.balance == 0
    assert not Step.objects.filter(enrollment__invoice=invoice, status__in=Step.PENDING).exists()
    assert Step.objects.filter(enrollment__invoice=invoice, status="cancelled").exists()
    # Nothing failed or waits: every touch was written once.
    assert not OutboxItem.objects.exclude(status="done").exists()
    ledger_ids = [e["properties"].get("duedesk_event_id") for e in ledger(fake_hubspot) if e["op"] == "create"]
    assert len(ledger_ids) == len(set(ledger_ids))


def test_a_bad_value_names_the_contact_and_field_and_the_rest_still_land(hubspot, fake_hubspot, clock):
    bad, good = fake_hubspot.seed([patient(1, phone="12"), patient(2, duedesk_due_date="soon")])[0], None
    fake_hubspot.seed([patient(3)])
    result = sync_connection(hubspot, clock())
    assert result.pulled.created == 1
    assert result.pulled.errors[0] == f"contact {bad}: phone: '12' is not a phone number"
    assert "invoice_due_date" in result.pulled.errors[1]
    hubspot.refresh_from_db()
    assert hubspot.last_pull_error.startswith("2 contact(s) not applied; first: contact ")
    assert Invoice.objects.count() == 1 and good is None
