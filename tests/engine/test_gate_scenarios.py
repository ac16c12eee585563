"""The gate's rules that stand behind other actions, through the public surfaces: invoices imported from a
CSV file, the JSON API, signed Twilio webhooks, the staff pages and the admin, with the worker ticking on a
virtual clock. Each test shows what a patient and a billing office would see (no text or call reaches the
provider; the timeline or the page names the rule) and fails without its rule:

- `send_window`: a worker that catches up after the window closed waits for it to open again;
- `call_after_conversation`: a patient who spoke with us is not called about another invoice for 7 days;
- `paused`: "I already paid" pauses the invoice, and the call that falls in the pause waits for its end;
- `invoice_hardship`: a hardship text leaves the enrollment running for a person to decide; the gate stops
  its next call;
- `outreach_off`: a new invoice imported for a patient whose outreach a CRM switched off waits, held;
- `invoice_paid` / `invoice_written_off` / `invoice_disputed` / `no_balance`: a row corrected in the admin
  (which writes it as is and cancels nothing) and "Send reminder now" on a page loaded before the change;
- `cease_communication`, `attorney_represented`, `bankruptcy` and `contact_preference` said in a signed
  inbound text, then invoices the billing system sends later.
"""
# ruff: noqa: F401, F811 (the signed-webhook fixtures are imported from the Twilio tests by name)

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from duedesk.api import auth
from duedesk.channels.models import SimulatedSend
from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Call, Contact, Event, Handoff, Invoice, Membership
from tests.engine.test_windows_and_call_limits import LATE_CALLS, deferrals, load, texts_to, utc
from tests.integrations.twilio.conftest import (
    CLINIC_NUMBER,
    connected_org,
    hook_clock,
    payload,
    twilio_env,
    twilio_post,
)

pytestmark = pytest.mark.django_db

PHONE = "+12125550142"  # a New York number, a New York address: no state rule, one zone


def calls_to(phone):
    return list(SimulatedSend.objects.filter(channel="call", to=phone).order_by("at").values_list("at", flat=True))


def blocked(**where):
    return [(e.detail["step"], e.detail["rule"]) for e in Event.objects.filter(kind="step.blocked", **where)]


@pytest.fixture
def text_in(connected_org, hook_clock, twilio_post):
    """The patient texts the clinic's number: a signed Twilio webhook on the test's clock."""
    def send(sender: str, body: str):
        sid = f"SM{hook_clock().timestamp():.0f}{len(body)}"
        response = twilio_post.post("/hooks/twilio/sms", payload(
            "sms_inbound", To=CLINIC_NUMBER, From=sender, Body=body, MessageSid=sid, SmsSid=sid))
        assert response.status_code == 200

    return send


# ----------------------------------------------------------------------------- send_window


def test_a_worker_that_catches_up_after_the_window_closed_waits_for_it_to_open(org, clock, worker):
    """The heads-up was due Monday 09:00 in New York; the worker was down all day and comes back at 19:30,
    after the office's window (09:00-19:00). Nothing else applies (New York has no state hours)."""
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    clock.set(utc(2026, 12, 8, 0, 30))  # Monday 19:30 in New York
    worker.tick()
    assert texts_to(PHONE) == []
    assert deferrals() == [("send_window", "2026-12-08T14:00:00+00:00")]  # Tuesday 09:00
    timeline = Event.objects.get(kind="step.deferred")
    assert timeline.detail["step"] == "heads_up"
    clock.set(utc(2026, 12, 8, 14, 0))
    worker.tick()
    assert texts_to(PHONE) == [utc(2026, 12, 8, 14, 0)]


# ----------------------------------------------------------------------------- call_after_conversation


