"""Invoice.first_texted_at / first_called_at: set with the sms.sent / call.placed event that makes an invoice
"texted" or "called" for the overview's funnel, on every path that writes one, and filled in by the migration."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest

from duedesk.engine import actions, definitions
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.engine.runner import StepRunner
from duedesk.engine.worker import claim
from duedesk.records import metrics
from duedesk.records.models import Event, Invoice
from duedesk.records.timeline import log

pytestmark = pytest.mark.django_db

HEADS_UP_DAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York, three days before Dec 10


def _first(invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.first_texted_at, invoice.first_called_at


def _event_times(invoice, kind) -> list[datetime]:
    return list(Event.objects.filter(invoice=invoice, kind=kind).order_by("at").values_list("at", flat=True))


def test_texts_settled_in_a_batch_set_first_texted_at(make_invoice, clock, worker, monkeypatch):
    from duedesk.engine.batch import BatchRunner

    settled = []
    original = BatchRunner._settle
    monkeypatch.setattr(BatchRunner, "_settle", lambda self, steps, *a: settled.append(len(steps)) or
                        original(self, steps, *a))
    invoices = [make_invoice(due=date(2026, 12, 10)) for _ in range(3)]
    clock.set(HEADS_UP_DAY)
    for invoice in invoices:
        actions.enroll_invoice(invoice, clock())
    assert all(_first(invoice) == (None, None) for invoice in invoices)
    worker.tick()
    assert settled == [3]  # the three heads-up texts were settled together (engine/batch.py)
    for invoice in invoices:
        assert _event_times(invoice, "sms.sent") == [clock()]
        assert _first(invoice) == (clock(), None)
    assert metrics.funnel(invoices[0].organization, clock())["text"] == [("Texted", 3), ("Paid", 0)]


def test_texts_handed_over_one_at_a_time_each_keep_their_own_first_texted_at(make_invoice, clock, transports):
    """A rate-limited sender takes one text per request: settled together, each invoice still gets the moment
    its own text went out (one UPDATE for the batch, each row its own moment)."""
    from duedesk.engine.worker import Worker
    from tests.engine.test_gate_at_send import Paced

    clock.set(HEADS_UP_DAY)
    invoices = [make_invoice(due=date(2026, 12, 10)) for _ in range(4)]
    for invoice in invoices:
        actions.enroll_invoice(invoice, clock())
    paced = type(transports)(sms=Paced(transports.sms, clock, rate=5), voice=transports.voice,
                             email=transports.email)
    Worker(lambda org: paced, clock=clock, worker_id="w").tick()
    moments = [_first(invoice)[0] for invoice in invoices]
    assert moments == [HEADS_UP_DAY + timedelta(seconds=0.2 * i) for i in range(4)]
    assert moments == [_event_times(invoice, "sms.sent")[0] for invoice in invoices]


def test_a_later_text_leaves_the_first_in_place(make_invoice, clock, worker):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(HEADS_UP_DAY)
    enrollment = actions.enroll_invoice(invoice, clock())
    worker.tick()
    first = clock()
    clock.advance(days=9)
    Step.objects.filter(enrollment=enrollment, status="pending").update(status="cancelled")
    actions.go_to_step(enrollment, definitions.parsed(enrollment.workflow), "late_text", clock())
    worker.run_until_idle()
    assert len(_event_times(invoice, "sms.sent")) == 2
    assert _first(invoice)[0] == first == _event_times(invoice, "sms.sent")[0]


def test_a_text_settled_on_the_single_path_sets_first_texted_at(make_invoice, clock, transports):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(HEADS_UP_DAY)
    actions.enroll_invoice(invoice, clock())
    ids = claim("w1", clock())
    assert StepRunner(lambda org: transports, "w1").run(ids[0], clock()) == "sent"
    assert _event_times(invoice, "sms.sent") == [clock()]
    assert _first(invoice) == (clock(), None)


def test_a_placed_call_sets_first_called_at(make_invoice, clock, worker):
    invoice = make_invoice(due=date(2026, 11, 25))
    enrollment = actions.enroll_invoice(invoice, clock())
    Step.objects.filter(enrollment=enrollment, status="pending").update(status="cancelled")
    actions.go_to_step(enrollment, definitions.parsed(enrollment.workflow), "late_call", clock())
    worker.tick()  # calls are run by the single-step runner (runner.settle_sent)
    assert _event_times(invoice, "call.placed") == [clock()]
    assert _first(invoice) == (None, clock())
    assert metrics.funnel(invoice.organization, clock())["call"] == [("Called", 1), ("Promised", 0), ("Paid", 0)]


def test_a_later_call_leaves_the_first_in_place(make_invoice, clock, transports):
    invoice = make_invoice(due=date(2026, 11, 25))
    enrollment = actions.enroll_invoice(invoice, clock())
    Step.objects.filter(enrollment=enrollment, status="pending").update(status="cancelled")
    workflow = definitions.parsed(enrollment.workflow)
    actions.go_to_step(enrollment, workflow, "late_call", clock())
    ids = claim("w1", clock())
    assert StepRunner(lambda org: transports, "w1").run(ids[0], clock()) == "calling"
    first = clock()
    clock.advance(days=1)
    Step.objects.filter(enrollment=enrollment).exclude(status="done").update(status="cancelled")
    Enrollment.objects.filter(pk=enrollment.pk).update(status="active")
    enrollment.refresh_from_db()
    actions.go_to_step(enrollment, workflow, "late_call", clock())
    ids = claim("w1", clock())
    assert StepRunner(lambda org: transports, "w1").run(ids[0], clock()) == "calling"
    assert _event_times(invoice, "call.placed") == [first, clock()]
    assert _first(invoice) == (None, first)


EMAIL_WORKFLOW = """
name: Email reminder
steps:
  - id: mail
    email: mail
    at: due_date - 3d
