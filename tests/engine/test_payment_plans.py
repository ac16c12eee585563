"""A payment plan: reminders per instalment, any payment moves it on, a missed one goes to a person."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions
from duedesk.inbox.actions import set_payment_plan

pytestmark = pytest.mark.django_db


def test_any_payment_settles_instalments_in_order(make_invoice, clock):
    invoice = make_invoice(amount="300.00", due=date(2026, 11, 20))
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    set_payment_plan(invoice, [(date(2026, 12, 15), Decimal("100")), (date(2027, 1, 15), Decimal("100")),
                               (date(2027, 2, 15), Decimal("100"))], clock(), actor="staff:test")
    actions.record_payment(invoice, Decimal("100.00"), clock(), source="card processor")
    statuses = list(invoice.instalments.order_by("due_date").values_list("status", flat=True))
    assert statuses == ["paid", "pending", "pending"]


def test_missed_instalment_opens_a_handoff(make_invoice, clock, worker):
    invoice = make_invoice(amount="200.00", due=date(2026, 11, 20))
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    set_payment_plan(invoice, [(date(2026, 12, 15), Decimal("100")), (date(2027, 1, 15), Decimal("100"))], clock(),
                     actor="staff:test")
    for day in range(14, 22):
        clock.set(datetime(2026, 12, day, 15, 0, tzinfo=UTC))
        worker.run_until_idle()
    texts = list(SimulatedSend.objects.values_list("body", flat=True))
    assert len(texts) == 1 and "instalment" in texts[0]  # the day before the 15th
    handoff = invoice.handoffs.get()
    assert handoff.reason == "missed_instalment"
