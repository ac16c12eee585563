"""An organization connected to a local FakeHubSpot, driven through the real `hubspot-api-client`."""

from __future__ import annotations

import json

import pytest

from duedesk.integrations.hubspot.fake import FakeHubSpot
from tests.loopback import PATIENCE

TOKEN = "hubspot-test-token"
APP_SECRET = "hubspot-app-secret"


@pytest.fixture
def fake_hubspot():
    with FakeHubSpot(token=TOKEN, app_secret=APP_SECRET, per_10s=1000) as fake:
        yield fake


@pytest.fixture
def hubspot_env(settings, fake_hubspot):
    settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "hubspot": fake_hubspot.url}
    settings.CRM_SECRETS = {"DUEDESK_HUBSPOT_TOKEN": TOKEN, "DUEDESK_HUBSPOT_APP_SECRET": APP_SECRET}
    settings.CRM_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    return settings


@pytest.fixture
def hubspot(org, hubspot_env, clock):
    from duedesk.integrations.crm.connections import connect

    conn, _ = connect(org, "hubspot", "DUEDESK_HUBSPOT_TOKEN", clock(), webhook_secret_env="DUEDESK_HUBSPOT_APP_SECRET",
                      owner_id="77")
    return conn


def ledger(fake) -> list[dict]:
    return [json.loads(line) for line in fake.ledger_lines().splitlines()]


def patient(n: int, **props) -> dict:
    base = {"firstname": "Maria", "lastname": f"Lopez{n}", "phone": f"+1212555{n:04d}",
            "email": f"maria{n}@example.com", "date_of_birth": "1980-03-03", "duedesk_due_date": "2026-12-10",
            "duedesk_balance": "120.00", "duedesk_outreach": "on"}
    base.update(props)
    return {"properties": base}
