"""An organization connected to a local FakePipedrive, driven through the thin httpx client over HTTP."""

from __future__ import annotations

import json

import pytest

from duedesk.integrations.pipedrive.fake import FakePipedrive
from tests.loopback import PATIENCE

TOKEN = "pipedrive-test-token"
WEBHOOK_PASSWORD = "pipedrive-hook-password"


@pytest.fixture
def fake_pipedrive():
    with FakePipedrive(token=TOKEN, per_2s=1000) as fake:
        yield fake


@pytest.fixture
def pipedrive_env(settings, fake_pipedrive):
    settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "pipedrive": fake_pipedrive.url}
    settings.CRM_SECRETS = {"DUEDESK_PIPEDRIVE_TOKEN": TOKEN, "DUEDESK_PIPEDRIVE_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD}
    settings.CRM_TIMEOUT = PATIENCE  # the fake answers at once; a busy machine may not run it at once
    return settings


@pytest.fixture
def pipedrive(org, pipedrive_env, clock):
    from duedesk.integrations.crm.connections import connect

    conn, _ = connect(org, "pipedrive", "DUEDESK_PIPEDRIVE_TOKEN", clock(),
                      webhook_secret_env="DUEDESK_PIPEDRIVE_WEBHOOK_PASSWORD", owner_id="7")
    return conn


def ledger(fake) -> list[dict]:
    return [json.loads(line) for line in fake.ledger_lines().splitlines()]


def person(n: int, **fields) -> dict:
    """A person in Pipedrive's own fields; the custom ones by their name."""
    base = {"first_name": "Maria", "last_name": f"Lopez{n}", "phone": f"+1212555{n:04d}",
            "email": f"maria{n}@example.com", "duedesk_due_date": "2026-12-10", "duedesk_balance": 120.0,
            "duedesk_outreach": "on"}
    base.update(fields)
    return base
