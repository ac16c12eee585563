"""Invoices and payments: a payment, a status, a new due date or amount, a pause."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from django.db import transaction

from duedesk.core import vocabulary
from duedesk.core.render import money
from duedesk.engine.actions.enrollments import (
    CLOSED_INVOICE,
    enroll_invoice,
    exit_invoice_enrollments,
    replan_invoice,
)
from duedesk.engine.actions.handoffs import open_handoff
from duedesk.engine.actions.promises import settle_promises
from duedesk.engine.models import Enrollment
from duedesk.records.models import Contact, Event, Instalment, Invoice, Organization
from duedesk.records.timeline import log

CLOSED_TO_PAYMENTS = ("paid", "written_off")  # a disputed invoice may still be paid


class PaymentNotUndone(ValueError):
    """A payment that cannot be undone (already undone, not a payment of this invoice, no reason given)."""


class InvoiceClosed(ValueError):
    """A payment on an invoice already paid or written off: refused, so money is never silently absorbed."""


def pay_link(org: Organization, ref: str) -> str:
    """The invoice's pay link: the organization's prefix and the reference (none without a prefix)."""
    return f"{org.pay_link_base}{quote(ref, safe='')}" if org.pay_link_base else ""


def create_invoice(org: Organization, contact: Contact, now: datetime, *, external_ref: str, amount_due: Decimal,
                   due_date: date, currency: str | None = None, actor: str = "duedesk", detail: dict) -> Invoice:
    """A new invoice (paid already when nothing is owed), its `invoice.created` event (`detail`: the amounts
    and where it came from) and, with a balance, its enrollment in the organization's workflow."""
    with transaction.atomic():
        invoice = Invoice(organization=org, contact=contact, external_ref=external_ref, amount_due=amount_due,
                          balance=amount_due, currency=currency or org.default_currency, due_date=due_date,
                          status="open" if amount_due > 0 else "paid", pay_link=pay_link(org, external_ref))
        invoice.save()
        log(org, "invoice.created", now, contact=contact, invoice=invoice, actor=actor, **detail)
        enroll_invoice(invoice, now)
        return invoice


def record_payment(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str = "duedesk",
                   source: str = "", refuse_if_closed: bool = False, detail: dict | None = None) -> Invoice:
    """A payment landed. Paid in full stops everything for the invoice, in this same transaction.

    Paid beyond the balance, the rest is kept as the invoice's credit (on its timeline too) and an "overpaid"
    handoff asks a person to refund or apply it. With `refuse_if_closed` (a billing system or a person telling
    us of a payment), an invoice paid or written off takes none: InvoiceClosed, so the sender is told instead
    of the money vanishing; money a processor already moved (Stripe) lands as credit instead.
    """
    amount = Decimal(amount)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("contact").get(pk=invoice.pk)
        if refuse_if_closed and amount > 0 and invoice.status in CLOSED_TO_PAYMENTS:
            raise InvoiceClosed(f"invoice {invoice.external_ref} is {invoice.get_status_display().lower()}: "
                                "no payment can be recorded on it")
        owed = invoice.balance
        credit = max(Decimal("0"), amount - owed)
        invoice.balance = max(Decimal("0"), owed - amount)
        invoice.paid += amount
        fields = ["balance", "paid", "updated_at"]
        if credit:
            invoice.credit += credit
            fields.append("credit")
        if invoice.balance == 0:
            invoice.status = "paid"
            fields.append("status")
        invoice.save(update_fields=fields)
        log(invoice.organization_id, "payment.recorded", now, contact=invoice.contact, invoice=invoice,
            actor=actor, amount=str(amount), balance=str(invoice.balance), source=source,
            **({"credit": str(credit)} if credit else {}), **(detail or {}))
        settle_instalments(invoice, now)
        if invoice.status == "paid":
            settle_promises(invoice, now, paid=True)
            exit_invoice_enrollments(invoice, "paid", now)
        if credit:
            open_handoff(invoice.contact, "overpaid", now, invoice=invoice, actor=actor,
                         summary=vocabulary.sentence("overpaid", paid=money(amount, invoice.currency, "en"),
                                                     owed=money(owed, invoice.currency, "en"),
                                                     credit=money(credit, invoice.currency, "en")),
                         collected={"amount_paid": str(amount), "balance_before": str(owed),
                                    "credit": str(credit)})
        return invoice


