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


def sign_in(client, fake, owner_id="005FAKE00000077AAA"):
    """The owner presses "Sign in with Salesforce", approves there, and is sent back with a code."""
    import httpx

    away = client.post("/settings/integrations/salesforce/sign-in/", {
        "client_id": CLIENT_ID, "client_secret_env": "DUEDESK_SALESFORCE_CLIENT_SECRET", "owner_id": owner_id})
    assert away.status_code == 302 and away["Location"].startswith(f"{fake.url}/services/oauth2/authorize?")
    back = httpx.get(away["Location"], follow_redirects=False)  # Salesforce's sign-in and approval
    assert back.status_code == 302
    return back.headers["location"]


@pytest.fixture
def owner(client, django_user_model, org):
    user = django_user_model.objects.create_user("owner", "owner@clinic.example", "a-long-password")
    Membership.objects.create(user=user, organization=org, role="owner")
    client.force_login(user)
    return user


def test_an_owner_signs_in_with_salesforce_and_the_tokens_are_kept_encrypted(client, owner, org, salesforce_env,
                                                                           fake_salesforce, settings, clock):
    from django.db import connection

    from duedesk.integrations.crm.sync import sync_connection

    from .conftest import contact

    fake_salesforce.refresh_token = ""  # Salesforce makes one at sign-in
    callback = sign_in(client, fake_salesforce)
    assert callback.startswith(f"{settings.PUBLIC_URL}/settings/integrations/salesforce/callback/?code=")
    page = client.get(callback.removeprefix(settings.PUBLIC_URL), follow=True).content.decode()
    assert "Connected to Salesforce; its tokens are kept encrypted" in page
    assert "renewed with the refresh token Salesforce gave at sign-in (kept encrypted)" in page
    conn = Connection.objects.get(provider="salesforce")
    assert conn.token_env == "" and conn.refresh_token_env == "" and conn.owner_id == "005FAKE00000077AAA"
    assert conn.refresh_token_encrypted == fake_salesforce.refresh_token
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token_encrypted, refresh_token_encrypted FROM {Connection._meta.db_table}")
        raw = cursor.fetchone()
    assert all(v.startswith("gAAAAA") for v in raw) and fake_salesforce.refresh_token not in raw[1]

    # The session expires: the refresh token from the sign-in gets a new one, and the pull goes on.
    fake_salesforce.seed([contact(1)])
    fake_salesforce.expired = True
    assert sync_connection(conn, clock()).pulled.created == 1


def test_a_callback_without_our_state_connects_nothing(client, owner, salesforce_env, fake_salesforce, settings):
    callback = sign_in(client, fake_salesforce)
    forged = callback.removeprefix(settings.PUBLIC_URL).split("&state=")[0] + "&state=someone-elses"
    page = client.get(forged, follow=True).content.decode()
    assert "Salesforce was not connected: start again from this page." in page
    page = client.get("/settings/integrations/salesforce/callback/?error=access_denied&error_description="
                      "end-user+denied+authorization", follow=True).content.decode()
    assert "Salesforce was not connected: end-user denied authorization." in page
    assert not Connection.objects.exists()
