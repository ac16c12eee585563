"""One batch, several organizations: what the batch keeps while it works (the workflow version last parsed, the
text templates read directly, each window cut to the legal hours) is each organization's own."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions, definitions
from duedesk.engine.models import Step
from duedesk.records.models import Event, Organization

pytestmark = pytest.mark.django_db

HEADS_UP_DAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York, three days before Dec 10


def _other(**kw) -> Organization:
    other = Organization.objects.create(slug="other-clinic", name="Oak Dental", timezone="America/New_York",
                                        callback_number="+12125550111", **kw)
    source = definitions.shipped_source("default").replace("A friendly reminder that your", "Just so you know, your")
    assert source != definitions.shipped_source("default")
    definitions.save_version(other, other.workflow_slug, source)
    return other


def _interleaved(org, other, make_contact, make_invoice, clock) -> list:
    clock.set(HEADS_UP_DAY)
    invoices = []
    for n in range(6):
        owner = org if n % 2 == 0 else other
        invoices.append(make_invoice(contact=make_contact(organization=owner), due=date(2026, 12, 10)))
        actions.enroll_invoice(invoices[-1], clock())
    Step.objects.filter(step_id="heads_up").update(run_at=clock())  # all due now: one batch, in turn
    return invoices


def test_each_organization_in_a_batch_gets_its_own_workflow_text(org, make_contact, make_invoice, clock, worker,
                                                                 monkeypatch):
    from duedesk.engine.batch import BatchRunner

    other = _other()
    invoices = _interleaved(org, other, make_contact, make_invoice, clock)
    batches = []
    original = BatchRunner.run
    monkeypatch.setattr(BatchRunner, "run", lambda self, ids, c: batches.append(len(ids)) or original(self, ids, c))
    worker.tick()
    assert batches[0] == 6
    sent = dict(SimulatedSend.objects.values_list("to", "body"))
    for n, invoice in enumerate(invoices):
        expected = "Hi, this is Maple Clinic. A friendly" if n % 2 == 0 else "Hi, this is Oak Dental. Just so you know"
        assert sent[invoice.contact.phone].startswith(expected), sent[invoice.contact.phone]
        enrollment = invoice.enrollments.get()
        assert enrollment.workflow.organization_id == (org.pk if n % 2 == 0 else other.pk)
        assert enrollment.current_step == "past_due"


def test_each_organization_in_a_batch_keeps_its_own_send_window(org, make_contact, make_invoice, clock, worker):
    other = _other(window_start=time(11), window_end=time(17))
    invoices = _interleaved(org, other, make_contact, make_invoice, clock)
    worker.tick()  # 10:00 in New York: Maple Clinic's window (09:00) is open, Oak Dental's (11:00) is not
    sent = dict(SimulatedSend.objects.values_list("to", "body"))
    for n, invoice in enumerate(invoices):
        step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
        if n % 2 == 0:
            assert step.status == "done" and invoice.contact.phone in sent
        else:
            assert (step.status, step.run_at) == ("pending", datetime(2026, 12, 7, 16, 0, tzinfo=UTC))
            assert invoice.contact.phone not in sent
            assert Event.objects.get(invoice=invoice, kind="step.deferred").detail["rule"] == "send_window"
