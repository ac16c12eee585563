"""What each Stripe event does, once per event id (the caller stores the id in the same transaction)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from duedesk.core import vocabulary
from duedesk.engine import actions
from duedesk.intake import importer
from duedesk.integrations.stripe.client import from_minor
from duedesk.integrations.stripe.models import CheckoutLink, StripeInvoice, StripePayment
from duedesk.records.models import Invoice, Organization

logger = logging.getLogger("duedesk.stripe")


def handle(org: Organization, event: dict, now: datetime) -> str:
    """Act on one verified event; returns what was done, in words for the log."""
    if event["type"] in INVOICING:
        occurred = datetime.fromtimestamp(event.get("created") or now.timestamp(), UTC)
        return INVOICING[event["type"]](org, event["data"]["object"], occurred, now)
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
                         summary=vocabulary.sentence("stripe_refund", amount=amount, currency=invoice.currency))
    return "refund recorded"


HANDLERS = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "payment_intent.succeeded": payment_intent_succeeded,
    "charge.refunded": charge_refunded,
}


# ----------------------------------------------------------------------------- Stripe Invoicing


def _day(timestamp: int | None, org: Organization) -> date | None:
    return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(org.timezone)).date() if timestamp else None


def _upsert_invoice(org: Organization, inv: dict, now: datetime) -> Invoice | None:
    """The Stripe invoice as one of ours, through the importer's own row rules and upsert."""
    name = (inv.get("customer_name") or "").split(" ", 1)
    raw = {"external_ref": inv.get("number") or inv["id"], "first_name": name[0], "last_name": name[-1] if len(name) > 1
           else "", "phone": inv.get("customer_phone") or "", "email": inv.get("customer_email") or "",
           "amount_due": str(from_minor(inv["amount_due"], inv["currency"])), "currency": inv["currency"].upper(),
           "due_date": (_day(inv.get("due_date"), org) or _day(inv.get("created"), org) or now.date()).isoformat()}
    row, errors = importer.check_row(raw, 0, org, now)
    if errors:
        logger.warning("Stripe invoice %s not taken: %s", inv["id"], "; ".join(f"{e.field}: {e.message}" for e in errors))
        return None
    importer.import_row(org, row, now, "stripe", origin={"source": "stripe", "stripe_invoice": inv["id"]})
    invoice = Invoice.objects.get(organization=org, external_ref=row.external_ref)
    StripeInvoice.objects.update_or_create(stripe_id=inv["id"], defaults={
        "organization": org, "invoice": invoice, "hosted_url": inv.get("hosted_invoice_url") or ""})
    return invoice


def invoice_payment_failed(org: Organization, inv: dict, occurred: datetime, now: datetime) -> str:
    invoice = _upsert_invoice(org, inv, now)
    if invoice is None:
        return "invoice not taken (see the log)"
    next_try = _day(inv.get("next_payment_attempt"), org) or _day(inv.get("period_end"), org)
    actions.start_on_event(invoice, "payment.failed", occurred, now, source="stripe",
                           data={"next_billing_date": next_try.isoformat() if next_try else None})
    return "failed-payment recovery started"


def invoice_paid(org: Organization, inv: dict, occurred: datetime, now: datetime) -> str:
    link = StripeInvoice.objects.filter(stripe_id=inv["id"]).select_related("invoice").first()
    invoice = link.invoice if link else _upsert_invoice(org, inv, now)
    if invoice is None:
        return "invoice not taken (see the log)"
    paid = int(inv.get("amount_paid") or 0)
    if paid <= 0:
        return "nothing paid"
    return _payment(org, invoice, inv.get("payment_intent") or inv["id"], paid, inv["currency"], now,
                    source=f"Stripe invoice {inv['id']}")


INVOICING = {"invoice.payment_failed": invoice_payment_failed, "invoice.paid": invoice_paid}
