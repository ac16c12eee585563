import pytest

from duedesk.channels import providers
from duedesk.records.models import Handoff
from duedesk.simulate.runner import simulate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_transports():
    yield
    providers.use(None)


def kinds(events, contact=None):
    return [e["kind"] for e in events if contact is None or e["contact"] == contact]


def test_rent_tells_the_seed_story(the_command_prints):
    events = simulate("rent")
    the_command_prints("rent", events)
    assert events[0]["at"].endswith("-05:00")  # local time in the contact's zone, with its offset
    reminders = [e for e in events if e["kind"] == "sms.sent" and "friendly reminder" in e["detail"]["body"]]
    assert len(reminders) == 6 and all(e["at"].startswith("2026-11-27T09:00") for e in reminders)

    calls = [e for e in events if e["kind"] == "call.placed"]
    assert sorted(e["contact"] for e in calls) == ["Carmen Diaz", "David Park", "Erin Brooks", "Felix Turner"]
    assert all(e["at"].startswith("2026-12-08T09:00") for e in calls)  # the 8th: four units still outstanding

    paid_on_the_8th = [e["contact"] for e in events
                       if e["kind"] == "payment.recorded" and e["at"].startswith("2026-12-08")]
    assert sorted(paid_on_the_8th) == ["Carmen Diaz", "David Park"]

    promise = next(e for e in events if e["kind"] == "promise.recorded")
    assert promise["contact"] == "Erin Brooks" and promise["detail"]["date"] == "2026-12-11"  # Friday
    friday = [e for e in events if e["contact"] == "Erin Brooks" and e["kind"] == "sms.sent"
              and e["at"].startswith("2026-12-11")]
    assert len(friday) == 1 and "today" in friday[0]["detail"]["body"]

    handoff = Handoff.objects.get()
    assert handoff.reason == "hardship" and handoff.contact.first_name == "Felix"
    assert handoff.collected["identity_verified"] is True
    assert "laid off" in handoff.collected["stated_reason"]
    assert any(t["speaker"] == "patient" and "laid off" in t["text"] for t in handoff.transcript)
    assert any(t["speaker"] == "assistant" for t in handoff.transcript)
    assert "payment.recorded" not in kinds(events, "Felix Turner")


def test_clinic_covers_every_behaviour():
    events = simulate("clinic")
    by = {name: kinds(events, name) for name in {e["contact"] for e in events}}
    assert "payment.recorded" in by["Ana Reyes"] and "call.placed" not in by["Ana Reyes"]  # paid after the text
    assert by["Ben Carter"].index("call.completed") < by["Ben Carter"].index("payment.recorded")  # after the call
    assert "promise.kept" in by["Chloe Nguyen"]
    assert "promise.broken" in by["Dan Miller"]
    assert "handoff.opened" in by["Eva Santos"] and "enrollment.exited" in by["Eva Santos"]  # dispute
    assert "handoff.opened" in by["Frank Okafor"]  # hardship
    assert "contact.opted_out" in by["Grace Kim"]
    grace_after_stop = by["Grace Kim"][by["Grace Kim"].index("contact.opted_out"):]
    assert "call.placed" not in grace_after_stop and "step.blocked" in grace_after_stop
    assert by["Hugo Silva"].count("call.placed") == 3 and "handoff.opened" in by["Hugo Silva"]  # never answers
    assert "call.voicemail" in by["Iris Walker"]
    assert "promise.kept" in by["Lucía Gómez"]  # a promise by text, in Spanish
    reasons = sorted(Handoff.objects.values_list("reason", flat=True))
    assert {"dispute", "hardship", "no_response"} <= set(reasons)


def test_recovery_text_within_the_hour_email_next_morning_call_before_billing_stopped_by_a_retry(the_command_prints):
    events = simulate("recovery")
    the_command_prints("recovery", events)
    grace = [e for e in events if e["contact"] == "Grace Ellis"]
    text = next(e for e in grace if e["kind"] == "sms.sent")
    assert text["at"].startswith("2026-12-01T10:05") and "didn't go through" in text["detail"]["body"]
    email = next(e for e in grace if e["kind"] == "email.sent")
    assert email["at"].startswith("2026-12-02T09:00")  # the next morning, when the window opens
    call = next(e for e in grace if e["kind"] == "call.placed")
    assert call["at"].startswith("2026-12-08T09:00")  # two days before the next billing date (Dec 10)
    assert kinds(grace)[-2:] == ["payment.recorded", "enrollment.exited"]
    assert grace[-1]["detail"]["reason"] == "paid"
    henry = [e for e in events if e["contact"] == "Henry Okafor"]
    first_text = next(e for e in henry if e["kind"] == "sms.sent")
    assert first_text["at"].startswith("2026-12-02T09:00")  # failed at 22:40: the text waits for the window
    assert "call.placed" not in kinds(henry) and kinds(henry)[-1] == "enrollment.exited"
    # Same event shape as the other scenarios, and the same story every time.
    assert {"at", "contact", "invoice", "kind", "channel", "detail"} == set(events[0])
    providers.use(None)
