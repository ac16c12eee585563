"""Connecting a clinic to its CRM, testing the connection in words, and disconnecting.

A connection stores the NAME of the environment variable holding the token (never the token). Connecting
checks the token against the CRM, creates the custom properties the default mapping uses, and saves the
default mapping; the first pull (a full sync) starts at once."""

from __future__ import annotations

from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction

from duedesk.integrations.crm import credentials, providers
from duedesk.integrations.crm.base import CrmError
from duedesk.integrations.crm.mapping import set_mapping
from duedesk.integrations.crm.models import Connection
from duedesk.records.models import Membership, Organization
from duedesk.records.timeline import log


class ConnectError(ValueError):
    pass


def connect(org: Organization, provider: str, token_env: str, now: datetime, *, webhook_secret_env: str = "",
            owner_id: str = "", rate_limit: int | None = None, token: str = "",
            webhook_secret: str = "", oauth: dict | None = None) -> tuple[Connection, list[str]]:
    """Connect (or reconnect) `org` to `provider`. Returns the connection and the properties made in the CRM.
    The token is named by an environment variable (`token_env`) or given (`token`), then kept encrypted at
    rest with DUEDESK_FIELD_KEYS; the webhook secret likewise. Raises ConnectError saying what is wrong;
    nothing is saved then.

    `oauth` (Salesforce): {"client_id": the connected app's consumer key, "client_secret_env",
    "refresh_token_env" or "private_key_env" with "jwt_username"}: variable NAMES again; with them the access
    token is renewed when it expires, and with a refresh token or JWT key no token variable is needed.
    "refresh_token" (the value, from the sign-in on Settings → Integrations) is kept encrypted instead."""
    if provider not in providers.AVAILABLE:
        raise ConnectError(f"provider: {provider!r} is not available (one of {', '.join(providers.AVAILABLE)})")
    token, webhook_secret = (token or "").strip(), (webhook_secret or "").strip()
    if token and token_env:
        raise ConnectError("token: give the token or the name of its environment variable, not both")
    if webhook_secret and webhook_secret_env:
        raise ConnectError("webhook secret: give the secret or the name of its environment variable, not both")
    oauth = {k: (v or "").strip() for k, v in (oauth or {}).items()}
    try:
        for name in ("client_secret_env", "refresh_token_env", "private_key_env"):
            if oauth.get(name):
                oauth[name] = credentials.check_name(provider, oauth[name], name.removesuffix("_env").replace("_", " "))
        renews = bool(oauth.get("client_id") and (oauth.get("refresh_token_env") or oauth.get("refresh_token") or (
            oauth.get("private_key_env") and oauth.get("jwt_username"))))
        if oauth and not renews:
            raise ConnectError("OAuth: give the consumer key with a refresh token's variable, or with a private key's "
                               "variable and the user's name (JWT bearer)")
        if not token and not (renews and not token_env):
            token_env = credentials.check_name(provider, token_env)
        if webhook_secret_env:
            webhook_secret_env = credentials.check_name(provider, webhook_secret_env, "webhook secret")
    except credentials.SecretNameError as error:
        raise ConnectError(str(error)) from None
    missing = [oauth[n] for n in ("client_secret_env", "refresh_token_env", "private_key_env")
               if oauth.get(n) and not credentials.value(oauth[n])]
    if missing:
        raise ConnectError(f"{missing[0]} is not set in duedesk's environment: set it and restart")
    if not token and token_env and not credentials.value(token_env):
        raise ConnectError(f"{token_env} is not set in duedesk's environment: set it to the token and restart")
    conn = Connection.objects.filter(organization=org, provider=provider).first()
    if conn is None:
        budget, window = providers.RATE.get(provider, (100, 10.0))
        conn = Connection(organization=org, provider=provider, created_at=now, rate_limit=budget, rate_window=window)
    conn.token_env, conn.token_encrypted = ("", token) if token else (token_env, "")
    conn.webhook_secret_env, conn.webhook_secret_encrypted = (
        ("", webhook_secret) if webhook_secret else (webhook_secret_env, ""))
    conn.owner_id = owner_id or conn.owner_id
    if oauth:
        for name in ("client_id", "client_secret_env", "refresh_token_env", "private_key_env", "jwt_username"):
            setattr(conn, name, oauth.get(name, ""))
        conn.refresh_token_encrypted = "" if conn.refresh_token_env else oauth.get("refresh_token", "")
    conn.session_encrypted = ""  # a token the endpoint gave for the old settings is not carried over
    if rate_limit:
        conn.rate_limit = rate_limit
    try:
        client = providers.client_for(conn)
        client.check()
        made = client.prepare()
    except CrmError as error:
        raise ConnectError(str(error)) from None
    defaults, _ = providers.defaults(provider)
    with transaction.atomic():
        was_new = conn.pk is None
        conn.status, conn.next_pull_at, conn.alerted_at = "active", now, None
        conn.save()
        if was_new:
            set_mapping(conn, defaults)
        log(org, "crm.connected", now, actor="staff", provider=provider)
    return conn, made


def check_connection(conn: Connection, now: datetime) -> str:
    """'' when the CRM accepts the token, else what is wrong, in words. A connection whose token was refused
    syncs again once the test passes (its waiting writes go out)."""
    if not credentials.token(conn) and not credentials.has_oauth(conn):
        return f"{conn.token_env} is not set in duedesk's environment" if conn.token_env else "no token kept"
    try:
        providers.client_for(conn).check()
    except CrmError as error:
        return str(error)
    if conn.status == "auth_failed":
        Connection.objects.filter(pk=conn.pk).update(status="active", alerted_at=None, last_pull_error="",
                                                      next_pull_at=now)
        conn.status = "active"
    return ""


def disconnect(conn: Connection, now: datetime) -> None:
    """Stop syncing; our contacts, links and written activities stay."""
    with transaction.atomic():
        Connection.objects.filter(pk=conn.pk).update(status="disconnected", lease_until=None, leased_by="")
        log(conn.organization_id, "crm.disconnected", now, actor="staff", provider=conn.provider)


def token_refused(conn: Connection, words: str, now: datetime) -> None:
    """The CRM refused the token: stop the connection's writes and tell the owners once."""
    Connection.objects.filter(pk=conn.pk).update(status="auth_failed", last_pull_error=words)
    conn.status = "auth_failed"
    if conn.alerted_at is not None:
        return
    conn.alerted_at = now
    Connection.objects.filter(pk=conn.pk).update(alerted_at=now)
    owners = list(Membership.objects.filter(organization_id=conn.organization_id, role="owner")
                  .exclude(user__email="").values_list("user__email", flat=True))
    org = conn.organization
    if org.billing_email:
        owners.append(org.billing_email)
    if owners:
        send_mail(f"duedesk: {conn.get_provider_display()} refused its token",
                  f"duedesk could not reach {conn.get_provider_display()} for {org.name}: {words}\n\n"
                  "Writes to the CRM are waiting (nothing is lost). Fix the token, then press \"Test connection\" "
                  "on Settings → Integrations.", None, sorted(set(owners)))
