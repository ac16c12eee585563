"""`duedesk doctor` says what is wrong with a deployment in words, against the local fake Twilio."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from duedesk import doctor
from duedesk.cli import app
from duedesk.integrations.twilio.fake import FakeTwilio
from tests.loopback import refused_port

CLINIC = "+12125550199"
PUBLIC = "https://duedesk.example"


@pytest.fixture
def deployment(settings, tmp_path, org):
    settings.DEBUG = False
    settings.PUBLIC_URL = PUBLIC
    settings.DATA_DIR = tmp_path
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.SMTP_CONFIGURED = False
    settings.METRICS_TOKEN = "t"
    settings.TRUSTED_PROXIES = []
    tmp_path.chmod(0o700)
    with FakeTwilio(callbacks=False) as fake:
        settings.TWILIO_BASE_URL = fake.base_url
        settings.TWILIO_AUTH_TOKENS = {"CLINIC_TWILIO_TOKEN": fake.auth_token}
        org.twilio_account_sid = fake.account_sid
        org.twilio_auth_token_env = "CLINIC_TWILIO_TOKEN"
        org.sms_from = CLINIC
        org.save()
        fake.numbers[CLINIC] = {"sms_url": f"{PUBLIC}/hooks/twilio/sms",
                                "voice_url": f"{PUBLIC}/hooks/twilio/voice/incoming"}
        yield fake


def problems() -> list[str]:
    return [f.words for f in doctor.run() if f.level == doctor.PROBLEM]


def test_a_sound_deployment_has_no_problems(deployment):
    assert problems() == []
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "ok       Maple Clinic (Twilio): +12125550199 is in the account; credentials accepted" in result.output
    assert result.output.rstrip().endswith("no problems found")


def test_a_missing_token_is_named(deployment, settings):
    settings.TWILIO_AUTH_TOKENS = {}
    assert problems() == ["the auth token's variable CLINIC_TWILIO_TOKEN is not set in the server's environment"]
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "PROBLEM  Maple Clinic (Twilio): the auth token's variable CLINIC_TWILIO_TOKEN is not set" in result.output
    assert result.output.rstrip().endswith("1 problem found")


def test_a_wrong_token_is_refused_by_twilio(deployment, settings):
    settings.TWILIO_AUTH_TOKENS = {"CLINIC_TWILIO_TOKEN": "not-the-token"}
    assert problems() == [f"Twilio refused account {deployment.account_sid[:8]}… with the token in "
                          "CLINIC_TWILIO_TOKEN (HTTP 401): check the account SID and the token"]


def test_a_number_sending_texts_elsewhere_is_named(deployment):
    deployment.numbers[CLINIC] = {"sms_url": "https://old-host.example/sms"}
    assert problems() == [f"texts to {CLINIC} go to https://old-host.example/sms, not {PUBLIC}/hooks/twilio/sms: "
                          "set the number's \"A message comes in\" webhook to it"]
    del deployment.numbers[CLINIC]
    assert problems() == [f"{CLINIC} is not a number of Twilio account {deployment.account_sid[:8]}…"]


def test_a_number_voicemails_give_that_the_assistant_does_not_answer_is_named(deployment, org):
    deployment.numbers[CLINIC] = {"sms_url": f"{PUBLIC}/hooks/twilio/sms"}
    assert problems() == [f"calls to {CLINIC} go to nowhere, not {PUBLIC}/hooks/twilio/voice/incoming: voicemails "
                          "ask patients to call it back; set the number's \"A call comes in\" webhook to it (or have "
                          "voicemails give the office line, in Settings)"]
    org.voicemail_callback = "office"
    org.save()
    assert problems() == []


def test_bad_urls_and_open_files_are_named(deployment, settings, tmp_path):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    (tmp_path / "secret_key").write_text("k")
    os.chmod(tmp_path / "secret_key", 0o644)
    found = problems()
    assert "http://127.0.0.1:8000 is this machine's own address: Twilio cannot call it. Set DUEDESK_PUBLIC_URL " \
           "to the https address Twilio reaches" in found
    assert f"the secret key {tmp_path / 'secret_key'} is 0644: other users of this machine can read it; " \
           "chmod 600 it" in found
    settings.PUBLIC_URL = "http://duedesk.example"
    assert any(p.startswith("http://duedesk.example is not https") for p in problems())
    with refused_port() as port:
        settings.TWILIO_BASE_URL = f"http://127.0.0.1:{port}"
        assert any(p.startswith(f"Twilio's API at http://127.0.0.1:{port} does not answer") for p in problems())


def test_an_smtp_server_that_does_not_answer_is_named(deployment, settings):
    with refused_port() as port:
        settings.SMTP_CONFIGURED, settings.EMAIL_HOST, settings.EMAIL_PORT = True, "127.0.0.1", port
        assert [p for p in problems() if "SMTP" in p][0].startswith(
            f"the SMTP server 127.0.0.1:{port} does not answer")


def test_the_doctor_speaks_english_after_a_spanish_page_in_the_same_thread(deployment, settings):
    """A staff page in Spanish leaves its thread in Spanish; the doctor still finds (and names) a missing token."""
    from django.utils import translation

    settings.TWILIO_AUTH_TOKENS = {}
    translation.activate("es")
    try:
        assert problems() == ["the auth token's variable CLINIC_TWILIO_TOKEN is not set in the server's environment"]
    finally:
        translation.deactivate()
