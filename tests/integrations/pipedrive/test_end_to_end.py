"""Pipedrive end to end, over HTTP with the thin client against the fake: due dates in from person fields,
every text written back as an activity on the person, the switch and the balance obeyed within one sync."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.conversations import calls as conversation
from duedesk.engine.models import Enrollment, Step
from duedesk.integrations.crm.mapping import set_mapping
from duedesk.integrations.crm.models import CrmLink, OutboxItem
from duedesk.integrations.crm.sync import sync_connection
from duedesk.records.models import Call, Contact, Invoice, Message

from .conftest import ledger, person

pytestmark = pytest.mark.django_db


def test_connect_makes_the_person_fields_and_the_text_type(pipedrive, fake_pipedrive):
    names = {f["name"]: f for f in fake_pipedrive.fields}
    for name in ("duedesk_due_date", "duedesk_balance", "duedesk_invoice_ref", "duedesk_outreach",
                 "duedesk_last_outcome", "duedesk_promise_date"):
        assert names[name]["edit_flag"] is True
    assert names["duedesk_due_date"]["field_type"] == "date"
    assert [o["label"] for o in names["duedesk_outreach"]["options"]] == ["on", "off"]
    assert "text_message" in {t["key_string"] for t in fake_pipedrive.types}
    assert (pipedrive.rate_limit, pipedrive.rate_window) == (40, 2.0)


def test_due_dates_in_texts_out_switch_and_balance(pipedrive, fake_pipedrive, clock, worker, transports):
    # The clinic keeps dates of birth in a person field of its own (the call checks identity with it).
    fake_pipedrive._new_field({"name": "Date of birth", "field_type": "date"})
    set_mapping(pipedrive, {"date_of_birth": "Date of birth"})
    ids = fake_pipedrive.seed([person(n, **{"Date of birth": "1980-03-03"}) for n in range(1, 6)])

    result = sync_connection(pipedrive, clock())
    assert (result.pulled.created, result.pulled.errors) == (5, [])
    assert [c.date_of_birth for c in Contact.objects.all()] == [date(1980, 3, 3)] * 5
    invoices = Invoice.objects.filter(organization=pipedrive.organization).order_by("pk")
    assert [(i.due_date, str(i.balance)) for i in invoices] == [(date(2026, 12, 10), "120.00")] * 5
    assert Enrollment.objects.filter(status="active").count() == 5

    worker.run_until_idle()  # the heads-up texts, 3 days before the due date
    texts = {m.contact_id: m.body for m in Message.objects.filter(direction="out", channel="sms")}
    assert len(texts) == 5
    sync_connection(pipedrive, clock())
    written = [e for e in ledger(fake_pipedrive) if e["object"] == "activity"]
    texts_written = written
    assert len(written) == 5
    for entry in written:
        (assoc,) = entry["associations"]
        contact = CrmLink.objects.get(connection=pipedrive, crm_id=assoc["to"]).contact
        assert entry["properties"]["type"] == "text_message" and entry["properties"]["done"] is True
        assert entry["properties"]["note"].startswith(texts[contact.pk] + "\n\nduedesk ref: duedesk-event-")
    assert {e["associations"][0]["to"] for e in written} == set(ids)
    assert fake_pipedrive.custom(ids[0], "duedesk_last_outcome") == "Text sent"

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
    sync_connection(pipedrive, clock())
    calls = [e for e in ledger(fake_pipedrive) if e["object"] == "activity" and e["properties"]["type"] == "call"]
    assert len(calls) == 5
    (answered,) = [c for c in calls if c["associations"][0]["to"] == ids[0]]
    assert "Patient: i can pay on friday" in answered["properties"]["note"]
    assert "duedesk: Hello, this is an automated assistant" in answered["properties"]["note"]
    assert fake_pipedrive.custom(ids[0], "duedesk_promise_date") == promise.promised_date.isoformat()

    # The switch flipped off in Pipedrive: outreach stops within one sync.
    second = Contact.objects.get(crm_links__crm_id=ids[1])
    fake_pipedrive.seed([{"id": ids[1], "duedesk_outreach": "off"}])
    sync_connection(pipedrive, clock())
    second.refresh_from_db()
    assert second.outreach_on is False
    assert not Step.objects.filter(enrollment__contact=second, status="pending").exists()

    # Balance 0 in Pipedrive: paid, pending steps cancelled.
    third = Contact.objects.get(crm_links__crm_id=ids[2])
    fake_pipedrive.seed([{"id": ids[2], "duedesk_balance": 0}])
    sync_connection(pipedrive, clock())
    invoice = Invoice.objects.get(contact=third)
    assert invoice.status == "paid" and invoice.balance == 0
    assert not Step.objects.filter(enrollment__invoice=invoice, status__in=Step.PENDING).exists()
    assert Step.objects.filter(enrollment__invoice=invoice, status="cancelled").exists()

    # Nothing failed or waits: every touch was written once.
    assert not OutboxItem.objects.exclude(status="done").exists()
    keys = [e["properties"]["note"].rsplit("duedesk ref: ", 1)[1] for e in ledger(fake_pipedrive)
            if e["object"] == "activity"]
    assert len(keys) == len(texts_written) + len(calls)
    assert len(keys) == len(set(keys))


def test_the_incremental_pull_reads_only_what_changed_since_the_cursor(pipedrive, fake_pipedrive, clock):
    ids = fake_pipedrive.seed([person(n) for n in range(1, 4)])
    sync_connection(pipedrive, clock())
    pipedrive.refresh_from_db()
    assert pipedrive.full_sync_done and pipedrive.cursor == fake_pipedrive.person(ids[-1])["update_time"]
    fake_pipedrive.seed([{"id": ids[0], "duedesk_due_date": "2026-12-20"}])
    result = sync_connection(pipedrive, clock())
    # The person changed since, and the one at the cursor itself (updated_since is "at or after"), unchanged.
    assert (result.pulled.seen, result.pulled.changed) == (2, 1)
    invoice = Invoice.objects.get(contact__crm_links__crm_id=ids[0])
    assert invoice.due_date == date(2026, 12, 20)


def test_a_bad_value_names_the_person_and_field_and_the_rest_still_land(pipedrive, fake_pipedrive, clock):
    bad = fake_pipedrive.seed([person(1, phone="12")])[0]
    fake_pipedrive.seed([person(2)])
    result = sync_connection(pipedrive, clock())
    assert result.pulled.created == 1
    assert result.pulled.errors == [f"contact {bad}: phone: '12' is not a phone number"]
    assert Invoice.objects.count() == 1
