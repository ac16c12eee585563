"""Settings → Integrations connects Salesforce with its connected app and shows its daily allowance."""

from __future__ import annotations

import pytest

from duedesk.integrations.crm.models import Connection
from duedesk.records.models import Membership

from .conftest import CLIENT_ID

pytestmark = pytest.mark.django_db


def test_an_owner_connects_salesforce_and_sees_its_requests_today(client, django_user_model, org, salesforce_env,
                                                                    fake_salesforce):
    user = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=user, organization=org, role="owner")
    client.force_login(user)
    page = client.post("/settings/integrations/connect/", {
        "provider": "salesforce", "token_env": "DUEDESK_SALESFORCE_TOKEN", "client_id": CLIENT_ID,
        "client_secret_env": "DUEDESK_SALESFORCE_CLIENT_SECRET",
        "refresh_token_env": "DUEDESK_SALESFORCE_REFRESH_TOKEN", "owner_id": "005FAKE00000077AAA"},
        follow=True).content.decode()
    assert "Connected to Salesforce" in page
    conn = Connection.objects.get(provider="salesforce")
    assert (conn.client_id, conn.refresh_token_env) == (CLIENT_ID, "DUEDESK_SALESFORCE_REFRESH_TOKEN")
    assert "renewed with the refresh token in <code>DUEDESK_SALESFORCE_REFRESH_TOKEN</code>" in page
    assert "/hooks/salesforce/" not in page  # Salesforce is pulled; it has no webhook to set up

    from django.utils import timezone

    from duedesk.integrations.crm.sync import sync_connection

    sync_connection(conn, timezone.now())
    page = client.get("/settings/integrations/").content.decode()
    assert f"{fake_salesforce.used}/100000 (used / daily allowance, as Salesforce last said)" in page


def test_a_half_given_connected_app_is_refused_in_words(client, django_user_model, org, salesforce_env):
    user = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=user, organization=org, role="owner")
    client.force_login(user)
    page = client.post("/settings/integrations/connect/", {
        "provider": "salesforce", "token_env": "DUEDESK_SALESFORCE_TOKEN", "client_id": CLIENT_ID},
        follow=True).content.decode()
    assert "Not connected: OAuth: give the consumer key with a refresh token&#x27;s variable" in page
    assert not Connection.objects.exists()