def record_refund(invoice: Invoice, amount: Decimal, now: datetime, *, actor: str = "duedesk",
                  source: str = "") -> Invoice:
    """Money went back to the patient: a credit (an overpayment) is given back first, then the balance
    reopens by the rest (never above the amount due) and a paid invoice is open again. Outreach does not
    restart on its own; the caller hands it to a person."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        from_credit = min(invoice.credit, Decimal(amount))
        invoice.credit -= from_credit
        invoice.balance = min(invoice.amount_due, invoice.balance + Decimal(amount) - from_credit)
        fields = ["balance", "credit", "updated_at"]
        if invoice.status == "paid" and invoice.balance > 0:
            invoice.status = "open"
            fields.append("status")
        invoice.save(update_fields=fields)
        log(invoice.organization_id, "payment.refunded", now, contact=invoice.contact, invoice=invoice,
            actor=actor, amount=str(Decimal(amount)), balance=str(invoice.balance), source=source)
        return invoice


def undo_payment(payment: Event, now: datetime, *, actor: str, reason: str) -> Invoice:
    """A payment recorded by mistake (the wrong invoice, a check that bounced) is taken off again: what it
    added to the credit comes back first, the balance reopens by the rest, plan instalments it settled are
    due again, and reminders are planned again from now. Once per payment; both entries stay on the timeline."""
    reason = reason.strip()
    if not reason:
        raise PaymentNotUndone("say why the payment is undone (it stays on the timeline)")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("contact").get(pk=payment.invoice_id)
        if payment.kind != "payment.recorded":
            raise PaymentNotUndone("only a recorded payment can be undone")
        if payment.actor == "stripe":
            raise PaymentNotUndone("a card payment is undone by refunding it in Stripe; duedesk hears of the refund")
        undone = invoice.events.filter(kind="payment.undone").values_list("detail", flat=True)
        if any(d.get("payment") == payment.pk for d in undone):
            raise PaymentNotUndone("this payment was already undone")
        amount = Decimal(payment.detail["amount"])
        from_credit = min(invoice.credit, Decimal(payment.detail.get("credit") or "0"))
        invoice.credit -= from_credit
        invoice.balance = min(invoice.amount_due, invoice.balance + amount - from_credit)
        invoice.paid -= amount
        fields = ["balance", "credit", "paid", "updated_at"]
        if invoice.status == "paid" and invoice.balance > 0:
            invoice.status = "in_plan" if invoice.instalments.exists() else "open"
            fields.append("status")
        invoice.save(update_fields=fields)
        log(invoice.organization_id, "payment.undone", now, contact=invoice.contact, invoice=invoice, actor=actor,
            payment=payment.pk, amount=str(amount), balance=str(invoice.balance), reason=reason)
        _unsettle_instalments(invoice)
        if Enrollment.objects.filter(invoice=invoice, status__in=Enrollment.LIVE).exists():
            replan_invoice(invoice, now)
        else:  # the payment had ended outreach: it starts again on the workflow it was on (a plan's, say)
            last = Enrollment.objects.filter(invoice=invoice).select_related("workflow").order_by("-pk").first()
            enroll_invoice(invoice, now, workflow=last.workflow if last else None)
        return invoice


def _unsettle_instalments(invoice: Invoice) -> None:
    """Instalments marked paid that the reopened balance still covers are due again (latest first)."""
    owed_by_plan = sum(invoice.instalments.filter(status="pending").values_list("amount", flat=True), Decimal("0"))
    for row in invoice.instalments.filter(status="paid").order_by("-due_date", "-pk"):
        if owed_by_plan + row.amount > invoice.balance:
            break
        row.status = "pending"
        row.save(update_fields=["status"])
        owed_by_plan += row.amount


def settle_instalments(invoice: Invoice, now: datetime) -> int:
    """Mark a payment plan's instalments paid once the balance no longer covers them (earliest first)."""
    pending = list(invoice.instalments.filter(status="pending").order_by("due_date", "pk"))
    settled = 0
    for i, row in enumerate(pending):
        still_owed_after = sum((r.amount for r in pending[i + 1:]), Decimal("0"))
        if invoice.balance > still_owed_after:
            break
        row.status = "paid"
        row.save(update_fields=["status"])
        log(invoice.organization_id, "plan.instalment_paid", now, contact=invoice.contact, invoice=invoice,
            date=row.due_date, amount=str(row.amount))
        settled += 1
    return settled


