"""What each Stripe event does, once per event id (the caller stores the id in the same transaction)."""

from __future__ import annotations

import logging
from datetime import datetime

from duedesk.engine import actions
from duedesk.integrations.stripe.client import from_minor
from duedesk.integrations.stripe.models import CheckoutLink, StripePayment
from duedesk.records.models import Invoice, Organization

logger = logging.getLogger("duedesk.stripe")


def handle(org: Organization, event: dict, now: datetime) -> str:
    """Act on one verified event; returns what was done, in words for the log."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    return handler(org, event["data"]["object"], now)


def _invoice(org: Organization, obj: dict) -> Invoice | None:
    ref = (obj.get("metadata") or {}).get("duedesk_invoice") or obj.get("client_reference_id")
    if not ref:
        return None
    return Invoice.objects.filter(organization=org, external_ref=ref).first()


def _payment(org: Organization, invoice: Invoice, intent: str, amount: int, currency: str, now: datetime,
             source: str) -> str:
    # Checkout and the PaymentIntent both report one payment: whichever comes first records it.
    _, created = StripePayment.objects.get_or_create(
        payment_intent=intent, defaults={"organization": org, "invoice": invoice, "amount": amount, "recorded_at": now})
    if not created:
        return "already recorded"
    actions.record_payment(invoice, from_minor(amount, currency), now, actor="stripe", source=source)
    return "payment recorded"


def checkout_completed(org: Organization, session: dict, now: datetime) -> str:
    CheckoutLink.objects.filter(organization=org, session_id=session["id"]).update(status="complete")
    if session.get("payment_status") != "paid":
        return "not paid yet"
    invoice = _invoice(org, session)
    if invoice is None:
        return "no invoice of ours"
    return _payment(org, invoice, session.get("payment_intent") or session["id"], session["amount_total"],
                    session["currency"], now, source=f"Stripe Checkout {session['id']}")


def payment_intent_succeeded(org: Organization, intent: dict, now: datetime) -> str:
    invoice = _invoice(org, intent)
    if invoice is None:
        return "no invoice of ours"
    return _payment(org, invoice, intent["id"], intent.get("amount_received") or intent["amount"],
                    intent["currency"], now, source=f"Stripe payment {intent['id']}")


def charge_refunded(org: Organization, charge: dict, now: datetime) -> str:
    payment = (StripePayment.objects.select_for_update().filter(organization=org,
                                                                 payment_intent=charge.get("payment_intent") or "")
               .select_related("invoice__contact").first())
    if payment is None:
        return "no payment of ours"
    # amount_refunded is the charge's running total: only the part not yet counted reopens the balance.
    new = int(charge.get("amount_refunded") or 0) - payment.refunded
    if new <= 0:
        return "already counted"
    payment.refunded += new
    payment.save(update_fields=["refunded"])
    amount = from_minor(new, charge["currency"])
    invoice = actions.record_refund(payment.invoice, amount, now, actor="stripe", source=f"Stripe charge {charge['id']}")
    actions.open_handoff(invoice.contact, "refund", now, invoice=invoice,
                         summary=f"Stripe refunded {amount} {invoice.currency}; the balance is open again.")
    return "refund recorded"


HANDLERS = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "payment_intent.succeeded": payment_intent_succeeded,
    "charge.refunded": charge_refunded,
}