templates:
  mail:
    en: "Your balance of {{ invoice.amount }} is due on {{ invoice.due_date }}."
    subject:
      en: "{{ org.name }}: your balance"
"""


@pytest.mark.parametrize("path", ["batch", "single"])
def test_an_email_is_not_a_text(path, org, make_invoice, clock, worker, transports):
    """The funnel counts sms.sent events only; an email.sent leaves first_texted_at empty."""
    invoice = make_invoice(due=date(2026, 12, 10))
    workflow = Workflow.objects.create(organization=org, slug="email", name="Email", version=1, source=EMAIL_WORKFLOW)
    clock.set(HEADS_UP_DAY)
    actions.enroll_invoice(invoice, clock(), workflow=workflow)
    if path == "batch":
        worker.tick()
    else:
        ids = claim("w1", clock())
        assert StepRunner(lambda org: transports, "w1").run(ids[0], clock()) == "sent"
    assert len(_event_times(invoice, "email.sent")) == 1
    assert _first(invoice) == (None, None)


def test_a_text_sent_now_about_an_invoice_counts(make_invoice, make_contact, clock, transports):
    """Staff replies, HELP/STOP answers and the pay link write sms.sent with the invoice: texted, as before."""
    from duedesk.engine.actions.sends import send_text_now

    invoice = make_invoice()
    result = send_text_now(invoice.contact, "Here is your pay link.", clock(), transports, invoice=invoice,
                           purpose="staff")
    assert result.sent
    assert _first(invoice) == (clock(), None)
    alone = make_contact()
    assert send_text_now(alone, "Thanks, noted.", clock(), transports).sent
    assert not Invoice.objects.filter(first_texted_at__isnull=False).exclude(pk=invoice.pk).exists()


def test_the_migration_fills_in_invoices_from_their_events(org, make_invoice, clock):
    from django.apps import apps

    migration = importlib.import_module("duedesk.records.migrations.0004_invoice_first_contacted")
    both, texted, neither = make_invoice(), make_invoice(), make_invoice()
    for at in (clock(), clock() - timedelta(days=2), clock() + timedelta(days=1)):
        log(org, "sms.sent", at, contact=both.contact, invoice=both)
    log(org, "call.placed", clock() - timedelta(hours=5), contact=both.contact, invoice=both)
    log(org, "sms.sent", clock(), contact=texted.contact, invoice=texted)
    log(org, "email.sent", clock(), contact=neither.contact, invoice=neither)
    log(org, "call.completed", clock(), contact=neither.contact, invoice=neither)
    log(org, "sms.sent", clock(), contact=neither.contact)  # no invoice
    migration.backfill(apps, None)
    assert _first(both) == (clock() - timedelta(days=2), clock() - timedelta(hours=5))
    assert _first(texted) == (clock(), None)
    assert _first(neither) == (None, None)


def test_replies_to_a_patients_texts_set_first_texted_at_once(make_invoice, clock, transports):
    from duedesk.channels.models import SimulatedSend
    from duedesk.conversations.texts import receive_text

    invoice = make_invoice(due=date(2026, 12, 10))
    times = []
    for n in range(2):
        clock.advance(minutes=5)
        receive_text(invoice.organization, invoice.contact.phone, "+12125550000", "HELP", clock(), transports,
                     provider_id=f"SM{n}")
        times.append(clock())
    assert SimulatedSend.objects.filter(to=invoice.contact.phone).count() == 2  # both HELP answers went out
    assert _event_times(invoice, "sms.sent") == times
    assert _first(invoice) == (times[0], None)
