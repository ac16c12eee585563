"""Pipedrive's person webhooks: checked with basic auth, applied exactly once."""

from __future__ import annotations

import base64

import pytest

from duedesk.integrations.crm.models import CrmLink, WebhookReceipt
from duedesk.integrations.crm.sync import sync_connection
from duedesk.integrations.pipedrive import webhooks
from duedesk.records.models import Contact, Event

from .conftest import WEBHOOK_PASSWORD, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def pulled(pipedrive, fake_pipedrive, clock, monkeypatch):
    monkeypatch.setattr(webhooks, "clock", clock)
    (crm_id,) = fake_pipedrive.seed([person(1)])
    sync_connection(pipedrive, clock())
    return CrmLink.objects.get(crm_id=crm_id)


def switch_off(fake, crm_id: str) -> bytes:
    """What Pipedrive sends when a person's switch is turned off there (the fake makes the change too)."""
    before = dict(fake.person(crm_id))
    fake.webhook_url = ""  # the test posts it itself
    fake.seed([{"id": crm_id, "duedesk_outreach": "off"}])
    return fake.webhook_body(fake.person(crm_id), before)


def post(client, conn, body: bytes, user="duedesk", password=WEBHOOK_PASSWORD, auth=None):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return client.post(f"/hooks/pipedrive/{conn.webhook_key}/", data=body, content_type="application/json",
                       headers={"Authorization": auth if auth is not None else f"Basic {token}"})


def test_a_change_with_the_right_password_switches_outreach_off_once(client, pipedrive, fake_pipedrive, pulled):
    body = switch_off(fake_pipedrive, pulled.crm_id)
    assert post(client, pipedrive, body).status_code == 204
    contact = Contact.objects.get(pk=pulled.contact_id)
    assert contact.outreach_on is False and contact.fields["outreach"] == "off"
    assert post(client, pipedrive, body).status_code == 204  # Pipedrive retries the same delivery
    assert Event.objects.filter(kind="outreach.off", contact=contact).count() == 1
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.parametrize("how", ["wrong password", "wrong user", "none", "not basic"])
def test_bad_basic_auth_is_refused_and_changes_nothing(client, pipedrive, fake_pipedrive, pulled, how):
    body = switch_off(fake_pipedrive, pulled.crm_id)
    if how == "wrong password":
        answer = post(client, pipedrive, body, password="guess")
    elif how == "wrong user":
        answer = post(client, pipedrive, body, user="admin")
    elif how == "none":
        answer = post(client, pipedrive, body, auth="")
    else:
        answer = post(client, pipedrive, body, auth="Bearer " + WEBHOOK_PASSWORD)
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == 'Basic realm="duedesk"'
    assert Contact.objects.get(pk=pulled.contact_id).outreach_on is True
    assert not WebhookReceipt.objects.exists()
    assert not Event.objects.filter(kind="outreach.off").exists()


def test_a_person_duedesk_does_not_know_yet_brings_the_next_pull_forward(client, pipedrive, fake_pipedrive,
                                                                          pulled, clock):
    pipedrive.refresh_from_db()
    assert pipedrive.next_pull_at > clock()
    fake_pipedrive.webhook_url = ""
    (new,) = fake_pipedrive.seed([person(2)])
    body = fake_pipedrive.webhook_body(fake_pipedrive.person(new), None, action="create")
    assert post(client, pipedrive, body).status_code == 204
    pipedrive.refresh_from_db()
    assert pipedrive.next_pull_at == clock()