def test_no_call_about_another_invoice_within_7_days_of_a_conversation(org, connected_org, clock, worker,
                                                                       hook_clock, twilio_post):
    """Two late invoices, their calls a day apart. Ana answers the first call (signed answer and status
    webhooks): the second invoice's call waits until 7 days after that conversation."""
    definitions.save_version(org, org.workflow_slug, LATE_CALLS)
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "80.00", "2026-12-07"),
         ("INV-2", "Ana", PHONE, "10001", "90.00", "2026-12-08"))
    clock.set(utc(2026, 12, 8, 15, 0))  # Tuesday 10:00 in New York: the first invoice's call
    worker.tick()
    call = Call.objects.get()
    clock.advance(seconds=20)
    answer = twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}",
                              payload("voice_answer", CallSid=call.provider_id, To=PHONE, AnsweredBy="human"))
    assert answer.status_code == 200
    clock.advance(minutes=2)
    status = twilio_post.post(f"/hooks/twilio/voice/status?call={call.pk}",
                              payload("voice_status_completed", CallSid=call.provider_id, To=PHONE))
    assert status.status_code == 204
    assert Event.objects.filter(kind="call.answered").count() == 1
    spoke = utc(2026, 12, 8, 15, 0, 20)

    clock.set(utc(2026, 12, 9, 14, 0))  # Wednesday 09:00: the second invoice's call is due
    worker.tick()
    assert calls_to(PHONE) == [utc(2026, 12, 8, 15, 0)]
    assert deferrals() == [("call_after_conversation", (spoke + timedelta(days=7)).isoformat())]
    clock.set(spoke + timedelta(days=7))
    worker.tick()
    assert calls_to(PHONE)[1:] == [spoke + timedelta(days=7)]


# ----------------------------------------------------------------------------- paused and invoice_hardship


