"""Every CRM end to end, over HTTP with its real client library against its fake: due dates in from the
contact's fields, five patients enrolled, their heads-up texts written back as the CRM's own activities on
the right contacts, a call with a promise written with its transcript and the promise date set, the switch
flipped off in the CRM obeyed within one sync, a balance of 0 marking the invoice paid."""

from __future__ import annotations

from datetime import date

import pytest

from duedesk.conversations import calls as conversation
from duedesk.engine.models import Enrollment, Step
from duedesk.integrations.crm.models import OutboxItem
from duedesk.integrations.crm.sync import sync_connection
from duedesk.records.models import Call, Contact, Invoice, Message

pytestmark = pytest.mark.django_db


def test_due_dates_in_touches_out_switch_and_balance(crm, clock, worker, transports):
    conn = crm.conn
    ids = crm.seed([crm.patient(n) for n in range(1, 6)])

    result = sync_connection(conn, clock())
    assert (result.pulled.created, result.pulled.errors) == (5, [])
    assert [c.date_of_birth for c in Contact.objects.all()] == [date(1980, 3, 3)] * 5
    invoices = Invoice.objects.filter(organization=conn.organization).order_by("pk")
    assert [(i.due_date, str(i.balance)) for i in invoices] == [(date(2026, 12, 10), "120.00")] * 5
    assert Enrollment.objects.filter(status="active").count() == 5

    worker.run_until_idle()  # the heads-up texts, 3 days before the due date
    texts = {m.contact_id: m.body for m in Message.objects.filter(direction="out", channel="sms")}
    assert len(texts) == 5
    sync_connection(conn, clock())
    written = crm.texts()
    assert len(written) == 5
    for entry in written:
        assert crm.text_body(entry) == texts[crm.linked(entry).pk]
        crm.check_text(entry)
    assert {crm.contact_of(e) for e in written} == set(ids)
    assert crm.value(ids[0], "last_outcome") == "Text sent"

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
    sync_connection(conn, clock())
    calls = crm.calls()
    assert len(calls) == 5
    (answered,) = [c for c in calls if crm.contact_of(c) == ids[0]]
    crm.check_call(answered)
    assert "Patient: i can pay on friday" in crm.call_body(answered)
    assert "duedesk: Hello, this is an automated assistant" in crm.call_body(answered)
    assert crm.value(ids[0], "promise_date") == promise.promised_date.isoformat()

    # The switch flipped off in the CRM: outreach stops within one sync.
    second = Contact.objects.get(crm_links__crm_id=ids[1])
    crm.change(ids[1], outreach="off")
    sync_connection(conn, clock())
    second.refresh_from_db()
    assert second.outreach_on is False
    assert not Step.objects.filter(enrollment__contact=second, status="pending").exists()

    # Balance 0 in the CRM: paid, pending steps cancelled.
    third = Contact.objects.get(crm_links__crm_id=ids[2])
    crm.change(ids[2], balance=0)
    sync_connection(conn, clock())
    invoice = Invoice.objects.get(contact=third)
    assert invoice.status == "paid" and invoice.balance == 0
    assert not Step.objects.filter(enrollment__invoice=invoice, status__in=Step.PENDING).exists()
    assert Step.objects.filter(enrollment__invoice=invoice, status="cancelled").exists()

    # Nothing failed or waits: every touch was written once.
    assert not OutboxItem.objects.exclude(status="done").exists()
    keys = crm.created_keys()
    assert len(keys) >= len(written) + len(calls)
    assert len(keys) == len(set(keys))


def test_the_incremental_pull_reads_only_what_changed_since_the_cursor(crm, clock):
    ids = crm.seed([crm.patient(n) for n in range(1, 4)])
    sync_connection(crm.conn, clock())
    crm.conn.refresh_from_db()
    assert crm.conn.full_sync_done and crm.conn.cursor
    crm.change(ids[0], due_date="2026-12-20")
    result = sync_connection(crm.conn, clock())
    # The contact changed since, and perhaps the one at the cursor itself ("at or after"), unchanged.
    assert result.pulled.changed == 1 and result.pulled.seen <= 2
    invoice = Invoice.objects.get(contact__crm_links__crm_id=ids[0])
    assert invoice.due_date == date(2026, 12, 20)


def test_a_bad_value_names_the_contact_and_field_and_the_rest_still_land(crm, clock):
    bad_phone = crm.seed([crm.patient(1, phone="12")])[0]
    bad_date = crm.seed([crm.patient(2, due_date="soon")])[0]
    crm.seed([crm.patient(3)])
    result = sync_connection(crm.conn, clock())
    assert result.pulled.created == 1
    assert result.pulled.errors[0] == f"contact {bad_phone}: phone: '12' is not a phone number"
    assert result.pulled.errors[1].startswith(f"contact {bad_date}: invoice_due_date: ")
    crm.conn.refresh_from_db()
    assert crm.conn.last_pull_error.startswith("2 contact(s) not applied; first: contact ")
    assert Invoice.objects.count() == 1


def test_a_handoff_is_a_task_for_the_connections_owner(crm, clock):
    from duedesk.engine import actions

    (crm_id,) = crm.seed([crm.patient(1)])
    sync_connection(crm.conn, clock())
    person = Contact.objects.get(crm_links__crm_id=crm_id)
    handoff = actions.open_handoff(person, "hardship", clock(), summary="Lost her job; asks for a plan")
    sync_connection(crm.conn, clock())
    ((owner, subject, body),) = crm.tasks()
    assert owner == crm.conn.owner_id
    assert subject == "duedesk handoff: Hardship — Maria Lopez1"
    assert body.startswith("Reason: Hardship\nSummary: Lost her job; asks for a plan\nOpen in duedesk: ")
    assert body.endswith(f"/inbox/{handoff.pk}/")
    assert crm.value(crm_id, "last_outcome") == "Needs a person: Hardship"
