"""An attorney, a bankruptcy or a request to stop contacting us stops automation and goes to a person;
a channel or hours preference narrows outreach instead of stopping it. Each is read from a text reply,
and the gate blocks or defers any later automated step with the rule named on the timeline."""

from datetime import UTC, date, datetime

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.core import compliance
from duedesk.engine import actions
from duedesk.engine.models import Enrollment
from duedesk.engine.runner import gate_input
from duedesk.records.models import Event
from tests.conversations.conftest import reply

pytestmark = pytest.mark.django_db




def blocked_rules(invoice):
    return list(Event.objects.filter(kind="step.blocked", invoice=invoice).values_list("detail__rule", flat=True))


@pytest.mark.parametrize("body, hold", [
    ("tengo un abogado", "attorney_represented"),
    ("I have an attorney", "attorney_represented"),
    ("me declaré en bancarrota", "bankruptcy"),
    ("I filed for bankruptcy", "bankruptcy"),
])
def test_attorney_or_bankruptcy_stops_the_invoice_and_the_call_never_goes_out(texted, body, hold, clock,
                                                                              transports, worker):
    sent = reply(texted, body, clock, transports)
    texted.refresh_from_db()
    assert hold in texted.legal_holds
    handoff = texted.handoffs.get()
    assert handoff.reason == hold and handoff.summary == body
    assert "stopped automated messages" in sent[-1] or "Detuvimos" in sent[-1]
    assert Enrollment.objects.get(invoice=texted).status == "exited"
    # The late call was 8 days out; nothing is placed, even if the invoice is enrolled again.
    actions.enroll_invoice(texted, clock())
    clock.set(datetime(2026, 12, 16, 15, 0, tzinfo=UTC))
    for _ in range(3):
        worker.tick()
    assert not texted.calls.exists()
    assert blocked_rules(texted) == [hold]
    assert Event.objects.filter(kind="compliance.legal_hold", invoice=texted, detail__rule=hold).exists()


@pytest.mark.parametrize("body", ["cease and desist", "stop contacting me", "dejen de contactarme"])
def test_a_cease_request_stops_every_invoice_of_the_contact(texted, body, make_invoice, clock, transports, worker):
    other = make_invoice(contact=texted.contact, due=date(2026, 12, 20))
    actions.enroll_invoice(other, clock())
    sent = reply(texted, body, clock, transports)
    assert "cease_communication" in texted.contact.__class__.objects.get(pk=texted.contact_id).legal_holds
    assert texted.handoffs.get().reason == "cease_communication"
    assert "stop contacting you" in sent[-1] or "dejaremos de contactarle" in sent[-1]
    assert not Enrollment.objects.filter(contact=texted.contact, status__in=Enrollment.LIVE).exists()
    # A new invoice for the same person, imported later, is blocked at send time with the rule named.
    third = make_invoice(contact=texted.contact, due=date(2026, 12, 24))
    actions.enroll_invoice(third, clock())
    clock.set(datetime(2026, 12, 21, 15, 0, tzinfo=UTC))
    worker.tick()
    assert blocked_rules(third) == ["cease_communication"]
    assert SimulatedSend.objects.count() == 2  # the heads-up and the one confirmation


def test_a_staff_text_is_blocked_too_while_the_hold_stands(texted, clock, transports):
    from duedesk.inbox.actions import send_staff_text

    reply(texted, "talk to my lawyer", clock, transports)
    texted.refresh_from_db()
    result = send_staff_text(texted.contact, texted, "Hi, about your bill", clock(), actor="ana",
                             transports=transports)
    assert not result.sent and "attorney_represented" in result.explain()


def test_an_unclear_text_goes_through_the_workflows_on_reply_route(texted, clock, transports):
    reply(texted, "purple monkey dishwasher", clock, transports)
    enrollment = Enrollment.objects.get(invoice=texted)
    assert enrollment.current_step == "to_person"
    assert enrollment.data["last_outcome"] == "unclear"
    handoff = texted.handoffs.get()
    assert handoff.reason == "reply_needs_reading"
    assert [t["speaker"] for t in handoff.transcript] == ["assistant", "patient"]


def test_stop_calling_text_is_fine_opts_out_of_calls_only(texted, clock, transports, worker):
    sent = reply(texted, "stop calling me, text is fine", clock, transports)
    contact = texted.contact.__class__.objects.get(pk=texted.contact_id)
    assert set(contact.opted_out) == {"call"}
    assert "only text" in sent[-1]
    clock.set(datetime(2026, 12, 16, 15, 0, tzinfo=UTC))  # the late call's day
    for _ in range(3):
        worker.tick()
    assert not texted.calls.exists()
    assert "opted_out" in blocked_rules(texted)
    # Texts are still allowed (where the workflow goes after a blocked call is its own choice).
    texted.refresh_from_db()
    assert isinstance(compliance.check(gate_input("sms", texted, contact, clock())), compliance.Allow)


@pytest.mark.parametrize("body, stored, allowed_from", [
    ("not before 10", {"not_before": "10:00"}, datetime(2026, 12, 15, 15, 0, tzinfo=UTC)),  # 10:00 EST
    ("only evenings please", {"not_before": "17:00"}, datetime(2026, 12, 15, 22, 0, tzinfo=UTC)),
    ("don't call me at work", {"avoid_work_hours": True}, datetime(2026, 12, 15, 22, 0, tzinfo=UTC)),
])
def test_hours_the_patient_asks_for_defer_the_call(texted, body, stored, allowed_from, clock, transports, worker):
    sent = reply(texted, body, clock, transports)
    contact = texted.contact.__class__.objects.get(pk=texted.contact_id)
    assert contact.contact_hours["call"] == stored
    assert not contact.opted_out
    assert "noted when to reach you" in sent[-1]
    # The late call is due Tuesday Dec 15 at 09:00 local (14:00 UTC).
    clock.set(datetime(2026, 12, 15, 14, 0, tzinfo=UTC))
    worker.tick()  # the wait before the call ends
    worker.tick()
    deferred = Event.objects.filter(kind="step.deferred", invoice=texted, channel="call").last()
    assert deferred.detail["rule"] == "contact_preference"
    assert datetime.fromisoformat(deferred.detail["until"]) == allowed_from
    assert not texted.calls.exists()
