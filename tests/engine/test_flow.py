from datetime import UTC, date, datetime

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.records.models import Event

pytestmark = pytest.mark.django_db


def test_heads_up_text_three_days_before_due_in_the_window(org, make_invoice, clock, worker):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    step = Step.objects.get(enrollment__invoice=invoice, status="pending")
    assert step.step_id == "heads_up"
    # Dec 7 is 3 days before Dec 10; New York's window opens at 09:00 local = 14:00 UTC.
    assert step.run_at == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert worker.run_until_idle() == 0  # not due yet
    clock.set(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))
    assert worker.run_until_idle() >= 1
    sent = SimulatedSend.objects.get()
    assert "$120.00" in sent.body and "Maple Clinic" in sent.body
    assert sent.body.endswith("Reply STOP to opt out.")
    assert Event.objects.filter(kind="sms.sent", invoice=invoice).count() == 1
