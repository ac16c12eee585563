"""A workflow's `notify` block: when the engine reaches it, one timeline event is written, the connected CRM's
note and the webhook endpoints' delivery are queued from it through their outboxes, in the step's own
transaction, and the enrollment goes on. Once, even when the worker dies in the middle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions, advance, definitions
from duedesk.engine.models import Step
from duedesk.engine.runner import StepRunner
from duedesk.engine.worker import Worker
from duedesk.integrations.crm.models import Connection, CrmLink, OutboxItem
from duedesk.integrations.crm.touches import touch_for
from duedesk.integrations.webhooks import outbox as webhooks
from duedesk.integrations.webhooks.models import Delivery, Endpoint
from duedesk.records.models import Event
from tests.loopback import refused_port

pytestmark = pytest.mark.django_db

COLLECTIONS = """\
name: Collections notice
steps:
  - id: to_collections
    notify: collections
    at: due_date + 1d
    note: The agency picks it up from the CRM
  - id: last_text
    sms: last_text
  - id: finish
    end:
templates:
  last_text:
    en: "{{ org.name }}: {{ invoice.amount }} was due on {{ invoice.due_date }}. Pay at {{ invoice.pay_link }}"
"""
DUE = date(2026, 12, 10)
REACHED = datetime(2026, 12, 11, 5, 0, tzinfo=UTC)  # midnight of the 11th in New York


class Crash(BaseException):
    """The worker's process killed: not an Exception, so nothing in the worker catches it."""


@pytest.fixture
def invoice(org, make_invoice, clock):
    definitions.save_version(org, org.workflow_slug, COLLECTIONS)
    invoice = make_invoice(due=DUE)
    actions.enroll_invoice(invoice, clock())
    return invoice


@pytest.fixture
def crm(org, invoice, clock):
    connection = Connection.objects.create(organization=org, provider="hubspot", token_env="DUEDESK_HUBSPOT_TOKEN",
                                           created_at=clock())
    CrmLink.objects.create(connection=connection, contact=invoice.contact, crm_id="901")
    return connection


@pytest.fixture
def endpoint(org, clock):
    with refused_port() as port:  # a receiver that is down, and nothing else can answer there meanwhile
        ep = Endpoint(organization=org, url=f"http://127.0.0.1:{port}/hooks", created_at=clock())
        webhooks.start_cursor(ep)  # it hears what happens from now on
        ep.save()
        yield ep


def notices(invoice):
    return list(Event.objects.filter(kind="workflow.notice", invoice=invoice).values_list("detail", "actor"))


def test_reaching_the_block_writes_one_notice_and_goes_on_to_the_next_step(invoice, worker, clock):
    step = Step.objects.get(enrollment__invoice=invoice, status="pending")
    assert (step.step_id, step.run_at) == ("to_collections", REACHED)  # a notice waits for no send window
    clock.set(REACHED - timedelta(minutes=1))
    worker.run_until_idle()
    assert notices(invoice) == []
    clock.set(REACHED)
    worker.run_until_idle()
    assert notices(invoice) == [({"step": "to_collections", "notice": "collections"}, "workflow")]
    step.refresh_from_db()
    assert (step.status, step.outcome) == ("done", "completed")
    following = Step.objects.get(enrollment__invoice=invoice, step_id="last_text")
    clock.set(following.run_at)
    worker.run_until_idle()
    assert SimulatedSend.objects.count() == 1
    assert notices(invoice) == [({"step": "to_collections", "notice": "collections"}, "workflow")]


def test_the_crm_note_and_the_webhook_are_queued_once_from_the_notice(invoice, crm, endpoint, worker, clock):
    clock.set(REACHED)
    worker.run_until_idle()
    notice = Event.objects.get(kind="workflow.notice")
    queued = OutboxItem.objects.get(event=notice)
    assert (queued.connection_id, queued.contact_id, queued.status) == (crm.pk, invoice.contact_id, "pending")
    touch = touch_for(notice)
    assert (touch.kind, touch.subject) == ("note", "duedesk: Ready for collections")
    assert touch.properties["last_outcome"] == "Ready for collections"
    assert "to_collections" in touch.body
    webhooks.queue(clock())
    webhooks.queue(clock())  # a second round queues nothing more
    delivery = Delivery.objects.get(type="workflow.notice")
    data = delivery.payload["data"]
    assert (delivery.event_id, delivery.payload["type"]) == (notice.pk, "workflow.notice")
    assert (data["notice"], data["step"], data["invoice"]["reference"]) == ("collections", "to_collections",
                                                                             invoice.external_ref)
    assert OutboxItem.objects.filter(event__kind="workflow.notice").count() == 1


def test_a_worker_killed_while_running_the_block_leaves_nothing_and_its_successor_notifies_once(
        invoice, crm, transports, clock, monkeypatch):
    clock.set(REACHED)
    real = advance.go_to_step
    calls = {"n": 0}

    def killed_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Crash  # after the notice was written, before the step's transaction committed
        return real(*args, **kwargs)

    monkeypatch.setattr(advance, "go_to_step", killed_once)
    dying = Worker(lambda org: transports, clock=clock, worker_id="elsewhere:ffffffff:4242:dead00")
    with pytest.raises(Crash):
        dying.run_until_idle()
    assert notices(invoice) == [] and OutboxItem.objects.count() == 0
    step = Step.objects.get(step_id="to_collections")
    assert step.status == "claimed"
    survivor = Worker(lambda org: transports, clock=clock, worker_id="survivor")
    survivor.run_until_idle()
    assert notices(invoice) == []  # the dead worker's lease still runs
    clock.advance(seconds=21)
    survivor.run_until_idle()
    survivor.run_until_idle()
    assert notices(invoice) == [({"step": "to_collections", "notice": "collections"}, "workflow")]
    assert OutboxItem.objects.filter(event__kind="workflow.notice").count() == 1
    step.refresh_from_db()
    assert step.status == "done"


def test_a_step_another_worker_already_ran_is_not_run_again(invoice, worker, transports, clock):
    clock.set(REACHED)
    step = Step.objects.get(step_id="to_collections")
    worker.run_until_idle()
    late = StepRunner(lambda org: transports, "late")
    assert late.run(step.pk, clock()) == "lost"  # done, not claimed by it: nothing happens
    assert len(notices(invoice)) == 1


def test_a_paid_invoice_never_notifies(invoice, worker, clock):
    actions.record_payment(invoice, Decimal("120.00"), clock())
    clock.set(REACHED)
    worker.run_until_idle()
    assert notices(invoice) == []
