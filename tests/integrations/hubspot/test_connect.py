"""Connecting HubSpot says what is wrong in words, and keeps nothing when it fails. (The end-to-end and
fault tests every CRM shares are in tests/integrations/crm/.)"""

from __future__ import annotations

import pytest

from duedesk.integrations.crm.models import Connection

pytestmark = pytest.mark.django_db


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
