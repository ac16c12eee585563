"""Workflows started by events and timed in hours: failed-payment recovery, shipped ready to use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.core import workflow as wf
from duedesk.engine import actions
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Event

pytestmark = pytest.mark.django_db
FAILED_AT = datetime(2026, 12, 7, 15, 20, tzinfo=UTC)  # Monday 10:20 in New York


def test_trigger_timings_read_and_are_refused_where_nothing_triggers():
    assert wf.parse_timing("trigger + 1h") == wf.Timing(kind="trigger", duration=wf.parse_duration("1h"),
                                                        source="trigger + 1h")
    assert wf.parse_timing("trigger.date + 1d").field == "trigger.date"
    assert wf.parse_timing("event.next_billing_date - 2d").days == -2
    problems = wf.check("name: X\nsteps:\n  - id: a\n    sms: t\n    at: trigger + 1h\n"
                        "templates:\n  t:\n    en: 'Hi from {{ org.name }}'\n")
    assert any(p.line == 3 and "needs a workflow started by an event" in p.message for p in problems)
    bad = wf.check("name: X\ntrigger: {event: 'Not A Name'}\nsteps:\n  - id: a\n    wait: 1d\n")
    assert any(p.line == 2 and "is not a name" in p.message for p in bad)


def test_the_shipped_failed_payment_workflow_is_triggered_by_payment_failed():
    from duedesk.workflows import read

    definition = wf.parse(read("failed-payment"))
    assert definition.trigger == wf.Trigger(kind="event", name="payment.failed")


def test_a_failed_card_gets_a_text_within_the_hour_an_email_next_morning_and_a_call_before_billing(
        org, make_invoice, clock, worker):
    invoice = make_invoice(amount="89.00", due=date(2026, 12, 7))
    clock.set(FAILED_AT)
    enrollment = actions.start_on_event(invoice, "payment.failed", FAILED_AT, clock(),
                                        data={"next_billing_date": date(2026, 12, 17)})
    assert enrollment.workflow.name == "Failed payment recovery"
    worker.run_until_idle()
    text = SimulatedSend.objects.get(channel="sms")
    assert "didn't go through" in text.body and "$89.00" in text.body
    sent_at = Event.objects.get(kind="sms.sent", invoice=invoice).at
    assert FAILED_AT <= sent_at <= FAILED_AT + timedelta(hours=1)
    email_step = Step.objects.get(enrollment=enrollment, step_id="update_card_email")
    assert email_step.run_at == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # Tuesday 09:00 New York
    clock.set(email_step.run_at)
    worker.run_until_idle()
    assert SimulatedSend.objects.filter(channel="email").count() == 1
    call_step = Step.objects.get(enrollment=enrollment, step_id="before_billing_call")
    assert call_step.run_at == datetime(2026, 12, 15, 14, 0, tzinfo=UTC)  # two days before Dec 17, 09:00 local


def test_a_successful_retry_stops_the_recovery(org, make_invoice, clock, worker):
    invoice = make_invoice(amount="89.00", due=date(2026, 12, 7))
    clock.set(FAILED_AT)
    enrollment = actions.start_on_event(invoice, "payment.failed", FAILED_AT, clock(),
                                        data={"next_billing_date": "2026-12-17"})
    worker.run_until_idle()
    actions.record_payment(invoice, Decimal("89.00"), clock())
    enrollment.refresh_from_db()
    assert enrollment.status == "exited" and enrollment.exit_reason == "paid"
    assert not Step.objects.filter(enrollment=enrollment, status="pending").exists()
    clock.set(datetime(2026, 12, 20, 15, 0, tzinfo=UTC))
    worker.run_until_idle()
    assert SimulatedSend.objects.count() == 1  # only the first text


def test_the_event_takes_over_from_the_due_date_reminders(org, make_invoice, clock):
    invoice = make_invoice(amount="89.00", due=date(2026, 12, 10))
    reminders = actions.enroll_invoice(invoice, clock())
    recovery = actions.start_on_event(invoice, "payment.failed", clock(), clock(), data={})
    reminders.refresh_from_db()
    assert reminders.status == "exited" and reminders.exit_reason == "replaced"
    assert recovery.status in Enrollment.LIVE
    # The same event again while recovery runs starts nothing new.
    assert actions.start_on_event(invoice, "payment.failed", clock(), clock(), data={}) is None
    assert Event.objects.filter(kind="invoice.event", invoice=invoice).count() == 2


def test_an_event_no_workflow_listens_for_is_logged_only(org, make_invoice, clock):
    invoice = make_invoice()
    assert actions.start_on_event(invoice, "invoice.disputed_upstream", clock(), clock()) is None
    assert Event.objects.get(kind="invoice.event").detail["type"] == "invoice.disputed_upstream"


def test_ready_workflows_are_added_and_chosen_in_the_workspace(client, org, django_user_model):
    from duedesk.records.models import Membership, Organization

    owner = django_user_model.objects.create_user("boss", password="a-long-password-1")
    Membership.objects.create(user=owner, organization=org, role="owner")
    client.force_login(owner)
    page = client.get("/workflows/").content.decode()
    assert "Failed payment recovery" in page and "Rent reminders" in page and "Payment reminders" in page
    assert client.post("/workflows/add/", {"name": "rent"}).status_code == 302
    assert client.post("/workflows/add/", {"name": "../etc"}).status_code == 400
    assert client.post("/workflows/rent/use/").status_code == 302
    assert Organization.objects.get(pk=org.pk).workflow_slug == "rent"
    client.post("/workflows/add/", {"name": "failed-payment"})
    refused = client.post("/workflows/failed-payment/use/")
    assert refused.status_code == 400 and "not a workflow started by a due date" in refused.content.decode()


STATEMENT = """\
name: Statement reminder
trigger: {field: send_statement}
steps:
  - id: statement_text
    sms: statement
    at: trigger + 1h
