"""What HubSpot can do to us — 429 with Retry-After, 500s, a timeout after it accepted a write, an expired
token, a forged webhook — and what a clinic sees: nothing lost, nothing written twice, the error in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from duedesk.integrations.crm.connections import check_connection
from duedesk.integrations.crm.models import Connection, OutboxItem
from duedesk.integrations.crm.sync import sync_connection

from .conftest import ledger, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_text(hubspot, fake_hubspot, clock, worker):
    """One contact pulled from HubSpot whose heads-up text is waiting in the outbox."""
    fake_hubspot.seed([patient(1)])
    sync_connection(hubspot, clock(), do_pull=True, push_limit=0)
    worker.run_until_idle()
    item = OutboxItem.objects.get(event__kind="sms.sent")
    assert item.status == "pending"
    return item


def texts_written(fake) -> list[dict]:
    return [e for e in ledger(fake) if e["object"] == "communications"]


def test_a_429_waits_for_retry_after_without_counting_a_failure(hubspot, fake_hubspot, one_text, clock):
    fake_hubspot.fail_next(method="POST", path="/crm/v3/objects/communications", status=429, retry_after=7)
    result = sync_connection(hubspot, clock(), do_pull=False)
    assert result.pushed.waiting_for == 7.0
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert (item.status, item.attempts, item.run_at) == ("pending", 0, clock() + timedelta(seconds=7))
    assert "rate limit" in item.last_error and "waiting 7 s" in item.last_error
    assert sync_connection(hubspot, clock() + timedelta(seconds=6), do_pull=False).pushed.written == 0
    assert sync_connection(hubspot, clock() + timedelta(seconds=7), do_pull=False).pushed.written == 1
    assert len(texts_written(fake_hubspot)) == 1


def test_server_errors_are_retried_with_backoff_and_shown_in_words(hubspot, fake_hubspot, one_text, clock):
    fake_hubspot.fail_next(method="POST", path="/crm/v3/objects/communications", status=500, count=2)
    sync_connection(hubspot, clock(), do_pull=False)
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert item.status == "pending" and item.last_error.startswith("HubSpot had a server error (500)")
    assert item.run_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=30)
    sync_connection(hubspot, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.run_at == clock() + timedelta(seconds=60)  # backoff doubles
    clock.advance(seconds=60)
    sync_connection(hubspot, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.status == "done" and item.attempts == 3
    assert len(texts_written(fake_hubspot)) == 1


def test_a_timeout_after_hubspot_accepted_the_write_does_not_duplicate_it(hubspot, fake_hubspot, one_text, clock,
                                                                          settings):
    settings.CRM_TIMEOUT = 0.5
    fake_hubspot.fail_next(method="POST", path="/crm/v3/objects/communications", status=201, accept=True, delay=3)
    result = sync_connection(hubspot, clock(), do_pull=False)
    assert result.pushed.retrying == 1
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert "did not answer in time" in item.last_error
    assert len(texts_written(fake_hubspot)) == 1  # HubSpot made it; we never heard
    clock.advance(minutes=5)
    sync_connection(hubspot, clock(), do_pull=False)
    item.refresh_from_db()
    (written,) = texts_written(fake_hubspot)
    assert item.status == "done" and item.crm_id == written["id"]


def test_an_expired_token_alerts_the_owner_and_the_writes_wait(hubspot, fake_hubspot, one_text, clock,
                                                               django_user_model):
    from duedesk.records.models import Membership

    owner = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=owner, organization=hubspot.organization, role="owner")
    fake_hubspot.expired = True
    result = sync_connection(hubspot, clock())
    conn = Connection.objects.get(pk=hubspot.pk)
    assert conn.status == "auth_failed"
    assert conn.last_pull_error.startswith("HubSpot says the token has expired")
    assert result.pushed is None and OutboxItem.objects.get(pk=one_text.pk).status == "pending"
    (alert,) = mail.outbox
    assert alert.to == ["owner@clinic.example"] and "refused its token" in alert.subject
    assert "nothing is lost" in alert.body
    sync_connection(conn, clock())
    assert len(mail.outbox) == 1  # told once

    fake_hubspot.expired = False  # a new token was set
    assert check_connection(conn, clock()) == ""
    conn.refresh_from_db()
    assert conn.status == "active"
    sync_connection(conn, clock())
    assert OutboxItem.objects.get(pk=one_text.pk).status == "done"
    assert len(texts_written(fake_hubspot)) == 1


def test_connect_says_what_is_wrong(org, hubspot_env, clock, settings):
    from duedesk.integrations.crm.connections import ConnectError, connect

    with pytest.raises(ConnectError, match="must be named DUEDESK_HUBSPOT_"):
        connect(org, "hubspot", "DUEDESK_SECRET_KEY", clock())
    with pytest.raises(ConnectError, match="DUEDESK_HUBSPOT_OTHER is not set"):
        connect(org, "hubspot", "DUEDESK_HUBSPOT_OTHER", clock())
    settings.CRM_SECRETS = {**settings.CRM_SECRETS, "DUEDESK_HUBSPOT_OTHER": "wrong"}
    with pytest.raises(ConnectError, match="HubSpot refused the token: Authentication credentials not found"):
        connect(org, "hubspot", "DUEDESK_HUBSPOT_OTHER", clock())
    assert not Connection.objects.exists()
