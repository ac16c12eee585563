"""Which client and defaults each CRM uses. The provider folders are imported only when used."""

from __future__ import annotations

from django.conf import settings

from duedesk.integrations.crm import credentials, ratelimit
from duedesk.integrations.crm.base import CrmError
from duedesk.integrations.crm.models import Connection

AVAILABLE = ("hubspot", "pipedrive")  # Salesforce connects once its client lands

# A new connection's request budget: (requests, per seconds). HubSpot: 100 per 10 s (private apps, most
# tiers). Pipedrive: its token budget is counted per 2 s; 40 fits the smallest plans.
RATE = {"hubspot": (100, 10.0), "pipedrive": (40, 2.0)}


def defaults(provider: str):
    """(default field mapping, the standard contact properties every pull reads)"""
    if provider == "hubspot":
        from duedesk.integrations.hubspot import mapping

        return mapping.DEFAULTS, mapping.STANDARD
    if provider == "pipedrive":
        from duedesk.integrations.pipedrive import mapping

        return mapping.DEFAULTS, mapping.STANDARD
    raise CrmError(f"{provider} is not available yet", permanent=True)


def client_for(conn: Connection):
    token = credentials.token(conn)
    limit = ratelimit.for_connection(conn.pk, conn.rate_limit, conn.rate_window)
    base = settings.CRM_BASE_URLS.get(conn.provider, "")
    if conn.provider == "hubspot":
        from duedesk.integrations.hubspot.client import HubSpotClient

        return HubSpotClient(token, base, settings.CRM_TIMEOUT, limit)
    if conn.provider == "pipedrive":
        from duedesk.integrations.pipedrive.client import PipedriveClient

        return PipedriveClient(token, base, settings.CRM_TIMEOUT, limit)
    raise CrmError(f"{conn.provider} is not available yet", permanent=True)
