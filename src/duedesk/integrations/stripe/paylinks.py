"""An invoice's pay link is a Stripe Checkout Session for its current balance, made on first need.

It is reused while it is open, for the same amount, and more than an hour from expiring; otherwise a new
one is made (idempotency key from the invoice, the amount and how many links it has had, so a request whose
answer was lost gives back the same session) and the old one is expired so the patient can't pay twice."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings

from duedesk.integrations.stripe.client import NotConnected, client_for, to_minor
from duedesk.integrations.stripe.models import CheckoutLink, StripeAccount, StripeInvoice
from duedesk.records.models import Invoice

logger = logging.getLogger("duedesk.stripe")
FRESH_FOR = timedelta(hours=1)
_accounts: dict[int, tuple[float, StripeAccount | None]] = {}


def _account(org_id: int) -> StripeAccount | None:
    # Asked before every text: kept a minute per process so organizations without Stripe cost no query.
    cached = _accounts.get(org_id)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1]
    account = StripeAccount.objects.filter(organization_id=org_id).first()
    _accounts[org_id] = (time.monotonic(), account)
    return account


def forget_accounts() -> None:
    _accounts.clear()


def pay_link_for(invoice: Invoice, now: datetime) -> str | None:
    """A Checkout URL for the balance, or None when the organization doesn't use Stripe (or Stripe can't be
    reached: the caller falls back to the invoice's own link)."""
    account = _account(invoice.organization_id)
    if account is None or invoice.balance <= 0:
        return None
    hosted = StripeInvoice.objects.filter(invoice=invoice).values_list("hosted_url", flat=True).first()
    if hosted:
        return hosted  # billed with Stripe Invoicing: its own page takes the payment and a new card
    amount = to_minor(invoice.balance, invoice.currency)
    live = (CheckoutLink.objects.filter(invoice=invoice, status="open").order_by("-pk").first())
    if live and live.amount == amount and live.expires_at > now + FRESH_FOR:
        return live.url
    try:
        return _new_link(account, invoice, amount, now, replacing=live).url
    except (stripe.StripeError, NotConnected) as error:
        logger.warning("no Stripe pay link for invoice %s: %s", invoice.pk, error)
        return None


def _new_link(account: StripeAccount, invoice: Invoice, amount: int, now: datetime,
              replacing: CheckoutLink | None) -> CheckoutLink:
    client = client_for(account)
    org = invoice.organization
    made = CheckoutLink.objects.filter(invoice=invoice).count()
    metadata = {"duedesk_org": str(org.pk), "duedesk_invoice": invoice.external_ref}
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "client_reference_id": invoice.external_ref,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": invoice.currency.lower(), "unit_amount": amount,
                # What the patient sees on Stripe's page: the organization and the reference, nothing clinical.
                "product_data": {"name": f"{org.name}: invoice {invoice.external_ref}"}}}],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": account.success_url or f"{settings.PUBLIC_URL}/paid",
            "expires_at": int((now + timedelta(hours=23)).timestamp()),
        },
        options={"idempotency_key": f"duedesk-paylink-{invoice.pk}-{amount}-{made}"},
    )
    link, _ = CheckoutLink.objects.get_or_create(session_id=session.id, defaults={
        "organization": org, "invoice": invoice, "url": session.url, "amount": amount,
        "currency": invoice.currency, "created_at": now,
        "expires_at": datetime.fromtimestamp(session.expires_at, UTC)})
    if replacing is not None and replacing.pk != link.pk:
        try:
            client.v1.checkout.sessions.expire(replacing.session_id)
        except stripe.StripeError as error:  # already completed or expired: nothing to stop
            logger.info("could not expire Checkout Session %s: %s", replacing.session_id, error)
        CheckoutLink.objects.filter(pk=replacing.pk, status="open").update(status="expired")
    return link
