"""Settings → Twilio: an owner fills the account in, sees what is still missing in words and the webhook
addresses to paste, and sends a test text through the local fake Twilio."""

from __future__ import annotations

import pytest

from duedesk.integrations.twilio.fake import FakeTwilio
from duedesk.records.models import Organization

pytestmark = pytest.mark.django_db

PUBLIC = "https://billing.mapleclinic.example"


@pytest.fixture
def fake(settings):
    settings.PUBLIC_URL = PUBLIC
    with FakeTwilio(callbacks=False) as twilio:
        settings.TWILIO_BASE_URL = twilio.base_url
        settings.TWILIO_AUTH_TOKENS = {"MAPLE_TWILIO_TOKEN": twilio.auth_token}
        yield twilio


def test_an_owner_fills_in_twilio_and_sees_what_is_missing_then_the_webhooks(login, owner, org, fake):
    org.callback_number = ""
    org.save()
    client = login(owner)
    page = client.get("/settings/twilio/").content.decode()
    assert "No account SID" in page and "No sender number or Messaging Service" in page
    assert "No callback number" in page
    assert f'value="{PUBLIC}/hooks/twilio/sms"' in page and f'value="{PUBLIC}/hooks/twilio/voice/incoming"' in page
    assert page.count('class="btn copy"') == 7

    response = client.post("/settings/twilio/", {
        "twilio_account_sid": fake.account_sid, "twilio_auth_token_env": "MAPLE_TWILIO_TOKEN",
        "sms_from": "(212) 555-0199", "voice_caller_id": "", "callback_number": "212 555 0100",
        "voicemail_name": "Dana", "messaging_service_sid": ""}, follow=True)
    assert "Twilio settings saved." in response.content.decode()
    saved = Organization.objects.get(pk=org.pk)
    assert (saved.sms_from, saved.callback_number, saved.twilio_auth_token_env) == (
        "+12125550199", "+12125550100", "MAPLE_TWILIO_TOKEN")
    assert "Twilio is set up" in response.content.decode()
    assert "MAPLE_TWILIO_TOKEN" in response.content.decode() and fake.auth_token not in response.content.decode()


@pytest.mark.parametrize("field, value, says", [
    ("twilio_account_sid", "12345", "An account SID is AC followed by 32 letters and digits."),
    ("twilio_auth_token_env", "DUEDESK_SECRET_KEY", "whose name contains TWILIO"),
    ("sms_from", "call me", "call me is not a phone number."),
    ("messaging_service_sid", "AC123", "A Messaging Service SID is MG"),
])
def test_bad_values_are_refused_naming_the_field(login, owner, org, field, value, says):
    response = login(owner).post("/settings/twilio/", {"twilio_auth_token_env": "MAPLE_TWILIO_TOKEN", field: value})
    assert response.status_code == 400 and says in response.content.decode()
    assert Organization.objects.get(pk=org.pk).twilio_auth_token_env != "MAPLE_TWILIO_TOKEN"


def test_a_test_text_goes_through_the_clinics_twilio_account(login, owner, org, fake):
    org.twilio_account_sid, org.twilio_auth_token_env, org.sms_from = fake.account_sid, "MAPLE_TWILIO_TOKEN", \
        "+12125550199"
    org.save()
    response = login(owner).post("/settings/twilio/test/", {"to": "646 555 0123"}, follow=True)
    assert "Test text sent to +16465550123 (Twilio SM" in response.content.decode()
    [sent] = fake.messages
    assert sent["To"] == "+16465550123" and sent["From"] == "+12125550199"
    assert sent["Body"] == "Maple Clinic: this is a test text from duedesk. Texts to patients are set up."


def test_a_test_text_without_twilio_says_what_is_missing(login, owner, org, fake):
    response = login(owner).post("/settings/twilio/test/", {"to": "646 555 0123"}, follow=True)
    assert "The test text was not sent: Twilio is not set up yet: no account SID" in response.content.decode()
    assert fake.messages == []


@pytest.mark.parametrize("url, says, sent", [
    ("/settings/twilio/test/", "The test text was not sent: Twilio refused the request (401", "messages"),
    ("/settings/twilio/test-call/", "The test call was not placed: Twilio refused the request (401", "calls"),
])
def test_a_refused_token_is_told_in_twilios_words(login, owner, org, fake, settings, url, says, sent):
    settings.TWILIO_AUTH_TOKENS = {"MAPLE_TWILIO_TOKEN": "wrong"}
    org.twilio_account_sid, org.twilio_auth_token_env, org.sms_from = fake.account_sid, "MAPLE_TWILIO_TOKEN", \
        "+12125550199"
    org.save()
    response = login(owner).post(url, {"to": "646 555 0123"}, follow=True)
    assert says in response.content.decode() and getattr(fake, sent) == []


def test_a_test_call_rings_the_owners_phone_through_the_clinics_twilio_account(login, owner, org, fake):
    org.twilio_account_sid, org.twilio_auth_token_env, org.sms_from, org.voice_caller_id = \
        fake.account_sid, "MAPLE_TWILIO_TOKEN", "+12125550199", "+12125550155"
    org.save()
    client = login(owner)
    assert "Place a test call" in client.get("/settings/twilio/").content.decode()
    response = client.post("/settings/twilio/test-call/", {"to": "646 555 0123"}, follow=True)
    assert "Test call placed to +16465550123 (Twilio CA" in response.content.decode()
    [call] = fake.calls
    assert (call.params["To"], call.params["From"]) == ("+16465550123", "+12125550155")
    said = call.params["Twiml"]
    assert "This is a test call from duedesk for Maple Clinic." in said and "<Hangup" in said
    assert "Url" not in call.params and "StatusCallback" not in call.params


def test_a_test_call_without_twilio_goes_on_the_simulated_line_and_says_what_is_missing(login, owner, org, fake):
    from duedesk.channels.models import SimulatedSend

    response = login(owner).post("/settings/twilio/test-call/", {"to": "646 555 0123"}, follow=True)
    page = response.content.decode()
    assert "Test call to +16465550123 placed on the simulated line: no phone rings until Twilio is set up" in page
    assert "no account SID" in page and "no caller ID" in page
    [simulated] = SimulatedSend.objects.filter(channel="call")
    assert simulated.to == "+16465550123" and "test call from duedesk for Maple Clinic" in simulated.body
    assert fake.calls == []


def test_a_test_call_to_no_number_says_so(login, owner, org, fake):
    response = login(owner).post("/settings/twilio/test-call/", {"to": "call me"})
    assert response.status_code == 400 and "That is not a phone number." in response.content.decode()
