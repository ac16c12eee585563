"""A connection's token and webhook secret, from the environment variables it names (settings.CRM_SECRETS)."""

from __future__ import annotations

from django.conf import settings

PREFIX = {"hubspot": "DUEDESK_HUBSPOT_", "salesforce": "DUEDESK_SALESFORCE_", "pipedrive": "DUEDESK_PIPEDRIVE_"}


class SecretNameError(ValueError):
    pass


def check_name(provider: str, name: str, what: str = "token") -> str:
    """A variable name a connection may use: under the provider's prefix, so it can name no other secret."""
    name = (name or "").strip()
    prefix = PREFIX[provider]
    if not settings.CRM_SECRET_NAME.match(name) or not name.startswith(prefix) or name.endswith("_BASE_URL"):
        raise SecretNameError(f"the {what}'s environment variable must be named {prefix}SOMETHING "
                              f"(capital letters, digits, _), not {name!r}")
    return name


def value(name: str) -> str:
    return settings.CRM_SECRETS.get(name or "", "")
