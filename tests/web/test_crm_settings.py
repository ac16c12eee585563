"""Settings → Integrations: owners only, the sync's state in words, test, sync now, disconnect."""

from __future__ import annotations

import pytest

from duedesk.integrations.crm.models import Connection, OutboxItem
from duedesk.records.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(org):
    from django.utils import timezone

    return Connection.objects.create(organization=org, provider="hubspot", token_env="DUEDESK_HUBSPOT_TOKEN",
                                     created_at=timezone.now(), last_pull_error="HubSpot had a server error (502)")


def login(client, django_user_model, org, role):
    user = django_user_model.objects.create_user(f"{role}-user", f"{role}@clinic.example", "a-long-password")
    Membership.objects.create(user=user, organization=org, role=role)
    client.force_login(user)


def test_staff_cannot_see_it(client, django_user_model, org, connection):
    login(client, django_user_model, org, "staff")
    assert client.get("/settings/integrations/").status_code == 403


def test_the_owner_sees_the_state_and_the_crms_error_in_words(client, django_user_model, org, connection):
    login(client, django_user_model, org, "owner")
    page = client.get("/settings/integrations/").content.decode()
    assert "HubSpot had a server error (502)" in page
    assert "DUEDESK_HUBSPOT_TOKEN" in page and f"/hooks/hubspot/{connection.webhook_key}/" in page


def test_test_connection_says_what_is_wrong(client, django_user_model, org, connection, settings):
    settings.CRM_SECRETS = {}
    login(client, django_user_model, org, "owner")
    page = client.post(f"/settings/integrations/{connection.pk}/test/", follow=True).content.decode()
    assert "DUEDESK_HUBSPOT_TOKEN is not set in duedesk&#x27;s environment" in page


def test_disconnect_keeps_the_data_and_stops_syncing(client, django_user_model, org, connection):
    login(client, django_user_model, org, "owner")
    client.post(f"/settings/integrations/{connection.pk}/disconnect/")
    connection.refresh_from_db()
    assert connection.status == "disconnected"
    assert Connection.objects.filter(pk=connection.pk).exists() and not OutboxItem.objects.exists()


def test_another_organizations_connection_is_a_404(client, django_user_model, org, connection):
    from duedesk.records.models import Organization

    other = Organization.objects.create(slug="other", name="Other")
    login(client, django_user_model, other, "owner")
    assert client.post(f"/settings/integrations/{connection.pk}/sync/").status_code == 404


def test_the_writes_waiting_and_failed_name_their_events_in_the_owners_language(client, django_user_model, org,
                                                                                 connection, make_contact):
    from django.utils import timezone

    from duedesk.records.timeline import log

    contact = make_contact()
    now = timezone.now()
    for kind, status in (("payment.recorded", "pending"), ("handoff.opened", "failed")):
        event = log(org, kind, now, contact=contact)
        OutboxItem.objects.filter(event=event).delete()
        OutboxItem.objects.create(organization=org, connection=connection, event=event, contact=contact,
                                  status=status, attempts=1, run_at=now, created_at=now, last_error="502")
    login(client, django_user_model, org, "owner")
    Membership.objects.filter(role="owner").update(language="es")
    page = client.get("/settings/integrations/").content.decode()
    assert "<li>Pago registrado · " in page and "<li>Pasado a una persona (" in page
    assert "payment.recorded" not in page and "handoff.opened" not in page
