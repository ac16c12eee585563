from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from duedesk.engine.models import Enrollment, Step
from duedesk.intake.crm_fields import CrmFieldError, apply_contact_fields
from duedesk.records.models import Event, Invoice

pytestmark = pytest.mark.django_db


def pending(invoice):
    return Step.objects.get(enrollment__invoice=invoice, status="pending")


def test_fields_are_merged_and_each_call_writes_contact_updated(make_contact, clock):
    contact = make_contact(fields={"plan": "gold"})
    contact = apply_contact_fields(contact, {"clinic": "north", "plan": "silver"}, clock())
    assert contact.fields == {"plan": "silver", "clinic": "north"}
    event = Event.objects.get(kind="contact.updated", contact=contact)
    assert event.actor == "crm" and event.detail["fields"] == ["clinic", "plan"]
    assert not Invoice.objects.exists()
    apply_contact_fields(contact, {"clinic": "north"}, clock())
    assert Event.objects.filter(kind="contact.updated", contact=contact).count() == 2


def test_a_due_date_and_balance_create_the_invoice_and_enroll_it(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "12/20/2026", "balance": "85.50"}, clock())
    invoice = Invoice.objects.get(contact=contact)
    assert invoice.external_ref == f"CRM-{contact.pk}"
    assert (invoice.due_date, invoice.amount_due, invoice.balance) == (date(2026, 12, 20), Decimal("85.50"),
                                                                       Decimal("85.50"))
    assert pending(invoice).run_at == datetime(2026, 12, 17, 14, 0, tzinfo=UTC)
    contact.refresh_from_db()
    assert contact.fields["invoice_due_date"] == "2026-12-20" and contact.fields["balance"] == "85.50"
    kinds = list(Event.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["contact.updated", "invoice.created", "enrollment.started"]


def test_the_invoice_reference_can_come_from_the_crm(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "2026-12-20", "balance": 10, "invoice_ref": "HS-77"},
                         clock())
    assert Invoice.objects.get(contact=contact).external_ref == "HS-77"


def test_a_changed_due_date_replans_the_pending_step(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "2026-12-20", "balance": "85.50"}, clock())
    invoice = Invoice.objects.get(contact=contact)
    first = pending(invoice)
    clock.advance(days=1)
    apply_contact_fields(contact, {"invoice_due_date": "2027-01-15"}, clock())
    invoice.refresh_from_db()
    assert invoice.due_date == date(2027, 1, 15)
    first.refresh_from_db()
    assert first.status == "cancelled"
    step = pending(invoice)
    assert step.step_id == "heads_up" and step.run_at == datetime(2027, 1, 12, 14, 0, tzinfo=UTC)
    assert Event.objects.filter(kind="enrollment.replanned", invoice=invoice).count() == 1
    assert Enrollment.objects.filter(invoice=invoice).count() == 1


def test_a_zero_balance_marks_the_invoice_paid_and_stops_outreach(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "2026-12-20", "balance": "85.50"}, clock())
    invoice = Invoice.objects.get(contact=contact)
    step = pending(invoice)
    clock.advance(days=2)
    apply_contact_fields(contact, {"balance": "0"}, clock())
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance == 0
    enrollment = Enrollment.objects.get(invoice=invoice)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "paid")
    step.refresh_from_db()
    assert step.status == "cancelled"
    assert Event.objects.filter(kind="payment.recorded", invoice=invoice, actor="crm").count() == 1


def test_a_balance_owed_again_reopens_the_invoice(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "2026-12-20", "balance": "85.50"}, clock())
    apply_contact_fields(contact, {"balance": 0}, clock())
    apply_contact_fields(contact, {"balance": "40.00"}, clock())
    invoice = Invoice.objects.get(contact=contact)
    assert (invoice.status, invoice.balance) == ("open", Decimal("40.00"))
    assert pending(invoice).step_id == "heads_up"


def test_outreach_off_holds_steps_and_on_makes_them_pending_again(make_contact, clock):
    contact = make_contact()
    apply_contact_fields(contact, {"invoice_due_date": "2026-12-20", "balance": "85.50"}, clock())
    invoice = Invoice.objects.get(contact=contact)
    step = pending(invoice)
    contact = apply_contact_fields(contact, {"outreach": "off"}, clock())
    step.refresh_from_db()
    assert contact.outreach_on is False and step.status == "held"
    assert Enrollment.objects.get(invoice=invoice).status == "paused"
    contact = apply_contact_fields(contact, {"outreach": "Yes"}, clock())
    step.refresh_from_db()
    assert contact.outreach_on is True and step.status == "pending"
    assert Event.objects.filter(kind__in=("outreach.off", "outreach.on"), actor="crm").count() == 2
    for word, on in (("false", False), ("true", True), ("no", False), ("on", True)):
        assert apply_contact_fields(contact, {"outreach": word}, clock()).outreach_on is on


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"invoice_due_date": "next week", "balance": "5"}, "invoice_due_date", "'next week' is not a date"),
        ({"invoice_due_date": "2026-12-20", "balance": "lots"}, "balance", "'lots' is not an amount"),
        ({"invoice_due_date": "2026-12-20", "balance": "-3"}, "balance", "'-3' is negative"),
        ({"invoice_due_date": "2026-12-20"}, "balance", "is needed to start reminders for a new invoice"),
        ({"outreach": "maybe"}, "outreach", "'maybe' is not on or off"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(make_contact, clock, fields, field, message):
    contact = make_contact(fields={"plan": "gold"})
    with pytest.raises(CrmFieldError) as raised:
        apply_contact_fields(contact, {**fields, "plan": "silver"}, clock())
    assert raised.value.field == field and raised.value.message.startswith(message)
    contact.refresh_from_db()
    assert contact.fields == {"plan": "gold"}
    assert not Invoice.objects.exists() and not Event.objects.filter(contact=contact).exists()


def test_another_contacts_invoice_is_not_taken_over(make_contact, make_invoice, clock):
    invoice = make_invoice()
    contact = make_contact()
    with pytest.raises(CrmFieldError, match="is another contact's invoice"):
        apply_contact_fields(contact, {"invoice_ref": invoice.external_ref, "invoice_due_date": "2026-12-24"},
                             clock())
    invoice.refresh_from_db()
    assert invoice.due_date == date(2026, 12, 10)
