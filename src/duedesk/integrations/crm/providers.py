"""Which client and defaults each CRM uses. The provider folders are imported only when used."""

from __future__ import annotations

from django.conf import settings

from duedesk.integrations.crm import credentials, ratelimit
from duedesk.integrations.crm.base import CrmError
from duedesk.integrations.crm.models import Connection

AVAILABLE = ("hubspot", "salesforce", "pipedrive")

# A new connection's request budget: (requests, per seconds). HubSpot: 100 per 10 s (private apps, most
# tiers). Pipedrive: its token budget is counted per 2 s; 40 fits the smallest plans. Salesforce counts a
# daily allowance (100,000 plus 1,000 per user license on Enterprise): 25 per 10 s is at most 216,000 a day,
# and a pull reads 200 contacts a request, so only a clinic writing all day long comes near it.
RATE = {"hubspot": (100, 10.0), "pipedrive": (40, 2.0), "salesforce": (25, 10.0)}


def defaults(provider: str):
    """(default field mapping, the standard contact properties every pull reads)"""
    if provider == "hubspot":
        from duedesk.integrations.hubspot import mapping

        return mapping.DEFAULTS, mapping.STANDARD
    if provider == "pipedrive":
        from duedesk.integrations.pipedrive import mapping

        return mapping.DEFAULTS, mapping.STANDARD
    if provider == "salesforce":
        from duedesk.integrations.salesforce import mapping

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
    if conn.provider == "salesforce":
        from duedesk.integrations.salesforce.client import OAuth, SalesforceClient

        oauth = OAuth(client_id=conn.client_id, client_secret=credentials.value(conn.client_secret_env),
                      refresh_token=credentials.refresh_token(conn), username=conn.jwt_username,
                      private_key=credentials.value(conn.private_key_env).replace("\\n", "\n"),
                      audience=settings.SALESFORCE_JWT_AUDIENCE)

        def keep(new: str) -> None:
            # The token endpoint's new access token, kept encrypted; the expired one is not used again.
            conn.session_encrypted = new
            if conn.pk:
                Connection.objects.filter(pk=conn.pk).update(session_encrypted=new)

        return SalesforceClient(conn.session_encrypted or token, base, settings.CRM_TIMEOUT, limit, oauth=oauth,
                                on_token=keep)
    raise CrmError(f"{conn.provider} is not available yet", permanent=True)
