"""HubSpot's property-change webhooks: verified with the v3 signature, applied exactly once."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from duedesk.integrations.crm.models import CrmLink, WebhookReceipt
from duedesk.integrations.crm.sync import sync_connection
from duedesk.integrations.hubspot import webhooks
from duedesk.integrations.hubspot.signing import sign
from duedesk.records.models import Contact, Event

from .conftest import APP_SECRET, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def pulled(hubspot, fake_hubspot, clock, monkeypatch):
    monkeypatch.setattr(webhooks, "clock", clock)
    (crm_id,) = fake_hubspot.seed([patient(1)])
    sync_connection(hubspot, clock())
    return CrmLink.objects.get(crm_id=crm_id)


def post(client, conn, events, clock, secret=APP_SECRET, signature=None):
    path = f"/hooks/hubspot/{conn.webhook_key}/"
    body = json.dumps(events).encode()
    stamp = str(int(clock().timestamp() * 1000))
    signed = signature or sign(secret, "POST", settings.PUBLIC_URL + path, body, stamp)
    return client.post(path, data=body, content_type="application/json",
                       headers={"X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-v3": signed})


def switch_off(crm_id: str, event_id: int = 501) -> list[dict]:
    return [{"eventId": event_id, "subscriptionType": "contact.propertyChange", "objectId": int(crm_id),
             "propertyName": "duedesk_outreach", "propertyValue": "off", "occurredAt": 1, "portalId": 1}]


def test_a_signed_change_switches_outreach_off_once(client, hubspot, pulled, clock):
    answer = post(client, hubspot, switch_off(pulled.crm_id), clock)
    assert answer.status_code == 204
    contact = Contact.objects.get(pk=pulled.contact_id)
    assert contact.outreach_on is False and contact.fields["outreach"] == "off"
    assert post(client, hubspot, switch_off(pulled.crm_id), clock).status_code == 204  # HubSpot retries
    assert Event.objects.filter(kind="outreach.off", contact=contact).count() == 1
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.parametrize("how", ["wrong secret", "forged", "stale"])
def test_a_bad_signature_is_refused_and_changes_nothing(client, hubspot, pulled, clock, how):
    if how == "wrong secret":
        answer = post(client, hubspot, switch_off(pulled.crm_id), clock, secret="not-the-secret")
    elif how == "forged":
        answer = post(client, hubspot, switch_off(pulled.crm_id), clock, signature="AAAA")
    else:
        stamp_clock = type(clock)(clock())
        stamp_clock.advance(minutes=-6)
        answer = post(client, hubspot, switch_off(pulled.crm_id), stamp_clock)
    assert answer.status_code == 401
    assert Contact.objects.get(pk=pulled.contact_id).outreach_on is True
    assert not WebhookReceipt.objects.exists()


def test_a_contact_duedesk_does_not_know_yet_brings_the_next_pull_forward(client, hubspot, pulled, clock):
    hubspot.refresh_from_db()
    assert hubspot.next_pull_at > clock()
    events = [{"eventId": 9, "subscriptionType": "contact.creation", "objectId": 424242, "occurredAt": 1}]
    assert post(client, hubspot, events, clock).status_code == 204
    hubspot.refresh_from_db()
    assert hubspot.next_pull_at == clock()
