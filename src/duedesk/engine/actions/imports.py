"""New invoices by the thousand: an import's chunk or a CRM page of contacts new to duedesk.

`import_row` (intake/importer.py) lands one invoice through `create_contact`, `create_invoice` and
`enroll_invoice`. The bulk paths land the same records with a few statements a chunk: the caller matches
contacts and plans each first step with the engine's own walk (engine/planning.walk); `NewInvoices` writes
the contacts the rows make, the invoices, their events, the enrollments and their first steps, the same
rows, event for event, as the one-by-one path. On PostgreSQL the rows go in with COPY (records/rows.py),
elsewhere with `bulk_create` (an import) or one INSERT run per table (a CRM page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone as django_timezone

from duedesk.engine.actions.invoices import pay_link
from duedesk.engine.advance import new_step, step_key
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.records import rows
from duedesk.records.models import Contact, Event, Invoice, Organization
from duedesk.records.timeline import jsonable


class NewContact:
    """A contact a row makes, before it is written (lighter than a model instance). `events`: what its own
    timeline starts with when it lands alone (`NewInvoices.create_contacts`), as (kind, detail)."""

    __slots__ = ("id", "values", "phone", "email", "fields", "events")

    def __init__(self, values: dict):
        self.id = None
        self.values = values
        self.phone, self.email = values["phone"], values["email"]
        self.fields = None
        self.events: list[tuple[str, dict]] = []


@dataclass(slots=True)
class NewInvoice:
    """One new invoice, ready to write: its contact (existing, or made by this row or an earlier row of
    the chunk), and where its enrollment starts (None: nothing owed, not enrolled)."""

    row: object  # external_ref, amount_due, currency, due_date, line (intake's InvoiceRow)
    contact: Contact | NewContact
    makes_contact: bool
    status: str
    walk: object | None  # engine.planning.Walk
    origin: dict | None = None  # where the invoice came from, for its invoice.created event (default: the file's line)


class NewInvoices:
    """Writes the new invoices of one import (or one CRM pull) into `workflow`, chunk after chunk."""

    def __init__(self, org: Organization, workflow: Workflow, now: datetime, actor: str):
        self.org, self.workflow, self.now, self.actor = org, workflow, now, actor
        self.started_detail = {"workflow": workflow.name, "version": workflow.version}
        self.started_json = json.dumps(self.started_detail)

    # --------------------------------------------------------------- what each record writes

    def _records(self, prepared: list[NewInvoice]):
        """Per new invoice, in row order: (contact.created detail or None, invoice fields,
        enrollment fields or None, first step or None, [enrollment events (kind, detail)])."""
        for p in prepared:
            row = p.row
            invoice = {"external_ref": row.external_ref, "amount_due": row.amount_due, "balance": row.amount_due,
                       "currency": row.currency, "due_date": row.due_date, "status": p.status,
                       "pay_link": pay_link(self.org, row.external_ref)}
            invoice_detail = {"amount_due": str(row.amount_due), "currency": row.currency,
                              "due_date": row.due_date.isoformat(),
                              **(p.origin if p.origin is not None else {"source": "import", "line": row.line})}
            contact_detail = {"source": "import", "line": row.line} if p.makes_contact else None
            enrollment = step = None
            events: list[tuple[str, dict]] = []
            if p.walk is not None:
                where = p.walk
                events.append(("enrollment.started", self.started_detail))
                events.extend(("step.skipped", {"step": s, "reason": reason}) for s, reason in where.skipped)
                enrollment = {"status": "active", "current_step": where.current, "exit_reason": "",
                              "ended_at": None}
                if where.finish:
                    status, reason = where.finish
                    enrollment.update(status=status, exit_reason=reason, ended_at=self.now)
                    events.append(("enrollment.exited" if status == "exited" else "enrollment.done",
                                   {"reason": reason}))
                else:
                    step = (where.step_id, where.kind, where.run_at)
            yield p, contact_detail, invoice, invoice_detail, enrollment, step, events

    # --------------------------------------------------------------- the three ways to write them

    def create(self, prepared: list[NewInvoice]) -> None:
        """Write them in the caller's transaction with `bulk_create` (an import on SQLite)."""
        org_id, now, actor = self.org.pk, self.now, self.actor
        made = [p.contact for p in prepared if p.makes_contact]
        for new, saved in zip(made, Contact.objects.bulk_create(
                [Contact(organization_id=org_id, **c.values) for c in made]), strict=True):
            new.id = saved.pk
        records = list(self._records(prepared))
        invoices = [Invoice(organization_id=org_id, contact_id=p.contact.id, **inv) for p, _, inv, *_ in records]
        Invoice.objects.bulk_create(invoices)
        events: list[Event] = []
        enrollments: list[Enrollment] = []
        steps: list[tuple[Enrollment, tuple]] = []
        for (p, contact_detail, _, invoice_detail, enrollment, step, enrollment_events), invoice in zip(
                records, invoices, strict=True):
            contact_id = p.contact.id
            if contact_detail:
                events.append(Event(organization_id=org_id, kind="contact.created", at=now, contact_id=contact_id,
                                    actor=actor, detail=contact_detail))
            events.append(Event(organization_id=org_id, kind="invoice.created", at=now, contact_id=contact_id,
                                invoice=invoice, actor=actor, detail=invoice_detail))
            events.extend(Event(organization_id=org_id, kind=kind, at=now, contact_id=contact_id, invoice=invoice,
                                detail=detail) for kind, detail in enrollment_events)
            if enrollment is not None:
                e = Enrollment(organization_id=org_id, invoice=invoice, contact_id=contact_id,
                               workflow=self.workflow, started_at=now, **enrollment)
                enrollments.append(e)
                if step:
                    steps.append((e, step))
        Enrollment.objects.bulk_create(enrollments)
        Step.objects.bulk_create([new_step(org_id, e.pk, step_id, kind, 1, run_at, now)
                                  for e, (step_id, kind, run_at) in steps])
        Event.objects.bulk_create(events)

    def write(self, prepared: list[NewInvoice]) -> None:
        """Write them in the caller's transaction as rows (COPY on PostgreSQL, one INSERT run elsewhere),
        without a model instance per row (a CRM page)."""
        with connection.cursor() as cursor:
            for table, batch in self._rows(prepared):
                table.write(cursor, batch)

    def copy_in_background(self, prepared: list[NewInvoice]) -> rows.CopyInBackground:
        """PostgreSQL: COPY them in their own transaction on a thread (an import checks its next chunk
        meanwhile); `wait()` on the answer says whether they landed, whole, or not at all."""
        return rows.CopyInBackground(self._rows(prepared))

    def _rows(self, prepared: list[NewInvoice]) -> list[tuple[rows.CopyTable, list]]:
        """Ids from the sequences, then every row of the chunk as COPY will send it, table by table."""
        tables = {model: rows.table(model) for model in (Contact, Invoice, Enrollment, Step, Event)}
        org_id, now, actor, workflow_id = self.org.pk, self.now, self.actor, self.workflow.pk
        records = list(self._records(prepared))
        n_contacts = sum(1 for p in prepared if p.makes_contact)
        n_enrollments = sum(1 for r in records if r[4] is not None)
        n_steps = sum(1 for r in records if r[5] is not None)
        n_events = sum(len(r[6]) + 1 + (r[1] is not None) for r in records)
        with connection.cursor() as cursor:
            contact_ids, invoice_ids, enrollment_ids, step_ids, event_ids = (
                iter(ids or ()) for ids in rows.take_ids(cursor, [
                    (Contact, n_contacts), (Invoice, len(records)), (Enrollment, n_enrollments),
                    (Step, n_steps), (Event, n_events)]))
            wall = django_timezone.now()  # auto_now(_add) columns, as save() would set them
            contacts, invoices, enrollments, steps, events = [], [], [], [], []
            for p, contact_detail, invoice, invoice_detail, enrollment, step, enrollment_events in records:
                contact = p.contact
                if contact_detail:
                    contact.id = next(contact_ids)
                    contacts.append(tables[Contact].row(wall, id=contact.id, organization_id=org_id,
                                                        **contact.values))
                    events.append(tables[Event].row(wall, id=next(event_ids), organization_id=org_id,
                                                    kind="contact.created", at=now, contact_id=contact.id,
                                                    actor=actor, detail=json.dumps(contact_detail)))
                invoice_id = next(invoice_ids)
                invoices.append(tables[Invoice].row(wall, id=invoice_id, organization_id=org_id,
                                                    contact_id=contact.id, **invoice))
                events.append(tables[Event].row(wall, id=next(event_ids), organization_id=org_id,
                                                kind="invoice.created", at=now, contact_id=contact.id,
                                                invoice_id=invoice_id, actor=actor,
                                                detail=json.dumps(invoice_detail)))
                for kind, detail in enrollment_events:
                    text = self.started_json if detail is self.started_detail else json.dumps(detail)
                    events.append(tables[Event].row(wall, id=next(event_ids), organization_id=org_id, kind=kind,
                                                    at=now, contact_id=contact.id, invoice_id=invoice_id,
                                                    detail=text))
                if enrollment is not None:
                    enrollment_id = next(enrollment_ids)
                    enrollments.append(tables[Enrollment].row(
                        wall, id=enrollment_id, organization_id=org_id, invoice_id=invoice_id,
                        contact_id=contact.id, workflow_id=workflow_id, started_at=now, **enrollment))
                    if step:
                        step_id, kind, run_at = step
                        steps.append(tables[Step].row(
                            wall, id=next(step_ids), organization_id=org_id, enrollment_id=enrollment_id,
                            step_id=step_id, kind=kind, occurrence=1, run_at=run_at,
                            idempotency_key=step_key(enrollment_id, step_id, 1), created_at=now))
        return [(tables[model], batch) for model, batch in ((Contact, contacts), (Invoice, invoices),
                                                            (Enrollment, enrollments), (Step, steps), (Event, events))
                if batch]

    # --------------------------------------------------------------- contacts landing on their own

    def create_contacts(self, contacts: list[NewContact]) -> None:
        """New contacts with their own events (`NewContact.events`), as rows in the caller's transaction;
        each gets its id. Their invoices, if any, follow through `write`."""
        contacts_t, events_t = rows.table(Contact), rows.table(Event)
        org_id, now, actor = self.org.pk, self.now, self.actor
        wall = django_timezone.now()  # auto_now(_add) columns, as save() would set them
        with connection.cursor() as cursor:
            contact_ids, event_ids = (iter(ids or ()) for ids in rows.take_ids(
                cursor, [(Contact, len(contacts)), (Event, sum(len(c.events) for c in contacts))]))
            contact_rows, event_rows = [], []
            for contact in contacts:
                contact.id = next(contact_ids)
                contact_rows.append(contacts_t.row(wall, id=contact.id, organization_id=org_id,
                                                   fields=json.dumps(contact.fields), **contact.values))
                event_rows.extend(events_t.row(wall, id=next(event_ids), organization_id=org_id, kind=kind, at=now,
                                               contact_id=contact.id, actor=actor,
                                               detail=json.dumps(jsonable(detail)))
                                  for kind, detail in contact.events)
            contacts_t.write(cursor, contact_rows)
            events_t.write(cursor, event_rows)
