"""Settings: the voicemail's person's name and business name are checked when saved (rule
voicemail_identity): a business name revealing a debt or a specialty, or no person's name, is refused with
the field and the word named, and nothing is saved."""

from __future__ import annotations

import pytest

from duedesk.records.models import Organization

pytestmark = pytest.mark.django_db

SETTINGS = {"name": "Maple Clinic", "timezone": "America/New_York", "window_start": "09:00", "window_end": "19:00",
            "window_days": ["mon", "tue", "wed", "thu", "fri", "sat"], "callback_number": "212 555 0100", "voicemail_name": "Dana",
            "voicemail_business_name": "", "billing_email": "billing@example.com"}


@pytest.mark.parametrize("change, message", [
    ({"voicemail_business_name": "Acme Recovery Services"}, "says &#x27;Recovery&#x27;"),
    ({"name": "Springfield Oncology"}, "says &#x27;Oncology&#x27;"),
    ({"voicemail_business_name": "Centro de Oncología"}, "says &#x27;Oncología&#x27;"),
    ({"voicemail_name": ""}, "must give a person&#x27;s name"),
])
def test_voicemail_settings_that_say_too_much_are_refused(login, owner, org, change, message):
    response = login(owner).post("/settings/", {**SETTINGS, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "rule voicemail_identity" in page
    assert Organization.objects.get(pk=org.pk).name == "Maple Clinic"


def test_a_neutral_business_name_is_saved_and_used(login, owner, org):
    response = login(owner).post("/settings/", {**SETTINGS, "name": "Springfield Oncology",
                                                "voicemail_business_name": "Springfield Health Partners"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.voicemail_business() == "Springfield Health Partners"


def test_voicemails_give_the_assistants_number_unless_the_office_line_is_chosen(login, owner, org):
    org.voice_caller_id = "+12125550199"
    org.save()
    assert org.voicemail_callback_number() == "+12125550199"  # callbacks reach the invoice question hotline
    client = login(owner)
    assert client.post("/settings/", {**SETTINGS, "voicemail_callback": "office"}).status_code == 302
    org.refresh_from_db()
    assert (org.voicemail_callback, org.voicemail_callback_number()) == ("office", "+12125550100")
    assert client.post("/settings/", SETTINGS).status_code == 302  # not sent: kept
    org.refresh_from_db()
    assert org.voicemail_callback == "office"
    org.voice_caller_id = ""
    org.voicemail_callback = "assistant"
    assert org.voicemail_callback_number() == "+12125550100"  # no Twilio number: the office line
    page = client.get("/settings/").content.decode()
    assert "Voicemails ask patients to call" in page and "the assistant answers" in page
