"""Contact fields as a CRM keeps them: the due date, balance and outreach switch live on the contact.

`apply_contact_fields` merges a CRM's custom fields into Contact.fields and turns the ones the engine
understands into actions, all in one transaction with a `contact.updated` event:

- `invoice_due_date` (with `balance` and `invoice_ref`, default "CRM-<contact id>") creates the invoice
  and enrolls it, or updates it through `actions.update_invoice` so a changed due date re-plans;
- `balance` 0 marks the invoice paid (`actions.mark_invoice_paid`: outreach stops);
- `outreach` on/off (also true/false, yes/no, 1/0) switches outreach (`actions.set_outreach`);
- any other field switched on (off or absent before, now on/true/yes/1) starts the organization's workflow
  with `trigger: {field: <its name>}`, if there is one, for each of the contact's open invoices.

Values are checked before anything is written: a bad one raises CrmFieldError naming the field and
nothing changes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from duedesk.core import vocabulary
from duedesk.intake.importer import parse_amount, parse_date
from duedesk.records.models import Contact, Invoice

INVOICE_FIELDS = ("invoice_due_date", "balance", "invoice_ref")
SWITCH_ON = ("on", "true", "yes", "1")
SWITCH_OFF = ("off", "false", "no", "0")


class CrmFieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def default_ref(contact: Contact) -> str:
    return f"CRM-{contact.pk}"


def _due_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise CrmFieldError("invoice_due_date", f"{value.isoformat()!r} is a moment, not a date")
    if isinstance(value, date):
        return value
    try:
        return parse_date(str(value))
    except ValueError as error:
        raise CrmFieldError("invoice_due_date", str(error)) from None


def _balance(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CrmFieldError("balance", f"{value!r} is not an amount")
    try:
        return parse_amount(str(value))
    except ValueError as error:
        raise CrmFieldError("balance", str(error)) from None


def _switch(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in SWITCH_ON:
        return True
    if word in SWITCH_OFF:
        return False
    raise CrmFieldError("outreach", f"{value!r} is not on or off")


def _stored(value):
    """Contact.fields is JSON: dates and amounts are kept as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def apply_contact_fields(contact: Contact, fields: dict, now: datetime, actor: str = "crm") -> Contact:
    """Merge `fields` into the contact and act on the ones that drive outreach. Returns the fresh contact."""
    from duedesk.engine import actions

    fields = {str(k): v for k, v in fields.items()}
    outreach = _switch(fields["outreach"]) if "outreach" in fields else None
    incoming_due = _due_date(fields.get("invoice_due_date"))
    incoming_balance = _balance(fields.get("balance"))
    if "invoice_due_date" in fields and incoming_due is not None:
        fields["invoice_due_date"] = incoming_due.isoformat()
    if "balance" in fields and incoming_balance is not None:
        fields["balance"] = str(incoming_balance)
    if "invoice_ref" in fields:
        fields["invoice_ref"] = str(fields["invoice_ref"] or "").strip()
        if len(fields["invoice_ref"]) > 100:
            raise CrmFieldError("invoice_ref", "is longer than 100 characters")

    with transaction.atomic():
        contact = Contact.objects.select_for_update().select_related("organization").get(pk=contact.pk)
        old = dict(contact.fields or {})
        merged = {**old, **{k: _stored(v) for k, v in fields.items()}}
        # The engine's fields are read from the merged record: a CRM may send the balance once and the
        # due date later. Older values are checked again, so a bad stored one is named, not guessed.
        touches_invoice = any(k in fields for k in INVOICE_FIELDS)
        due = _due_date(merged.get("invoice_due_date")) if touches_invoice else None
        balance = _balance(merged.get("balance")) if touches_invoice else None
        ref = str(merged.get("invoice_ref") or "").strip() or default_ref(contact)

        changed = sorted(k for k in fields if old.get(k, _MISSING) != merged[k])
        actions.set_contact_fields(contact, merged, now, actor=actor, changed=changed, source="crm")
        if touches_invoice:
            _sync_invoice(contact, ref, due, balance, now, actor)
        if outreach is not None:
            actions.set_outreach(contact, outreach, now, actor=actor)
        _start_field_workflows(contact, [k for k in changed if k not in ENGINE_FIELDS and _is_on(merged[k])
                                         and not _is_on(old.get(k))], now)
        contact.refresh_from_db()
        return contact


ENGINE_FIELDS = (*INVOICE_FIELDS, "outreach")


def _is_on(value) -> bool:
    return value is True or (isinstance(value, str | int) and str(value).strip().lower() in SWITCH_ON)


def _start_field_workflows(contact: Contact, switched_on: list[str], now: datetime) -> None:
    """A field a person flipped on in the CRM ("Send statement reminders") starts the workflow that names it,
    on each open invoice of the contact; a field no workflow names is only kept."""
    from duedesk.engine import actions, definitions

    for name in switched_on:
        if definitions.triggered_by(contact.organization, "field", name) is None:
            continue
        for invoice in Invoice.objects.filter(contact=contact, status="open", balance__gt=0).order_by("pk"):
            actions.start_on_event(invoice, name, now, now, source="crm", kind="field")


_MISSING = object()


def _sync_invoice(contact: Contact, ref: str, due: date | None, balance: Decimal | None, now: datetime,
                  actor: str) -> Invoice | None:
    from duedesk.engine import actions

    org = contact.organization
    invoice = Invoice.objects.filter(organization_id=contact.organization_id, external_ref=ref).first()
    if invoice is not None and invoice.contact_id != contact.pk:
        raise CrmFieldError("invoice_ref", f"{ref!r} is another contact's invoice")
    if invoice is None:
        if due is None:
            return None  # a balance alone: kept as a field until a due date comes
        if balance is None:
            raise CrmFieldError("balance", "is needed to start reminders for a new invoice")
        if balance == 0:
            return None  # nothing owed: nothing to remind about
        return actions.create_invoice(org, contact, now, external_ref=ref, amount_due=balance, due_date=due,
                                      actor=actor, detail={"source": "crm", "amount_due": str(balance),
                                                           "due_date": due})
    if balance == 0:
        if invoice.status != "paid" and invoice.balance > 0:
            invoice = actions.mark_invoice_paid(invoice, now, actor=actor, source="crm")
        if due is not None and due != invoice.due_date:
            invoice = actions.update_invoice(invoice, now, due_date=due, actor=actor)
        return invoice
    if balance is not None and balance > 0 and invoice.status == "paid":
        # Owed again (a new charge in the CRM): outreach starts over for the open balance.
        invoice = actions.set_invoice_status(invoice, "open", now, actor=actor, note=vocabulary.sentence("owed_again"))
    amount_due = balance if balance is not None and balance > invoice.amount_due else None
    return actions.update_invoice(invoice, now, due_date=due, amount_due=amount_due, balance=balance, actor=actor)
