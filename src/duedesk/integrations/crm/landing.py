"""New CRM records a page at a time: the bulk path of the pull.

An initial full sync reads tens of thousands of contacts the clinic's CRM already holds. Landing each one
through `apply_contact_fields` and `enroll_invoice` (one transaction, a dozen statements) ran at about 14
contacts a second; here a page of records duedesk has not seen lands in one transaction with a few
statements: the contacts and their links, their `contact.created` and `contact.updated` events, then their
invoices, enrollments and first steps through the importer's batch writer (`intake/bulk.py`), which plans
each first step with the engine's own walk. The outcome is the one-by-one path's, event for event.

Only the plain case comes here: a record new to duedesk whose values are all good, with the switch absent
or on, and either a due date with a balance (an invoice to enroll, or none when the balance is 0) or no
invoice fields that need one. Everything else — a bad value (named the same way), a switch off, an
invoice reference already taken, a page the database refuses — takes the one-by-one path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.utils import timezone as django_timezone

from duedesk.core.phones import timezone_for_phone
from duedesk.intake.crm_fields import SWITCH_ON, CrmFieldError, _balance, _due_date
from duedesk.integrations.crm.base import Record
from duedesk.integrations.crm.models import Connection, CrmLink
from duedesk.records import rows
from duedesk.records.models import Invoice


@dataclass(slots=True)
class _Row:
    """What the batch writer reads of an import row."""

    external_ref: str
    amount_due: Decimal
    currency: str
    due_date: date
    line: int = 0


@dataclass(slots=True)
class _New:
    record: Record
    values: dict
    fields: dict  # what goes into Contact.fields (as apply_contact_fields stores it)
    changed: list  # the fields named by contact.updated (empty: no such event)
    due: date | None
    balance: Decimal | None
    ref: str  # '' -> CRM-<contact id>


class Lander:
    """Lands the new records of one pull's pages. The batch writer is made on first use, once per pull."""

    def __init__(self, conn: Connection, now: datetime):
        self.conn, self.now = conn, now
        self._writer = None
        self._uses_fields: bool | None = None

    @property
    def writer(self):
        if self._writer is None:
            from duedesk.intake.bulk import BulkWriter

            self._writer = BulkWriter(self.conn.organization, self.now, "crm", match_emails=False)
            # A workflow timed from a contact field plans from each contact's fields; else one walk per
            # (due date, zone) is shared, as the importer does.
            self._uses_fields = "contact.fields" in self._writer.workflow.source
        return self._writer

    def candidate(self, record: Record, values: dict, incoming: dict) -> _New | None:
        """The record, ready to land in bulk; None when it must take the one-by-one path."""
        fresh = {k: v for k, v in incoming.items() if v}
        if "outreach" in fresh and fresh["outreach"].lower() not in SWITCH_ON:
            return None  # the switch off on a new contact: set_outreach's own path
        try:
            due = _due_date(fresh.get("invoice_due_date"))
            balance = _balance(fresh.get("balance"))
        except CrmFieldError:
            return None  # named by the one-by-one path
        ref = fresh.get("invoice_ref", "").strip()
        if len(ref) > 100:
            return None
        touches_invoice = any(k in fresh for k in ("invoice_due_date", "balance", "invoice_ref"))
        if touches_invoice and due is not None and balance is None:
            return None  # "balance: is needed…", named by the one-by-one path
        fields = dict(fresh)
        if due is not None:
            fields["invoice_due_date"] = due.isoformat()
        if balance is not None:
            fields["balance"] = str(balance)
        if "invoice_ref" in fields:
            fields["invoice_ref"] = ref
        return _New(record, values, fields, sorted(fresh), due, balance, ref)

    def land(self, news: list[_New]) -> list[_New]:
        """Write the new records; returns those left for the one-by-one path (taken references, or all of
        them when the database refused the page)."""
        if not news:
            return []
        org = self.conn.organization
        refs = [n.ref for n in news if n.ref]
        taken = set(Invoice.objects.filter(organization=org, external_ref__in=refs)
                    .values_list("external_ref", flat=True)) if refs else set()
        seen: set[str] = set()
        keep, left = [], []
        for n in news:
            if n.ref and (n.ref in taken or n.ref in seen):
                left.append(n)
            else:
                seen.add(n.ref)
                keep.append(n)
        if not keep:
            return left
        try:
            with transaction.atomic():
                self._write(org, keep)
        except (DatabaseError, ArithmeticError, ValueError):
            return news
        return left

    def _write(self, org, news: list[_New]) -> None:
        """The page's rows as the importer writes its chunks, through the engine's bulk verb
        (engine/actions/imports.py): ids taken first, then one INSERT run (COPY on PostgreSQL) per table,
        without a model instance per row. The caller's transaction holds it whole."""
        from duedesk.engine.actions.imports import NewContact, NewInvoice

        conn, provider = self.conn, self.conn.provider
        writer = self.writer
        contacts = []
        for n in news:
            contact = NewContact({**n.values, "external_id": f"{provider}:{n.record.crm_id}"[:100]})
            contact.fields = n.fields
            contact.events.append(("contact.created", {"source": provider, "crm_id": n.record.crm_id}))
            if n.changed:
                contact.events.append(("contact.updated", {"fields": n.changed, "source": "crm"}))
            contacts.append(contact)
        writer.new_invoices.create_contacts(contacts)
        links = rows.table(CrmLink)
        wall = django_timezone.now()  # auto_now(_add) columns, as save() would set them
        prepared = []
        currency = org.default_currency
        with connection.cursor() as cursor:
            link_ids = iter(rows.take_ids(cursor, [(CrmLink, len(news))])[0] or ())
            links.write(cursor, [links.row(wall, id=next(link_ids), connection_id=conn.pk, contact_id=contact.id,
                                           crm_id=n.record.crm_id) for n, contact in zip(news, contacts, strict=True)])
        for n, contact in zip(news, contacts, strict=True):
            if n.due is None or n.balance is None or n.balance <= 0:
                continue  # no invoice: a balance alone waits for a due date; nothing owed, nothing to remind
            row = _Row(n.ref or f"CRM-{contact.id}", n.balance, currency, n.due)
            # contact.tz() of a new contact: no ZIP, the phone already in E.164.
            tz = n.values.get("timezone") or (contact.phone and timezone_for_phone(contact.phone)) or org.timezone
            walk = writer.walk(n.due, tz, n.fields if self._uses_fields else None)
            prepared.append(NewInvoice(row, contact, False, "open", walk, origin={"source": "crm"}))
        if prepared:
            writer.new_invoices.write(prepared)
