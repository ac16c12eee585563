"""Webhook test helpers: an organization connected to Twilio, payloads shaped like Twilio's, signed
exactly as Twilio signs them, and the webhooks running on the test's virtual clock."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from duedesk.integrations.twilio.fake import TEST_ACCOUNT_SID, FakeTwilio
from duedesk.integrations.twilio.signing import sign
from tests.loopback import PATIENCE, wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
TOKEN = "test-token"
CLINIC_NUMBER = "+12125550199"


def payload(name: str, **override) -> dict:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update({k: v for k, v in override.items() if v is not None})
    return data


@pytest.fixture
def twilio_env(settings):
    settings.TWILIO_AUTH_TOKENS = {"DUEDESK_TWILIO_AUTH_TOKEN": TOKEN}
    settings.TWILIO_ACCOUNT_SID = ""
    settings.SMTP_CONFIGURED = False


@pytest.fixture
def connected_org(org, twilio_env):
    org.twilio_account_sid = TEST_ACCOUNT_SID
    org.sms_from = CLINIC_NUMBER
    org.voice_caller_id = CLINIC_NUMBER
    org.sms_per_second = 0
    org.save()
    return org


@pytest.fixture
def hook_clock(clock, monkeypatch, transports):
    """Webhooks read the test's clock, and replies go through the test's transports."""
    from duedesk.channels import providers
    from duedesk.integrations.twilio import webhooks

    monkeypatch.setattr(webhooks, "clock", clock)
    providers.use(lambda org: transports)
    yield clock
    providers.use(None)


class Signed:
    """POSTs to our webhooks through Django's test client, signed as Twilio signs them."""

    def __init__(self, client, settings):
        self.client = client
        self.settings = settings

    def url(self, path: str) -> str:
        return self.settings.PUBLIC_URL + path

    def post(self, path: str, params: dict, *, token: str = TOKEN, signed_for: str | None = None,
             signature: str | None = None, sign_it: bool = True):
        headers = {}
        if sign_it:
            headers["X-Twilio-Signature"] = signature or sign(token, signed_for or self.url(path), params)
        return self.client.post(path, data=params, headers=headers)


@pytest.fixture
def twilio_post(client, settings):
    settings.PUBLIC_URL = "https://duedesk.example.org"
    settings.ALLOWED_HOSTS = ["testserver", "duedesk.example.org"]
    return Signed(client, settings)


@pytest.fixture
def fake(clock):
    # Callbacks only on flush(): the test decides when Twilio calls back, on its own thread; our webhooks' answers
    # are waited for as long as a busy machine needs (Twilio gives up after 15 s).
    with FakeTwilio(callbacks="manual", clock=clock, webhook_timeout=PATIENCE) as f:
        yield f


@pytest.fixture
def wired(fake, live_server, settings, monkeypatch, org, clock):
    from duedesk.channels import providers
    from duedesk.engine.worker import Worker
    from duedesk.integrations.twilio import transport as twilio
    from duedesk.integrations.twilio import webhooks

    settings.TWILIO_BASE_URL = fake.base_url
    settings.TWILIO_AUTH_TOKENS = {"DUEDESK_TWILIO_AUTH_TOKEN": fake.auth_token}
    settings.TWILIO_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    settings.SMTP_CONFIGURED = False
    settings.PUBLIC_URL = live_server.url
    org.twilio_account_sid = fake.account_sid
    org.sms_from = CLINIC_NUMBER
    org.voice_caller_id = CLINIC_NUMBER
    org.sms_per_second = 0
    org.save()
    transports = twilio.transports_for_org(org)
    monkeypatch.setattr(webhooks, "clock", clock)
    providers.use(lambda o: transports)
    yield SimpleNamespace(fake=fake, transports=transports, url=live_server.url, org=org,
                          worker=Worker(lambda o: transports, clock=clock, worker_id="loopback"))
    providers.use(None)


def lose_the_next_answer(fake, rest, monkeypatch, taken) -> None:
    """Twilio takes the next text or call but its answer never reaches us: the fake holds it until it stops,
    and `rest` gives up on that one request after 0.3 s. Before the error goes back to the caller the fake has
    taken the request (`taken()` is true), as Twilio had; every other request waits as long as a busy machine
    needs."""
    client = rest._client
    request = client.request

    def impatient(method, *args, **kwargs):
        if method != "POST":  # a line type looked up first is answered as usual
            return request(method, *args, **kwargs)
        monkeypatch.setattr(client, "request", request)  # only this once
        fake.slow_next(1, PATIENCE)
        try:
            return request(method, *args, **{**kwargs, "timeout": 0.3})
        finally:
            wait_until(taken, "the fake Twilio to take the request")

    monkeypatch.setattr(client, "request", impatient)
