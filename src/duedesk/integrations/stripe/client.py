"""The official `stripe` library, pointed at Stripe (or the local fake through DUEDESK_STRIPE_BASE_URL)."""

from __future__ import annotations

from decimal import Decimal

import stripe
from babel.numbers import get_currency_precision
from django.conf import settings

from duedesk.integrations.stripe.models import StripeAccount


class NotConnected(Exception):
    """The organization has no Stripe account, or its secret isn't in the environment."""


def _secret(name: str) -> str:
    # The organization names the variable; the value never touches the database. settings.py reads the
    # variables whose name contains STRIPE, so no other secret of the process can be named.
    return settings.STRIPE_SECRETS.get(name, "") if name else ""


def secret_key(account: StripeAccount) -> str:
    return _secret(account.secret_key_env)


def webhook_secret(account: StripeAccount) -> str:
    return _secret(account.webhook_secret_env)


def client_for(account: StripeAccount) -> stripe.StripeClient:
    key = secret_key(account)
    if not key:
        raise NotConnected(f"the environment variable {account.secret_key_env} is not set")
    return stripe.StripeClient(
        key,
        base_addresses={"api": settings.STRIPE_BASE_URL},
        http_client=stripe.HTTPXClient(timeout=settings.STRIPE_TIMEOUT, allow_sync_methods=True),
        max_network_retries=2,  # the library sends the same idempotency key on each retry
    )


def to_minor(amount: Decimal, currency: str) -> int:
    """Stripe counts money in the currency's smallest unit (cents; yen have none)."""
    return int((Decimal(amount) * (10 ** get_currency_precision(currency.upper()))).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    places = get_currency_precision(currency.upper())
    return (Decimal(amount) / (10 ** places)).quantize(Decimal(1).scaleb(-places))
