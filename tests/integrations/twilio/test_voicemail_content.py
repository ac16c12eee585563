"""A voicemail gives a person's name and a business name that reveals no debt and no specialty (rule
voicemail_identity): the answering machine hears the organization's voicemail business name, and when the
settings can't make such a message none is left and the timeline says why. Through the signed answer
webhook with machine detection, as Twilio sends it."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from duedesk.records.models import Event
from tests.integrations.twilio.conftest import payload
from tests.integrations.twilio.test_webhooks import live_call  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def machine_answers(twilio_post, call) -> list[str]:
    params = payload("voice_answer", CallSid=call.provider_id, AnsweredBy="machine_end_beep")
    response = twilio_post.post(f"/hooks/twilio/voice/answer?call={call.pk}", params)
    assert response.status_code == 200
    document = ET.fromstring(response.content)
    assert document[-1].tag == "Hangup"
    return [say.text for say in document.iter("Say")]


def test_the_voicemail_says_the_persons_name_and_the_voicemail_business_name(twilio_post, hook_clock,
                                                                            connected_org, live_call):  # noqa: F811
    connected_org.voicemail_business_name = "Maple Health Partners"
    connected_org.save()
    (said,) = machine_answers(twilio_post, live_call)
    assert said.startswith("Hello, this is Dana from Maple Health Partners. Please call us back at 2 1 2")
    assert "Maple Clinic" not in said
    assert Event.objects.get(kind="call.voicemail").detail["text"] == said


@pytest.mark.parametrize("name, business, person, word", [
    ("Springfield Oncology", "", "Dana", "Oncology"),
    ("Maple Clinic", "Acme Recovery Services", "Dana", "Recovery"),
    ("Maple Clinic", "Maple Collections", "Dana", "Collections"),
    ("Maple Clinic", "Clínica de Cardiología", "Dana", "Cardiología"),
    ("Maple Clinic", "", "", "person's name"),
    ("Maple Clinic", "", "Dr. Patel", "Dr."),
])
def test_no_voicemail_is_left_when_it_would_say_too_much_or_give_no_name(twilio_post, hook_clock, connected_org,
                                                                         live_call, name, business, person,  # noqa: F811
                                                                         word):
    connected_org.name, connected_org.voicemail_business_name, connected_org.voicemail_name = name, business, person
    connected_org.save()
    assert machine_answers(twilio_post, live_call) == []
    assert not Event.objects.filter(kind="call.voicemail").exists()
    withheld = Event.objects.get(kind="call.voicemail_withheld", contact=live_call.contact)
    assert withheld.detail["rule"] == "voicemail_identity"
    assert any(word in problem for problem in withheld.detail["problems"]), withheld.detail
    live_call.refresh_from_db()
    assert (live_call.answered_by, live_call.outcome) == ("machine", "voicemail")
