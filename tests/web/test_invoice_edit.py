"""Changing an invoice's due date or amount from the contact page: through engine.update_invoice, which
re-plans outreach; errors name the field; other organizations get 404 and viewers 403."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from duedesk.engine.models import Step
from duedesk.records.models import Event, Invoice

pytestmark = pytest.mark.django_db


def _post(client, invoice, due="2027-01-15", amount="250.00"):
    return client.post(f"/invoices/{invoice.pk}/edit/",
                       {f"inv{invoice.pk}-due_date": due, f"inv{invoice.pk}-amount_due": amount})


def _pending(invoice):
    return list(Step.objects.filter(enrollment__invoice=invoice, status="pending").values_list("step_id", "run_at"))


def test_the_contact_page_offers_the_form_with_current_values(login, staff, case):
    invoice = case["invoice"]
    page = login(staff).get(f"/contacts/{case['contact'].pk}/").content.decode()
    assert f'action="/invoices/{invoice.pk}/edit/"' in page
    assert 'value="2026-12-01"' in page and 'value="300.00"' in page


def test_new_due_date_and_amount_replan_outreach(login, staff, case):
    invoice = case["invoice"]
    before = _pending(invoice)
    response = _post(login(staff), invoice, due="2027-01-15", amount="250.00")
    assert response.status_code == 302 and response["Location"] == f"/contacts/{case['contact'].pk}/"
    invoice.refresh_from_db()
    assert invoice.due_date == date(2027, 1, 15) and invoice.amount_due == Decimal("250.00")
    assert invoice.balance == Decimal("250.00")
    after = _pending(invoice)
    assert after and after != before  # the waiting step was planned again from the new date
    assert all(run_at.date() >= date(2026, 12, 7) for _, run_at in after)
    event = Event.objects.get(kind="invoice.updated")
    assert event.actor == f"staff:{staff.username}"
    assert event.detail["due_date"] == {"from": "2026-12-01", "to": "2027-01-15"}
    assert Event.objects.filter(kind="enrollment.replanned", invoice=invoice).exists()
    page = login(staff).get(f"/contacts/{case['contact'].pk}/").content.decode()
    assert "Invoice updated" in page and "due date Dec 1, 2026 → Jan 15, 2027" in page
    assert "Reminders re-planned" in page


def test_amount_keeps_payments_already_recorded(login, staff, case):
    invoice = case["invoice"]
    client = login(staff)
    client.post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": "100",
                                                  f"pay{invoice.pk}-paid_on": "2026-12-07"})
    _post(client, invoice, due="2026-12-01", amount="350.00")
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("350.00") and invoice.balance == Decimal("250.00")


def test_amount_at_or_below_what_was_paid_closes_the_invoice(login, staff, case):
    invoice = case["invoice"]
    client = login(staff)
    client.post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": "100",
                                                  f"pay{invoice.pk}-paid_on": "2026-12-07"})
    response = _post(client, invoice, due="2026-12-01", amount="100.00")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance == 0
    assert not _pending(invoice)
    assert "nothing is left to pay" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("due, amount, message", [
    ("", "250.00", "Due date: this field is required."),
    ("15/01/2027", "250.00", "Due date: enter a date like 2027-01-15."),
    ("2027-01-15", "", "Amount: this field is required."),
    ("2027-01-15", "abc", "Amount: enter a number like 120.00."),
    ("2027-01-15", "0", "Amount: must be more than zero."),
    ("2027-01-15", "-5", "Amount: must be more than zero."),
    ("2027-01-15", "12.345", "Amount: at most 2 decimal places (cents)."),
])
def test_errors_name_the_field_and_change_nothing(login, staff, case, due, amount, message):
    invoice = case["invoice"]
    before = (Invoice.objects.filter(pk=invoice.pk).values().get(), _pending(invoice), Event.objects.count())
    response = _post(login(staff), invoice, due=due, amount=amount)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "<details class=\"invoice-edit\" open>" in page  # the form is open where the error is
    assert (Invoice.objects.filter(pk=invoice.pk).values().get(), _pending(invoice), Event.objects.count()) == before


def test_closed_invoices_cannot_be_edited(login, staff, case, clock):
    from duedesk.engine import actions

    invoice = case["invoice"]
    actions.mark_invoice_paid(invoice, clock())
    client = login(staff)
    assert f'action="/invoices/{invoice.pk}/edit/"' not in client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    response = _post(client, invoice)
    invoice.refresh_from_db()
    assert response.status_code == 302 and invoice.due_date == date(2026, 12, 1)
    assert "can no longer be changed" in client.get(response["Location"]).content.decode()


def test_another_organization_gets_404_and_nothing_changes(login, outsider, case):
    invoice = case["invoice"]
    assert _post(login(outsider), invoice).status_code == 404
    invoice.refresh_from_db()
    assert invoice.due_date == date(2026, 12, 1) and invoice.amount_due == Decimal("300.00")
    assert not Event.objects.filter(kind="invoice.updated").exists()


def test_viewer_gets_403_and_sees_no_form(login, viewer, case):
    invoice = case["invoice"]
    client = login(viewer)
    assert "/edit/\"" not in client.get(f"/contacts/{case['contact'].pk}/").content.decode().replace(
        f"/contacts/{case['contact'].pk}/edit/\"", "")
    assert _post(client, invoice).status_code == 403
    invoice.refresh_from_db()
    assert invoice.due_date == date(2026, 12, 1) and invoice.amount_due == Decimal("300.00")


def test_edit_needs_login(client, case):
    response = _post(client, case["invoice"])
    assert response.status_code == 302 and response["Location"].startswith("/login/")
