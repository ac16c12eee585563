"""Replies to reminders go through the understanding: promises recorded and confirmed, judgment calls
handed to a person with the thread, questions answered from the records, keywords honoured."""

from datetime import UTC, date, datetime

import pytest

from duedesk.conversations.keywords import keyword
from duedesk.conversations.texts import receive_text
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Event, Message
from tests.conversations.conftest import reply

pytestmark = pytest.mark.django_db




def test_a_promise_by_text_is_recorded_confirmed_and_reminded(texted, clock, transports):
    sent = reply(texted, "i can pay friday", clock, transports)
    promise = texted.promises.get()
    assert promise.promised_date == date(2026, 12, 11) and promise.channel == "sms"
    assert "Friday, December 11" in sent[-1]
    enrollment = Enrollment.objects.get(invoice=texted)
    step = Step.objects.get(enrollment=enrollment, status="pending")
    assert step.step_id == "promise_reminder"
    assert step.run_at == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)  # that morning, 09:00 local


def test_a_vague_promise_asks_for_a_day(texted, clock, transports):
    sent = reply(texted, "i'll pay next week", clock, transports)
    assert not texted.promises.exists()
    assert "What day can you pay" in sent[-1]


def test_a_date_past_the_promise_window_goes_to_a_person(texted, clock, transports):
    reply(texted, "i can pay on march 30", clock, transports)
    handoff = texted.handoffs.get()
    assert handoff.reason == "payment_plan"
    assert handoff.collected["promised_date"] == "2027-03-30"


def test_a_dispute_stops_outreach_and_hands_off_with_the_thread(texted, clock, transports):
    sent = reply(texted, "this isn't my bill, my insurance already paid it", clock, transports)
    texted.refresh_from_db()
    assert texted.status == "disputed"
    handoff = texted.handoffs.get()
    assert handoff.reason == "dispute"
    speakers = [t["speaker"] for t in handoff.transcript]
    assert speakers == ["assistant", "patient"]  # the reminder and the reply: nobody repeats themselves
    assert "billing team will contact you" in sent[-1]
    assert not Step.objects.filter(enrollment__invoice=texted, status="pending").exists()


def test_already_paid_pauses_and_asks_a_person_to_verify(texted, clock, transports):
    reply(texted, "I already paid this last week", clock, transports)
    texted.refresh_from_db()
    assert texted.paused_until is not None and texted.paused_until.date() >= date(2026, 12, 10)
    assert texted.handoffs.get().reason == "verify_payment"


def test_a_question_is_answered_from_the_records(texted, clock, transports):
    sent = reply(texted, "how much do i owe?", clock, transports)
    assert "date of birth" in sent[-1] and "$" not in sent[-1]  # identity first (docs/compliance.md)
    sent = reply(texted, "03/03/1980", clock, transports)
    assert "$120.00" in sent[-1] and "December 10" in sent[-1]


def test_help_names_the_organization_and_callback_number(texted, clock, transports):
    sent = reply(texted, " help ", clock, transports)
    assert "Maple Clinic" in sent[-1] and "+12125550100" in sent[-1]


def test_the_same_inbound_message_twice_is_handled_once(texted, clock, transports):
    org = texted.organization
    for _ in range(2):
        receive_text(org, texted.contact.phone, "+12125550000", "STOP", clock(), transports, provider_id="SMdup")
    assert Message.objects.filter(direction="in").count() == 1
    assert Event.objects.filter(kind="contact.opted_out").count() == 1


def test_a_text_from_an_unknown_number_is_logged_for_the_organization(org, clock, transports):
    receive_text(org, "+13125550999", "+12125550000", "who is this?", clock(), transports, provider_id="SMx")
    event = Event.objects.get(kind="sms.received")
    assert event.organization == org and event.contact is None and event.detail["from"] == "+13125550999"


@pytest.mark.parametrize("body, expected", [
    ("STOP", "stop"), ("stop.", "stop"), ("  Unsubscribe ", "stop"), ("OPT OUT", "stop"), ("No más", "stop"),
    ("ALTO!", "stop"), ("start", "start"), ("AYUDA", "help"), ("stop texting me please", None), ("ok", None),
])
def test_keywords(body, expected):
    assert keyword(body) == expected


def _about(invoice, clock, transports, body="HELP"):
    """The invoice the patient's text was filed under (its row and timeline event say so)."""
    clock.advance(minutes=1)
    message = receive_text(invoice.organization, invoice.contact.phone, "+12125550000", body, clock(), transports,
                           provider_id=f"SM{clock().timestamp():.0f}")
    return message.invoice


def test_a_text_is_about_the_invoice_whose_outreach_is_running_else_the_open_one_due_first(
        make_invoice, make_contact, clock, transports):
    from duedesk.engine import actions

    contact = make_contact()
    paid = make_invoice(contact=contact, due=date(2026, 11, 1), status="paid")
    later = make_invoice(contact=contact, due=date(2026, 12, 20))
    sooner = make_invoice(contact=contact, due=date(2026, 12, 15))
    assert _about(paid, clock, transports) == sooner  # nothing running: the open invoice due first
    actions.enroll_invoice(later, clock())
    clock.advance(minutes=1)
    actions.enroll_invoice(sooner, clock())
    assert _about(paid, clock, transports) == sooner  # both running: the one started last
    Enrollment.objects.filter(invoice=sooner).update(status="done")
    assert _about(paid, clock, transports) == later  # the one still running, though due later
    Enrollment.objects.filter(invoice=later).update(status="done")
    assert _about(paid, clock, transports) == sooner
    other = make_invoice(due=date(2026, 12, 1))  # someone else's invoice is never theirs
    assert _about(paid, clock, transports) != other
