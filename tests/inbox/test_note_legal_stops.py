"""A staff note that records an attorney, a bankruptcy or a cease request stops automation like the patient's
own words would; resuming the handoff lifts the hold."""

from datetime import UTC, date, datetime

import pytest

from duedesk.engine import actions
from duedesk.engine.models import Enrollment
from duedesk.inbox import actions as inbox
from duedesk.records.models import Contact, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(make_invoice, clock):
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    return invoice


@pytest.mark.parametrize("note, hold", [
    ("Pt called: she has an attorney now, Smith & Co.", "attorney_represented"),
    ("Paciente dice que se declaró en bancarrota", "bankruptcy"),
    ("Son called, asked us to stop contacting his mother", "cease_communication"),
])
def test_a_note_stating_a_legal_stop_stops_automation(enrolled, note, hold, clock):
    inbox.add_note(enrolled.contact, note, clock(), actor="ana", invoice=enrolled)
    enrolled.refresh_from_db()
    contact = Contact.objects.get(pk=enrolled.contact_id)
    assert hold in (contact.legal_holds if hold == "cease_communication" else enrolled.legal_holds)
    assert Enrollment.objects.get(invoice=enrolled).status == "exited"
    handoff = enrolled.handoffs.get()
    assert handoff.reason == hold
    event = Event.objects.get(kind="compliance.legal_hold")
    assert event.actor == "ana" and event.detail["source"] == "staff note"
    # A cease request also withdraws consent for the number, as by text or on a call.
    revoked = Event.objects.filter(kind="consent.revoked", contact=contact, detail__source="staff note")
    assert revoked.exists() == (hold == "cease_communication")


@pytest.mark.parametrize("note", ["No attorney involved, she will pay Friday", "left voicemail", "not bankrupt"])
def test_an_ordinary_note_changes_nothing(enrolled, note, clock):
    inbox.add_note(enrolled.contact, note, clock(), actor="ana", invoice=enrolled)
    assert Enrollment.objects.get(invoice=enrolled).status == "active"
    assert not enrolled.handoffs.exists()


def test_resume_on_the_handoff_lifts_the_hold_and_reminders_run_again(enrolled, clock):
    inbox.add_note(enrolled.contact, "patient filed for bankruptcy", clock(), actor="ana", invoice=enrolled)
    handoff = enrolled.handoffs.get()
    inbox.resolve(handoff, "resume", clock(), actor="ana", note="case dismissed")
    enrolled.refresh_from_db()
    assert enrolled.legal_holds == {}
    assert Enrollment.objects.filter(invoice=enrolled, status="active").exists()
    assert Event.objects.filter(kind="compliance.legal_hold_lifted", detail__rule="bankruptcy").exists()
