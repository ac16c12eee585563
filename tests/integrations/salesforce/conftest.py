"""An organization connected to a local FakeSalesforce, driven through the real `simple-salesforce` over HTTP,
with the OAuth 2 refresh-token flow set up (consumer key, secret and refresh token in the environment)."""

from __future__ import annotations

import json

import pytest

from duedesk.integrations.salesforce.fake import FakeSalesforce
from tests.loopback import PATIENCE

TOKEN = "salesforce-test-token"
CLIENT_ID = "3MVG9-duedesk-consumer-key"
CLIENT_SECRET = "salesforce-consumer-secret"
REFRESH_TOKEN = "5Aep861-refresh-token"
SECRETS = {"DUEDESK_SALESFORCE_TOKEN": TOKEN, "DUEDESK_SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
           "DUEDESK_SALESFORCE_REFRESH_TOKEN": REFRESH_TOKEN}
OAUTH = {"client_id": CLIENT_ID, "client_secret_env": "DUEDESK_SALESFORCE_CLIENT_SECRET",
         "refresh_token_env": "DUEDESK_SALESFORCE_REFRESH_TOKEN"}


def make_fake(**kwargs) -> FakeSalesforce:
    return FakeSalesforce(token=TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN,
                          **kwargs)


@pytest.fixture
def fake_salesforce():
    with make_fake() as fake:
        yield fake


@pytest.fixture
def salesforce_env(settings, fake_salesforce):
    settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "salesforce": fake_salesforce.url}
    settings.CRM_SECRETS = dict(SECRETS)
    settings.CRM_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    return settings


@pytest.fixture
def salesforce(org, salesforce_env, clock):
    from duedesk.integrations.crm.connections import connect

    conn, _ = connect(org, "salesforce", "DUEDESK_SALESFORCE_TOKEN", clock(), owner_id="005FAKE00000077AAA",
                      oauth=OAUTH)
    return conn


def ledger(fake) -> list[dict]:
    return [json.loads(line) for line in fake.ledger_lines().splitlines()]


def contact(n: int, **fields) -> dict:
    """A contact in Salesforce's own Contact fields."""
    base = {"FirstName": "Maria", "LastName": f"Lopez{n}", "MobilePhone": f"+1212555{n:04d}",
            "Email": f"maria{n}@example.com", "Birthdate": "1980-03-03", "Duedesk_Due_Date__c": "2026-12-10",
            "Duedesk_Balance__c": 120.0, "Duedesk_Outreach__c": True}
    base.update(fields)
    return base