def replace_instalments(invoice: Invoice, instalments: list[tuple[date, Decimal]], now: datetime
                        ) -> list[Instalment]:
    """The invoice's unpaid instalments become these (date, amount), earliest first. The caller writes the
    plan's event (inbox: `plan.created`) in the same transaction."""
    with transaction.atomic():
        invoice.instalments.filter(status="pending").delete()
        return [Instalment.objects.create(organization_id=invoice.organization_id, invoice=invoice, due_date=d,
                                          amount=a, created_at=now)
                for d, a in sorted(instalments)]


def mark_invoice_paid(invoice: Invoice, now: datetime, *, actor: str = "duedesk", source: str = "") -> Invoice:
    return record_payment(invoice, invoice.balance, now, actor=actor, source=source)


def set_invoice_status(invoice: Invoice, status: str, now: datetime, *, actor: str = "duedesk",
                       note: str = "") -> Invoice:
    """Disputed and written off stop outreach; hardship waits for a person; open and in_plan run it."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        old = invoice.status
        invoice.status = status
        invoice.save(update_fields=["status", "updated_at"])
        log(invoice.organization_id, "invoice.status_changed", now, contact=invoice.contact, invoice=invoice,
            actor=actor, old=old, new=status, note=note)
        if status in CLOSED_INVOICE:
            settle_promises(invoice, now, paid=status == "paid")
            exit_invoice_enrollments(invoice, status, now)
        return invoice


def update_invoice(invoice: Invoice, now: datetime, *, due_date: date | None = None,
                   amount_due: Decimal | None = None, balance: Decimal | None = None,
                   actor: str = "duedesk") -> Invoice:
    """Change the due date or amount; outreach is re-planned (or stopped, when nothing is owed)."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        changes = {}
        if due_date is not None and due_date != invoice.due_date:
            changes["due_date"] = (invoice.due_date, due_date)
            invoice.due_date = due_date
        if amount_due is not None and amount_due != invoice.amount_due:
            paid_so_far = invoice.amount_due - invoice.balance
            changes["amount_due"] = (invoice.amount_due, amount_due)
            invoice.amount_due = amount_due
            invoice.balance = max(Decimal("0"), amount_due - paid_so_far)
        if balance is not None and balance != invoice.balance:
            changes["balance"] = (invoice.balance, balance)
            invoice.balance = balance
        if not changes:
            return invoice
        if invoice.balance <= 0 and invoice.status not in CLOSED_INVOICE:
            invoice.status = "paid"
        invoice.save()
        log(invoice.organization_id, "invoice.updated", now, contact=invoice.contact, invoice=invoice, actor=actor,
            **{k: {"from": str(a), "to": str(b)} for k, (a, b) in changes.items()})
        if invoice.status == "paid":
            settle_promises(invoice, now, paid=True)
            exit_invoice_enrollments(invoice, "paid", now)
        elif "due_date" in changes:
            replan_invoice(invoice, now)
        elif invoice.status == "open":
            enroll_invoice(invoice, now)
        return invoice


def pause_invoice(invoice: Invoice, until: datetime, now: datetime, *, actor: str = "duedesk",
                  reason: str = "") -> None:
    with transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(paused_until=until)
        invoice.paused_until = until
        log(invoice.organization_id, "invoice.paused", now, contact=invoice.contact, invoice=invoice, actor=actor,
            until=until, reason=reason)
