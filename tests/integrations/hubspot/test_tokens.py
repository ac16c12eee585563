"""A token given to duedesk (not named by an environment variable) is kept encrypted at rest with the key
in DUEDESK_FIELD_KEYS: the database never holds it in plain text, and the sync works with it."""

from __future__ import annotations

import pytest
from django.db import connection

from duedesk.integrations.crm.connections import ConnectError, check_connection, connect
from duedesk.integrations.crm.models import Connection
from duedesk.integrations.crm.sync import sync_connection
from duedesk.records.models import Invoice

from .conftest import APP_SECRET, TOKEN, patient

pytestmark = pytest.mark.django_db


def stored(column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {Connection._meta.db_table}")
        return cursor.fetchone()[0]


def test_a_given_token_is_encrypted_at_rest_and_used(org, hubspot_env, fake_hubspot, clock, settings):
    settings.CRM_SECRETS = {}  # nothing in the environment
    conn, _ = connect(org, "hubspot", "", clock(), token=TOKEN, webhook_secret=APP_SECRET)
    raw_token, raw_secret = stored("token_encrypted"), stored("webhook_secret_encrypted")
    assert raw_token.startswith("gAAAAA") and TOKEN not in raw_token
    assert raw_secret.startswith("gAAAAA") and APP_SECRET not in raw_secret
    assert stored("token_env") == ""
    conn = Connection.objects.get(pk=conn.pk)
    assert (conn.token_encrypted, conn.webhook_secret_encrypted) == (TOKEN, APP_SECRET)

    fake_hubspot.seed([patient(1)])
    assert sync_connection(conn, clock()).pulled.created == 1
    assert Invoice.objects.count() == 1
    assert check_connection(conn, clock()) == ""


def test_a_wrong_given_token_is_refused_in_words_and_nothing_kept(org, hubspot_env, clock):
    with pytest.raises(ConnectError, match="HubSpot refused the token"):
        connect(org, "hubspot", "", clock(), token="not-the-token")
    with pytest.raises(ConnectError, match="not both"):
        connect(org, "hubspot", "DUEDESK_HUBSPOT_TOKEN", clock(), token=TOKEN)
    assert not Connection.objects.exists()


def test_reconnecting_with_a_variable_forgets_the_kept_token(org, hubspot_env, clock):
    connect(org, "hubspot", "", clock(), token=TOKEN)
    conn, _ = connect(org, "hubspot", "DUEDESK_HUBSPOT_TOKEN", clock())
    assert stored("token_encrypted") == "" and stored("token_env") == "DUEDESK_HUBSPOT_TOKEN"
