"""On a call: an attorney, a bankruptcy or "stop contacting me" ends the call without a word about the bill
and stops automation; "stop calling, text is fine" and "not before 10" narrow outreach instead."""

from datetime import UTC, date, datetime

import pytest

from duedesk.conversations import calls
from duedesk.engine import actions
from duedesk.engine.models import Enrollment
from duedesk.records.models import Call, Contact, Event

pytestmark = pytest.mark.django_db

DETAILS = ("$", "120", "balance", "bill", "December")


def late_call_placed(make_invoice, clock, worker) -> Call:
    """The late call to a patient whose invoice was due Dec 10, just placed (Dec 15, 10:00 local)."""
    invoice = make_invoice(due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    actions.enroll_invoice(invoice, clock())
    worker.tick()
    clock.set(datetime(2026, 12, 15, 15, 0, tzinfo=UTC))
    worker.tick()
    worker.tick()
    return Call.objects.get(invoice=invoice)


@pytest.fixture
def ringing(make_invoice, clock, worker, transports):
    """The late call, answered by the patient."""
    call = late_call_placed(make_invoice, clock, worker)
    calls.answered(call.pk, clock())
    return call


def say(call, text, clock):
    clock.advance(seconds=20)
    return calls.heard(call.pk, text, clock(), turn_key=f"t{clock().timestamp()}")


@pytest.mark.parametrize("before_identity", [True, False])
@pytest.mark.parametrize("words, hold", [
    ("I have an attorney", "attorney_represented"),
    ("tengo un abogado", "attorney_represented"),
    ("I filed for bankruptcy", "bankruptcy"),
    ("cease and desist", "cease_communication"),
])
def test_a_legal_stop_on_a_call(ringing, words, hold, before_identity, clock):
    if not before_identity:
        say(ringing, "yes", clock)
        say(ringing, "march third nineteen eighty", clock)
    turn = say(ringing, words, clock)
    assert turn.done
    for word in DETAILS:
        assert word.lower() not in turn.say.lower()
    calls.ended(ringing.pk, "completed", clock())
    invoice = ringing.invoice
    invoice.refresh_from_db()
    contact = Contact.objects.get(pk=invoice.contact_id)
    assert hold in (contact.legal_holds if hold == "cease_communication" else invoice.legal_holds)
    assert invoice.handoffs.get().reason == hold
    assert Enrollment.objects.get(invoice=invoice).status == "exited"
    assert Event.objects.filter(kind="compliance.legal_hold", detail__source="call").exists()


def test_stop_calling_text_is_fine_on_a_call(ringing, clock):
    turn = say(ringing, "stop calling me, text is fine", clock)
    assert turn.done and "won't call" in turn.say
    assert set(Contact.objects.get(pk=ringing.contact_id).opted_out) == {"call"}


def test_not_before_eleven_on_a_call_sets_the_hours_and_tries_again_in_them(ringing, clock, worker):
    turn = say(ringing, "please don't call me before 11am", clock)
    assert turn.done
    calls.ended(ringing.pk, "completed", clock())
    contact = Contact.objects.get(pk=ringing.contact_id)
    assert contact.contact_hours["call"] == {"not_before": "11:00"}
    clock.set(datetime(2026, 12, 16, 14, 0, tzinfo=UTC))  # 09:00 local the next day
    worker.tick()
    deferred = Event.objects.filter(kind="step.deferred", invoice=ringing.invoice, channel="call").last()
    # A week's rest after a conversation comes first; the try after it lands at 11:00, not at 10:00.
    assert deferred.detail["rule"] == "call_after_conversation"
    assert datetime.fromisoformat(deferred.detail["until"]) == datetime(2026, 12, 22, 16, 0, tzinfo=UTC)


def test_stop_contacting_me_on_a_call_withdraws_consent_for_everyone_on_the_number(
        ringing, clock, worker, make_contact, make_invoice):
    """As by text: the request stops this patient (a cease hold) and withdraws consent for the number itself,
    so another contact on the same phone gets no automated text either."""
    from duedesk.engine.models import Step
    from duedesk.records.models import LineChange

    child = make_contact(first_name="Luis", phone=ringing.to)
    turn = say(ringing, "please stop contacting me", clock)
    assert turn.done
    calls.ended(ringing.pk, "completed", clock())
    revoked = LineChange.objects.get(line__address=ringing.to, what="consent_revoked")
    assert (revoked.source, revoked.actor, revoked.evidence) == ("call", "patient", "please stop contacting me")
    assert Event.objects.get(kind="consent.revoked", contact_id=ringing.contact_id).detail["source"] == "call"
    invoice = make_invoice(child, due=date(2026, 12, 21))
    actions.enroll_invoice(invoice, clock())
    clock.set(datetime(2026, 12, 18, 15, 0, tzinfo=UTC))
    worker.tick()
    step = Step.objects.get(enrollment__invoice=invoice, step_id="heads_up")
    assert (step.status, step.outcome) == ("blocked", "no_consent")


def test_a_call_carries_the_sha256_of_what_was_said_and_the_audit_export_shows_it(ringing, clock, tmp_path):
    import csv
    import hashlib

    from typer.testing import CliRunner

    from duedesk.cli import app

    say(ringing, "yes", clock)
    say(ringing, "march third nineteen eighty", clock)
    say(ringing, "i can pay on friday", clock)
    calls.ended(ringing.pk, "completed", clock())
    completed = Event.objects.get(kind="call.completed", invoice=ringing.invoice)
    said = "\n".join(f"{t['speaker']}: {t['text']}" for t in completed.detail["transcript"])
    digest = hashlib.sha256(said.encode()).hexdigest()  # recomputed from the transcript on the timeline
    assert Call.objects.get(pk=ringing.pk).content_sha256 == digest == completed.detail["sha256"]
    out = tmp_path / "attempts.csv"
    result = CliRunner().invoke(app, ["audit", "export", "--contact", str(ringing.contact_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = [r for r in csv.DictReader(out.open()) if r["channel"] == "call"]
    assert (row["content_sha256"], row["consent_basis"]) == (digest, "provided_number")


def test_a_voicemail_carries_the_sha256_of_the_message_left(make_invoice, clock, worker):
    import hashlib

    call = late_call_placed(make_invoice, clock, worker)
    invoice = call.invoice
    text = calls.voicemail(call.pk, clock())
    calls.ended(call.pk, "completed", clock(), duration=25)
    assert text and Call.objects.get(pk=call.pk).content_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert Event.objects.get(kind="call.voicemail", invoice=invoice).detail["sha256"] == hashlib.sha256(
        text.encode()).hexdigest()
