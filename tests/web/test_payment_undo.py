"""Undoing a payment recorded by mistake: the balance reopens, reminders start again, and the timeline keeps
both the payment and why it was taken off."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.inbox import actions as inbox
from duedesk.records.models import Event, Invoice

pytestmark = pytest.mark.django_db


def pay(client, invoice, amount: str):
    return client.post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": amount,
                                                         f"pay{invoice.pk}-paid_on": "2026-12-07",
                                                         f"pay{invoice.pk}-method": "check",
                                                         f"pay{invoice.pk}-reference": "1042"})


def the_payment(invoice) -> Event:
    return Event.objects.filter(invoice=invoice, kind="payment.recorded").latest("pk")


def test_a_bounced_check_is_undone_and_reminders_start_again(login, staff, make_invoice, clock):
    invoice = make_invoice(amount="120.00", due=date(2026, 12, 20))
    actions.enroll_invoice(invoice, clock())
    client = login(staff)
    pay(client, invoice, "120.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and not Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()

    page = client.get(f"/contacts/{invoice.contact_id}/").content.decode()
    assert "Undo payment" in page and "1042" in page
    clock.advance(days=2)
    response = client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "check bounced"}, follow=True)
    text = response.content.decode()
    assert "Payment undone on" in text and "balance $120.00" in text

    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("open", Decimal("120.00"))
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()  # outreach re-planned
    undone = Event.objects.get(invoice=invoice, kind="payment.undone")
    assert undone.actor == f"staff:{staff.username}" and undone.detail["reason"] == "check bounced"
    assert "$120.00 taken off again · balance $120.00 · check bounced" in text  # the timeline, in words
    assert "Undone" in text

    export = b"".join(client.get("/payments/export.csv").streaming_content).decode().splitlines()
    assert [line.split(",")[1] for line in export[1:]] == ["Payment recorded", "Payment undone"]
    assert export[2].endswith(",check bounced")

    again = client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "twice"}, follow=True)
    assert "already undone" in again.content.decode()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("120.00") and Event.objects.filter(kind="payment.undone").count() == 1


def test_an_undo_needs_a_reason(login, staff, make_invoice):
    invoice = make_invoice(amount="120.00")
    client = login(staff)
    pay(client, invoice, "50.00")
    response = client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "  "}, follow=True)
    assert "say why the payment is undone" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("70.00") and not Event.objects.filter(kind="payment.undone").exists()


def test_a_partial_payment_undone_keeps_the_running_reminders(login, staff, make_invoice, clock):
    invoice = make_invoice(amount="120.00", due=date(2026, 12, 20))
    actions.enroll_invoice(invoice, clock())
    client = login(staff)
    pay(client, invoice, "20.00")
    client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "wrong invoice"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("open", Decimal("120.00"))
    assert invoice.enrollments.filter(status="active").count() == 1
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").count() == 1


def test_an_overpayment_undone_takes_its_credit_back_first(login, staff, make_invoice):
    invoice = make_invoice(amount="100.00")
    client = login(staff)
    pay(client, invoice, "150.00")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.credit) == (Decimal("0"), Decimal("50.00"))
    client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "meant for her son's invoice"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance, invoice.credit) == ("open", Decimal("100.00"), Decimal("0"))


def test_an_instalment_the_payment_settled_is_due_again(make_invoice, clock):
    invoice = make_invoice(amount="300.00")
    inbox.set_payment_plan(invoice, [(date(2027, 1, 15), Decimal("100.00")), (date(2027, 2, 15), Decimal("200.00"))],
                           clock(), actor="staff:lee")
    invoice = actions.record_payment(invoice, Decimal("100.00"), clock(), actor="staff:lee")
    assert list(invoice.instalments.order_by("due_date").values_list("status", flat=True)) == ["paid", "pending"]
    actions.record_payment(invoice, Decimal("200.00"), clock(), actor="staff:lee")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    clock.advance(hours=1)
    actions.undo_payment(the_payment(invoice), clock(), actor="staff:lee", reason="card declined")
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.status, invoice.balance) == ("in_plan", Decimal("200.00"))
    assert list(invoice.instalments.order_by("due_date").values_list("status", flat=True)) == ["paid", "pending"]
    live = invoice.enrollments.get(status="active")
    assert live.workflow.slug == inbox.PLAN_SLUG  # back on the plan's reminders, not the first workflow


def test_a_card_payment_is_undone_by_a_refund_not_here(login, staff, make_invoice, clock):
    invoice = make_invoice(amount="80.00")
    actions.record_payment(invoice, Decimal("80.00"), clock() - timedelta(hours=1), actor="stripe", source="card")
    client = login(staff)
    assert "Undo payment" not in client.get(f"/contacts/{invoice.contact_id}/").content.decode()
    response = client.post(f"/payments/{the_payment(invoice).pk}/undo/", {"reason": "x"}, follow=True)
    assert "refunding it in Stripe" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "paid"
