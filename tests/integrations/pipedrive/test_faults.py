"""What Pipedrive can do to us — 429 with Retry-After, 500s, a timeout after it accepted a write, an expired
token — and what a clinic sees: nothing lost, nothing written twice, the error in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from duedesk.integrations.crm.connections import check_connection
from duedesk.integrations.crm.models import Connection, OutboxItem
from duedesk.integrations.crm.sync import sync_connection

from .conftest import ledger, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_text(pipedrive, fake_pipedrive, clock, worker):
    """One person pulled from Pipedrive whose heads-up text is waiting in the outbox."""
    fake_pipedrive.seed([person(1)])
    sync_connection(pipedrive, clock(), push_limit=0)
    worker.run_until_idle()
    item = OutboxItem.objects.get(event__kind="sms.sent")
    assert item.status == "pending"
    return item


def activities(fake) -> list[dict]:
    return [e for e in ledger(fake) if e["object"] == "activity"]


def test_a_429_waits_for_retry_after_without_counting_a_failure(pipedrive, fake_pipedrive, one_text, clock):
    fake_pipedrive.fail_next(method="POST", path="/api/v2/activities", status=429, retry_after=7)
    result = sync_connection(pipedrive, clock(), do_pull=False)
    assert result.pushed.waiting_for == 7.0
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert (item.status, item.attempts, item.run_at) == ("pending", 0, clock() + timedelta(seconds=7))
    assert item.last_error == "Pipedrive's rate limit was reached (Request over limit); waiting 7 s"
    assert sync_connection(pipedrive, clock() + timedelta(seconds=6), do_pull=False).pushed.written == 0
    assert sync_connection(pipedrive, clock() + timedelta(seconds=7), do_pull=False).pushed.written == 1
    assert len(activities(fake_pipedrive)) == 1


def test_server_errors_are_retried_with_backoff_and_shown_in_words(pipedrive, fake_pipedrive, one_text, clock):
    fake_pipedrive.fail_next(method="POST", path="/api/v2/activities", status=500, count=2)
    sync_connection(pipedrive, clock(), do_pull=False)
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert item.status == "pending"
    assert item.last_error == "Pipedrive had a server error (500): Internal server error"
    assert item.run_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=30)
    sync_connection(pipedrive, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.run_at == clock() + timedelta(seconds=60)
    clock.advance(seconds=60)
    sync_connection(pipedrive, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.status == "done" and item.attempts == 3
    assert len(activities(fake_pipedrive)) == 1


def test_a_timeout_after_pipedrive_accepted_the_write_does_not_duplicate_it(pipedrive, fake_pipedrive, one_text,
                                                                            clock, settings):
    settings.CRM_TIMEOUT = 0.5
    fake_pipedrive.fail_next(method="POST", path="/api/v2/activities", status=201, accept=True, delay=3)
    result = sync_connection(pipedrive, clock(), do_pull=False)
    assert result.pushed.retrying == 1
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert "did not answer in time" in item.last_error
    assert len(activities(fake_pipedrive)) == 1  # Pipedrive made it; we never heard
    clock.advance(minutes=5)
    sync_connection(pipedrive, clock(), do_pull=False)
    item.refresh_from_db()
    (written,) = activities(fake_pipedrive)  # found by our event id on the person's activities, not made again
    assert item.status == "done" and item.crm_id == written["id"]
    assert f"duedesk ref: duedesk-event-{item.event_id}" in written["properties"]["note"]


def test_an_expired_token_alerts_the_owner_and_the_writes_wait(pipedrive, fake_pipedrive, one_text, clock,
                                                               django_user_model):
    from duedesk.records.models import Membership

    owner = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=owner, organization=pipedrive.organization, role="owner")
    fake_pipedrive.expired = True
    result = sync_connection(pipedrive, clock())
    conn = Connection.objects.get(pk=pipedrive.pk)
    assert conn.status == "auth_failed"
    assert conn.last_pull_error == "Pipedrive says the token has expired: Access token expired"
    assert result.pushed is None and OutboxItem.objects.get(pk=one_text.pk).status == "pending"
    (alert,) = mail.outbox
    assert alert.to == ["owner@clinic.example"] and "Pipedrive refused its token" in alert.subject
    sync_connection(conn, clock())
    assert len(mail.outbox) == 1  # told once

    fake_pipedrive.expired = False  # a new token was set
    assert check_connection(conn, clock()) == ""
    conn.refresh_from_db()
    sync_connection(conn, clock())
    assert OutboxItem.objects.get(pk=one_text.pk).status == "done"
    assert len(activities(fake_pipedrive)) == 1


def test_connect_says_what_is_wrong(org, pipedrive_env, clock, settings):
    from duedesk.integrations.crm.connections import ConnectError, connect

    with pytest.raises(ConnectError, match="must be named DUEDESK_PIPEDRIVE_"):
        connect(org, "pipedrive", "DUEDESK_HUBSPOT_TOKEN", clock())
    settings.CRM_SECRETS = {**settings.CRM_SECRETS, "DUEDESK_PIPEDRIVE_OTHER": "wrong"}
    with pytest.raises(ConnectError, match="Pipedrive refused the token: unauthorized access"):
        connect(org, "pipedrive", "DUEDESK_PIPEDRIVE_OTHER", clock())
    assert not Connection.objects.exists()
