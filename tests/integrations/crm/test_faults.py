"""What every CRM can do to us — asking us to slow down (429, or Salesforce's REQUEST_LIMIT_EXCEEDED) with
Retry-After, 500s, a timeout after it accepted a write, a token that expired and cannot be renewed — and
what a clinic sees: nothing lost, nothing written twice, the error in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from duedesk.integrations.crm.connections import check_connection
from duedesk.integrations.crm.models import Connection, OutboxItem
from duedesk.integrations.crm.sync import sync_connection
from tests.loopback import PATIENCE, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_text(crm, clock, worker):
    """One contact pulled from the CRM whose heads-up text is waiting in the outbox."""
    crm.seed([crm.patient(1)])
    sync_connection(crm.conn, clock(), push_limit=0)
    worker.run_until_idle()
    item = OutboxItem.objects.get(event__kind="sms.sent")
    assert item.status == "pending"
    return item


def test_slow_down_waits_for_retry_after_without_counting_a_failure(crm, one_text, clock):
    crm.fake.fail_next(method="POST", path=crm.activity_path, **crm.limit_fault)
    result = sync_connection(crm.conn, clock(), do_pull=False)
    assert result.pushed.waiting_for == 7.0
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert (item.status, item.attempts, item.run_at) == ("pending", 0, clock() + timedelta(seconds=7))
    assert item.last_error.startswith(crm.name) and "limit" in item.last_error and "waiting 7 s" in item.last_error
    assert sync_connection(crm.conn, clock() + timedelta(seconds=6), do_pull=False).pushed.written == 0
    assert sync_connection(crm.conn, clock() + timedelta(seconds=7), do_pull=False).pushed.written == 1
    assert len(crm.texts()) == 1


def test_server_errors_are_retried_with_backoff_and_shown_in_words(crm, one_text, clock):
    crm.fake.fail_next(method="POST", path=crm.activity_path, status=500, count=2)
    sync_connection(crm.conn, clock(), do_pull=False)
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert item.status == "pending" and item.last_error.startswith(f"{crm.name} had a server error (500")
    assert item.run_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=30)
    sync_connection(crm.conn, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.run_at == clock() + timedelta(seconds=60)  # backoff doubles
    clock.advance(seconds=60)
    sync_connection(crm.conn, clock(), do_pull=False)
    item.refresh_from_db()
    assert item.status == "done" and item.attempts == 3
    assert len(crm.texts()) == 1


def test_a_timeout_after_the_crm_accepted_the_write_does_not_duplicate_it(crm, one_text, clock, settings):
    # The CRM makes the text, and its answer is held until the fake stops: it never comes in time, however busy
    # the machine is. The timeout leaves the sync's other requests (a CRM that looks the person up first) two
    # seconds each, room for a stall on a busy machine.
    settings.CRM_TIMEOUT = 2.0
    crm.fake.fail_next(method="POST", path=crm.activity_path, status=201, accept=True, delay=PATIENCE)
    result = sync_connection(crm.conn, clock(), do_pull=False)
    assert result.pushed.retrying == 1
    item = OutboxItem.objects.get(pk=one_text.pk)
    assert "did not answer in time" in item.last_error
    wait_until(lambda: crm.texts(), "the CRM to make the text")  # it made it; we never heard
    assert len(crm.texts()) == 1
    clock.advance(minutes=5)
    sync_connection(crm.conn, clock(), do_pull=False)
    item.refresh_from_db()
    (written,) = crm.texts()  # found by our event id, not made again
    assert item.status == "done" and item.crm_id == written["id"]
    assert crm.created_keys() == [f"duedesk-event-{item.event_id}"]


def test_an_expired_token_alerts_the_owner_and_the_writes_wait(crm, one_text, clock, django_user_model):
    from duedesk.records.models import Membership

    owner = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=owner, organization=crm.conn.organization, role="owner")
    crm.expire(True)
    result = sync_connection(crm.conn, clock())
    conn = Connection.objects.get(pk=crm.conn.pk)
    assert conn.status == "auth_failed"
    assert conn.last_pull_error.startswith(crm.name) and "token" in conn.last_pull_error
    assert result.pushed is None and OutboxItem.objects.get(pk=one_text.pk).status == "pending"
    (alert,) = mail.outbox
    assert alert.to == ["owner@clinic.example"] and f"{crm.name} refused its token" in alert.subject
    assert "nothing is lost" in alert.body
    sync_connection(conn, clock())
    assert len(mail.outbox) == 1  # told once

    crm.expire(False)  # a new token was set
    assert check_connection(conn, clock()) == ""
    conn.refresh_from_db()
    assert conn.status == "active"
    sync_connection(conn, clock())
    assert OutboxItem.objects.get(pk=one_text.pk).status == "done"
    assert len(crm.texts()) == 1
