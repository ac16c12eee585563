"""Money adds up: what is paid beyond the balance is kept as credit, and a refund gives the credit back first."""

from decimal import Decimal

import pytest

from duedesk.engine import actions
from duedesk.records.models import Handoff

pytestmark = pytest.mark.django_db


def test_an_overpayment_is_credit_and_a_refund_gives_it_back_first(make_invoice, clock):
    invoice = make_invoice(amount="100.00")
    invoice = actions.record_payment(invoice, Decimal("150.00"), clock(), actor="stripe")
    assert (invoice.status, invoice.balance, invoice.credit) == ("paid", Decimal("0"), Decimal("50.00"))
    assert Handoff.objects.get(invoice=invoice).reason == "overpaid"
    invoice = actions.record_refund(invoice, Decimal("50.00"), clock(), actor="stripe")
    assert (invoice.status, invoice.balance, invoice.credit) == ("paid", Decimal("0"), Decimal("0"))
    invoice = actions.record_refund(invoice, Decimal("30.00"), clock(), actor="stripe")
    assert (invoice.status, invoice.balance, invoice.credit) == ("open", Decimal("30.00"), Decimal("0"))


def test_a_processor_payment_on_a_paid_invoice_lands_as_credit_but_a_reported_one_is_refused(make_invoice, clock):
    invoice = make_invoice(amount="100.00")
    actions.record_payment(invoice, Decimal("100.00"), clock())
    with pytest.raises(actions.InvoiceClosed):
        actions.record_payment(invoice, Decimal("20.00"), clock(), refuse_if_closed=True)
    invoice = actions.record_payment(invoice, Decimal("20.00"), clock(), actor="stripe")
    assert invoice.credit == Decimal("20.00")