def test_i_already_paid_pauses_the_invoice_and_the_late_call_waits_for_the_pause_to_end(
        org, connected_org, clock, worker, text_in):
    """A patient texts "I already paid" on Monday the 14th: the invoice is paused 3 business days for a person
    to check. The late call (due the 15th) waits for the end of the pause (Thursday), rule paused."""
    clock.set(utc(2026, 12, 7, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    worker.tick()  # the heads-up
    clock.set(utc(2026, 12, 14, 16, 0))  # Monday the 14th, 11:00
    text_in(PHONE, "I already paid this last week")
    assert Handoff.objects.get().reason == "verify_payment"
    clock.set(utc(2026, 12, 15, 14, 0))  # the late call's day
    worker.run_until_idle()  # the wait after the due date ends; the late call is due
    assert calls_to(PHONE) == []
    pause_end = utc(2026, 12, 17, 14, 0)  # Thursday 00:00 is the end of the pause; 09:00 the window
    assert deferrals() == [("paused", pause_end.isoformat())]
    clock.set(pause_end)
    worker.tick()
    assert calls_to(PHONE) == [pause_end]


def test_a_hardship_text_leaves_the_invoice_to_a_person_and_the_gate_stops_the_late_call(
        org, connected_org, clock, worker, text_in):
    """"I lost my job" marks the invoice hardship and opens a handoff; the enrollment is not ended (a person
    decides: a plan, a pause, or resume). Its late call comes due and the gate blocks it (invoice_hardship)."""
    clock.set(utc(2026, 12, 7, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    worker.tick()
    clock.advance(minutes=30)
    text_in(PHONE, "I lost my job and I can't pay right now")
    invoice = Invoice.objects.get()
    assert invoice.status == "hardship" and invoice.handoffs.get().reason == "hardship"
    assert Enrollment.objects.get(invoice=invoice).status in Enrollment.LIVE
    clock.set(utc(2026, 12, 15, 14, 0))
    worker.run_until_idle()
    assert calls_to(PHONE) == []
    assert blocked(invoice=invoice) == [("late_call", "invoice_hardship")]
    enrollment = Enrollment.objects.get(invoice=invoice)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "invoice_hardship")
    assert invoice.handoffs.get().status == "open"  # still the person's to decide


# ----------------------------------------------------------------------------- outreach_off


def test_a_new_invoice_for_a_patient_whose_outreach_is_off_waits_held(org, clock, worker, client, monkeypatch):
    """The billing system switches Ana's outreach off through the API; a new invoice of hers arrives in the
    next import. Enrolling it plans its heads-up like any other, and the gate holds it (outreach_off)
    until the outreach is switched on again."""
    monkeypatch.setattr(auth, "clock", clock)
    token = auth.create_key(org, "billing system", clock()).token
    clock.set(utc(2026, 12, 1, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-03"))
    contact = Contact.objects.get()

    def outreach(value):
        response = client.post(f"/api/v1/contacts/{contact.pk}/fields", {"fields": {"outreach": value}},
                               content_type="application/json", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.content
        assert response.json()["outreach_on"] is (value == "on")

    outreach("off")
    clock.set(utc(2026, 12, 7, 13, 0))
    load(org, clock, ("INV-2", "Ana", PHONE, "10001", "95.00", "2026-12-10"))
    assert Contact.objects.count() == 1
    clock.set(utc(2026, 12, 7, 14, 0))  # INV-2's heads-up is due
    worker.tick()
    assert texts_to(PHONE) == []
    second = Invoice.objects.get(external_ref="INV-2")
    assert blocked(invoice=second) == [("heads_up", "outreach_off")]
    assert list(Step.objects.filter(enrollment__invoice=second, step_id="heads_up").order_by("pk")
                .values_list("status", flat=True)) == ["blocked", "held"]  # tried again once it is on
    clock.advance(hours=1)
    outreach("on")
    worker.tick()
    assert texts_to(PHONE) == [utc(2026, 12, 7, 15, 0)]


# ----------------------------------------------------------------------------- the invoice's own state


def admin_edit(client, obj, **changes):
    """Change a row through Django's admin form (every field posted as the form shows it)."""
    model = type(obj)._meta
    url = f"/admin/{model.app_label}/{model.model_name}/{obj.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {}
    for field in form:
        value = changes.get(field.name, field.value())
        widgets = getattr(field.field.widget, "widgets", None)
        if widgets:  # a date and a time in two boxes
            for i, part in enumerate(field.field.widget.decompress(value)):
                data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = "" if value is None else str(value)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


CORRECTIONS = [
    ({"status": "paid"}, "invoice_paid"),
    ({"status": "written_off"}, "invoice_written_off"),
    ({"status": "disputed"}, "invoice_disputed"),
    ({"balance": "0.00"}, "no_balance"),  # the balance corrected; the status left open
]


@pytest.mark.parametrize("change, rule", CORRECTIONS, ids=[r for _, r in CORRECTIONS])
def test_an_invoice_corrected_in_the_admin_gets_no_reminder(org, clock, worker, admin_client, change, rule):
    clock.set(utc(2026, 12, 7, 13, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    invoice = Invoice.objects.get()
    admin_edit(admin_client, invoice, **change)
    assert Step.objects.get(step_id="heads_up").status == "pending"  # the admin cancelled nothing
    clock.set(utc(2026, 12, 7, 14, 0))
    worker.tick()
    assert texts_to(PHONE) == []
    assert blocked(invoice=invoice) == [("heads_up", rule)]
    enrollment = Enrollment.objects.get(invoice=invoice)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", rule)


STATUSES = [
    ("paid", "invoice_paid"),
    ("written_off", "invoice_written_off"),
    ("disputed", "invoice_disputed"),
]


@pytest.mark.parametrize("status, rule", STATUSES, ids=[r for _, r in STATUSES])
def test_send_reminder_now_on_a_page_loaded_before_the_invoice_closed_sends_nothing(
        org, clock, connected_org, hook_clock, client, monkeypatch, status, rule):
    """A member opens Ana's page; meanwhile her card payment lands, or a colleague writes the invoice off or marks
    it disputed; the member presses "Send reminder now" on the page still open. The page names the rule."""
    from duedesk.engine import actions

    monkeypatch.setattr("duedesk.web.access.now", clock)
    user = get_user_model().objects.create_user("dana", "dana@example.com", "a-long-password-1")
    Membership.objects.create(user=user, organization=org, role="staff")
    client.force_login(user)
    clock.set(utc(2026, 12, 14, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    invoice = Invoice.objects.get()
    page = client.get(f"/contacts/{invoice.contact_id}/")
    assert f"/invoices/{invoice.pk}/remind/" in page.content.decode()
    if status == "paid":
        actions.mark_invoice_paid(invoice, clock(), actor="stripe")
    else:
        actions.set_invoice_status(invoice, status, clock(), actor="staff:lee")
    clock.advance(minutes=1)
    response = client.post(f"/invoices/{invoice.pk}/remind/", follow=True)
    from duedesk.web.timeline import rule_words

    page = response.content.decode()
    assert f"Not sent: {rule_words(rule, 'sms')}." in page and f"({rule})" not in page  # the rule in words
    assert SimulatedSend.objects.filter(to=PHONE).count() == 0
    refused = Event.objects.get(kind="sms.blocked", invoice=invoice)
    assert (refused.detail["rule"], refused.actor) == (rule, "staff:dana")



# ----------------------------------------------------------------------------- legal stops and hours, by text


def test_stop_contacting_me_by_text_holds_every_invoice_and_a_new_one_imported_later(org, connected_org, clock,
                                                                                       worker, text_in):
    """A signed inbound text asks us to stop; the confirmation goes, and an invoice the billing system sends
    a week later is enrolled but never texted: the gate names cease_communication."""
    clock.set(utc(2026, 12, 7, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    worker.tick()
    assert len(texts_to(PHONE)) == 1  # the heads-up
    clock.advance(minutes=30)
    text_in(PHONE, "stop contacting me")
    assert set(Contact.objects.get().legal_holds) == {"cease_communication"}
    clock.set(utc(2026, 12, 14, 15, 0))
    load(org, clock, ("INV-2", "Ana", PHONE, "10001", "80.00", "2026-12-17"))
    clock.set(utc(2026, 12, 21, 15, 0))
    worker.run_until_idle()
    assert len(texts_to(PHONE)) == 1 and calls_to(PHONE) == []  # the confirmation is a reply, sent in the webhook
    assert blocked(invoice=Invoice.objects.get(external_ref="INV-2")) == [("heads_up", "cease_communication")]


@pytest.mark.parametrize("body, rule", [("I have an attorney, talk to him", "attorney_represented"),
                                        ("I filed for bankruptcy", "bankruptcy")])
def test_an_attorney_or_a_bankruptcy_by_text_holds_the_invoice_when_the_billing_system_sends_it_again(
        org, connected_org, clock, worker, text_in, body, rule):
    """The hold ends the invoice's reminders; the billing system then sends the invoice again with a new due
    date, which plans them again, and the gate blocks the first one with the hold's rule."""
    clock.set(utc(2026, 12, 7, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    worker.tick()
    clock.advance(minutes=30)
    text_in(PHONE, body)
    invoice = Invoice.objects.get()
    assert set(invoice.legal_holds) == {rule} and invoice.handoffs.get().reason == rule
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-20"))
    clock.set(utc(2026, 12, 30, 15, 0))
    worker.run_until_idle()
    assert len(texts_to(PHONE)) == 1 and calls_to(PHONE) == []
    assert blocked(invoice=invoice) == [("heads_up", rule)]


def test_not_before_10_by_text_moves_the_late_call_to_10(org, connected_org, clock, worker, text_in):
    clock.set(utc(2026, 12, 7, 15, 0))
    load(org, clock, ("INV-1", "Ana", PHONE, "10001", "120.00", "2026-12-10"))
    worker.tick()
    clock.advance(minutes=30)
    text_in(PHONE, "please don't call me before 10")
    clock.set(utc(2026, 12, 15, 14, 0))  # the late call's time: 09:00 in New York
    worker.run_until_idle()
    assert calls_to(PHONE) == []
    assert deferrals(channel="call") == [("contact_preference", "2026-12-15T15:00:00+00:00")]
    clock.set(utc(2026, 12, 15, 15, 0))
    worker.run_until_idle()
    assert calls_to(PHONE) == [utc(2026, 12, 15, 15, 0)]