templates:
  statement:
    en: "Hi, this is {{ org.name }}. Your statement is ready; your balance is {{ invoice.amount }}."
"""


def test_a_field_switched_on_in_the_crm_starts_the_workflow_that_names_it(org, make_invoice, clock, worker, client,
                                                                          monkeypatch):
    """The office ticks "send statement" on the contact in its CRM, which reaches duedesk as a contact field
    (the API a CRM sync uses): the workflow with `trigger: {field: send_statement}` starts on the contact's
    open invoice and texts an hour later. Ticking it again while it runs, or a field no workflow names,
    starts nothing more."""
    from duedesk.api import auth
    from duedesk.engine import definitions

    monkeypatch.setattr(auth, "clock", clock)
    token = auth.create_key(org, "crm", clock()).token
    definitions.save_version(org, "statement-reminder", STATEMENT)
    invoice = make_invoice(amount="80.00", due=date(2027, 1, 20))
    actions.enroll_invoice(invoice, clock())

    def fields(**values):
        response = client.post(f"/api/v1/contacts/{invoice.contact_id}/fields", {"fields": values},
                               content_type="application/json", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.content

    fields(send_statement="no", favourite_colour="yes")
    assert Enrollment.objects.get(invoice=invoice).workflow.slug == "payment-reminders"
    fields(send_statement="yes")
    live = Enrollment.objects.get(invoice=invoice, status="active")
    assert live.workflow.slug == "statement-reminder" and live.data["trigger"] == "send_statement"
    assert Event.objects.filter(kind="invoice.event", detail__type="field:send_statement").count() == 1
    fields(send_statement="yes", note="called")  # still on: nothing new
    assert Enrollment.objects.filter(invoice=invoice).count() == 2
    clock.advance(hours=1)
    worker.tick()
    [text] = SimulatedSend.objects.filter(channel="sms")
    assert "Your statement is ready; your balance is $80.00." in text.body
