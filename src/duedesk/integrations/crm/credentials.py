"""A connection's token and webhook secret: from the environment variable it names (settings.CRM_SECRETS),
else the value kept encrypted at rest (Connection.token_encrypted, a Fernet token under DUEDESK_FIELD_KEYS,
whose key lives in the environment, not in the database). Never in plain text in the database."""

from __future__ import annotations

from django.conf import settings

PREFIX = {"hubspot": "DUEDESK_HUBSPOT_", "salesforce": "DUEDESK_SALESFORCE_", "pipedrive": "DUEDESK_PIPEDRIVE_"}


class SecretNameError(ValueError):
    pass


def check_name(provider: str, name: str, what: str = "token") -> str:
    """A variable name a connection may use: under the provider's prefix, so it can name no other secret."""
    name = (name or "").strip()
    prefix = PREFIX[provider]
    if not settings.CRM_SECRET_NAME.match(name) or not name.startswith(prefix) or name.endswith("_URL"):
        raise SecretNameError(f"the {what}'s environment variable must be named {prefix}SOMETHING "
                              f"(capital letters, digits, _), not {name!r}")
    return name


def value(name: str) -> str:
    return settings.CRM_SECRETS.get(name or "", "")


def token(conn) -> str:
    return value(conn.token_env) if conn.token_env else (conn.token_encrypted or "")


def refresh_token(conn) -> str:
    return value(conn.refresh_token_env) if conn.refresh_token_env else (conn.refresh_token_encrypted or "")


def has_oauth(conn) -> bool:
    """The connection can get its own access tokens (a refresh token, or a JWT bearer's key)."""
    return bool(conn.client_id and (conn.refresh_token_env or conn.refresh_token_encrypted or
                                    (conn.jwt_username and conn.private_key_env)))


def webhook_secret(conn) -> str:
    return value(conn.webhook_secret_env) if conn.webhook_secret_env else (conn.webhook_secret_encrypted or "")


def where(conn, what: str = "token") -> str:
    """Where the secret comes from, in words (for errors and the status page)."""
    name = conn.token_env if what == "token" else conn.webhook_secret_env
    return name if name else f"the {what} kept encrypted"
