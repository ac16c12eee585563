"""Writing checked import rows a chunk at a time: the bulk path of `importer.import_invoices`.

A chunk of new invoices lands in one transaction with a few statements, written by the engine's bulk verb
(engine/actions/imports.py: COPY on PostgreSQL, `bulk_create` elsewhere). This module prepares what it
writes: contacts matched the way `importer.find_contact` matches them, and each first step planned by the
engine's own walk (`engine.planning.walk`), cached per (due date, time zone) because most rows of a file
share them.
When a chunk cannot be written whole it is written row by row (`importer.import_row`), so every good row
lands and each bad one is reported alone.

Memory stays flat however long the file: the references seen so far and the emails of the
organization's contacts are kept as hashes in `KeyTable` (about 35 bytes a key), not as strings.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from datetime import date, datetime

from django.db import DatabaseError, connection, transaction

from duedesk.core.phones import contact_timezone
from duedesk.engine.actions.imports import NewContact, NewInvoice, NewInvoices
from duedesk.records.models import Contact, Invoice, Organization
from duedesk.records.rows import CopyInBackground

# ----------------------------------------------------------------------------- remembering keys compactly


class KeyTable:
    """A map from strings to ints that stores two hashes of each key (95 bits) instead of the key.

    Open addressing over three arrays: about 24-40 bytes a key against ~150 for a dict of strings, so a
    million references fit in ~40 MB. Two different keys are taken for one with a probability of about
    n²/2^96 (1e-17 for a million keys); the hashes are Python's own, salted per process.
    """

    def __init__(self, value_type: str = "q", capacity: int = 1 << 12):
        self._value_type = value_type
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._h1 = array("q", bytes(8 * capacity))  # 0: an empty slot
        self._h2 = array("i", bytes(4 * capacity))
        self._values = array(self._value_type, bytes(array(self._value_type).itemsize * capacity))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @staticmethod
    def _hashes(key: str) -> tuple[int, int]:
        return hash(key) or 1, hash(key + "\x1f") & 0x7FFFFFFF

    def get(self, key: str, default: int | None = None) -> int | None:
        h1, h2 = self._hashes(key)
        i = h1 & self._mask
        while k := self._h1[i]:
            if k == h1 and self._h2[i] == h2:
                return self._values[i]
            i = (i + 1) & self._mask
        return default

    def setdefault(self, key: str, value: int) -> int:
        """The value kept for `key`: the first one given."""
        h1, h2 = self._hashes(key)
        return self._put(h1, h2, value)

    def _put(self, h1: int, h2: int, value: int) -> int:
        i = h1 & self._mask
        while k := self._h1[i]:
            if k == h1 and self._h2[i] == h2:
                return self._values[i]
            i = (i + 1) & self._mask
        self._h1[i], self._h2[i], self._values[i] = h1, h2, value
        self._count += 1
        if self._count * 2 > self._mask:
            self._grow()
        return value

    def _grow(self) -> None:
        old = (self._h1, self._h2, self._values)
        self._allocate((self._mask + 1) * 2)
        for h1, h2, value in zip(*old, strict=True):
            if h1:
                self._put(h1, h2, value)


# ----------------------------------------------------------------------------- preparing a chunk


class BulkWriter:
    """Writes chunks of new invoices for one import. See the module's docstring."""

    def __init__(self, org: Organization, now: datetime, actor: str, match_emails: bool = True):
        from duedesk.engine import definitions

        self.org, self.now, self.actor = org, now, actor
        self.workflow = definitions.ensure_default(org)
        self.definition = definitions.parsed(self.workflow)
        self.first_step = self.definition.first().id
        self.window = org.send_window()
        self.new_invoices = NewInvoices(org, self.workflow, now, actor)
        self._walks: dict[tuple[date, str], object] = {}
        self.copy = connection.vendor == "postgresql"
        self._pending: _Pending | None = None
        # Lowest contact id per lower-cased email, as find_contact matches: the organization's contacts
        # now, then each contact this import makes. Contact has no index on email, so asking the database
        # for a chunk's emails would read every contact of the organization.
        self.emails = KeyTable("q")
        if not match_emails:  # the caller matches its own contacts (the CRM pull) and never calls prepare()
            return
        contacts = (Contact.objects.filter(organization=org).exclude(email="").order_by("id")
                    .values_list("id", "email"))
        for contact_id, email in contacts.iterator(chunk_size=20_000):
            self.emails.setdefault(email.lower(), contact_id)

    # --------------------------------------------------------------- planning (the engine's own walk)

    def walk(self, due_date: date, tz: str, fields: dict | None):
        """`importer.plan_first_step` for a new enrollment; cached when no contact field can change it."""
        if fields:
            return self._walk(due_date, tz, fields)
        key = (due_date, tz)
        found = self._walks.get(key)
        if found is None:
            if len(self._walks) > 50_000:
                self._walks.clear()
            found = self._walks[key] = self._walk(due_date, tz, None)
        return found

    def _walk(self, due_date: date, tz: str, fields: dict | None):
        from duedesk.engine.planning import Anchors, walk

        anchors = Anchors(due_date=due_date, promise_date=None, contact_fields=fields,
                          invoice_dates={"due_date": due_date, "next_instalment": None})
        return walk(self.definition, self.first_step, anchors, self.now, tz, self.window)

    def new_contact_tz(self, row) -> str:
        """Contact.tz() of a contact made from a row: the phone already in E.164."""
        return row.timezone or contact_timezone(zip_code=row.zip_code or None, phone=row.phone or None,
                                                fallback=self.org.timezone)

    def prepare(self, rows: list) -> list[NewInvoice]:
        """Match each row's contact (phone, then email, else a new one) and plan its first step."""
        from duedesk.engine.actions import CLOSED_INVOICE
        from duedesk.intake.importer import contact_values

        org = self.org
        phones = {r.phone for r in rows if r.phone}
        by_phone: dict[str, Contact] = {}
        if phones:
            for c in Contact.objects.filter(organization=org, phone__in=phones).order_by("-id"):
                by_phone[c.phone] = c  # the lowest id wins, as in find_contact
        email_ids = {}
        for r in rows:
            if r.email and not (r.phone and r.phone in by_phone):
                contact_id = self.emails.get(r.email.lower())
                if contact_id is not None:
                    email_ids[r.email.lower()] = contact_id
        by_email: dict[str, Contact] = {}
        if email_ids:
            known = Contact.objects.in_bulk(set(email_ids.values()))
            by_email = {email: known[i] for email, i in email_ids.items() if i in known}
        out: list[NewInvoice] = []
        tz_of: dict[int, str] = {}  # id(contact) -> its zone, once per contact
        for row in rows:
            contact = (by_phone.get(row.phone) if row.phone else None) or (
                by_email.get(row.email.lower()) if row.email else None)
            makes = contact is None
            if makes:
                contact = NewContact(contact_values(row))
                tz_of[id(contact)] = self.new_contact_tz(row)
                if row.phone:
                    by_phone[row.phone] = contact
                if row.email:
                    by_email.setdefault(row.email.lower(), contact)
            elif isinstance(contact, Contact):
                contact.organization = org  # for contact.tz(), without a query
            status = "open" if row.amount_due > 0 else "paid"
            where = None
            if not (status in CLOSED_INVOICE or row.amount_due <= 0):
                tz = tz_of.get(id(contact))
                if tz is None:
                    tz = tz_of[id(contact)] = contact.tz()
                where = self.walk(row.due_date, tz, contact.fields)
            out.append(NewInvoice(row, contact, makes, status, where))
        return out

    def remember(self, prepared: list[NewInvoice]) -> None:
        """After a chunk commits: its new contacts' emails, for the rows to come."""
        for p in prepared:
            if p.makes_contact and p.contact.email:
                self.emails.setdefault(p.contact.email.lower(), p.contact.id)

    def remember_refs(self, refs: list[str]) -> None:
        """After rows landed one by one: the emails of the contacts their invoices got."""
        for contact_id, email in (Invoice.objects.filter(organization=self.org, external_ref__in=refs)
                                  .exclude(contact__email="").values_list("contact_id", "contact__email")):
            self.emails.setdefault(email.lower(), contact_id)

    # --------------------------------------------------------------- the chunk

    def write_chunk(self, rows: list, result, import_one: Callable) -> None:
        """Land a chunk of checked rows; the same rows, events and plans as `importer.import_row`.

        Rows whose invoice already exists take the one-row path (they may re-plan). When the new ones
        cannot be written as a whole, they are written row by row so each bad row is reported alone.
        On PostgreSQL the new ones are sent in the background: the caller checks the next chunk's rows
        while the database writes this one, and `flush` (called first thing here) waits for it.
        """
        self.flush(result, import_one)
        refs = [r.external_ref for r in rows]
        existing = set(Invoice.objects.filter(organization=self.org, external_ref__in=refs)
                       .values_list("external_ref", flat=True))
        for row in rows:
            if row.external_ref in existing or row.consent is not None:  # consent is written row by row
                import_one(row)
        fresh = [r for r in rows if r.external_ref not in existing and r.consent is None]
        if not fresh:
            return
        try:
            prepared = self.prepare(fresh)
            if self.copy:
                self._pending = _Pending(self.new_invoices.copy_in_background(prepared), prepared, fresh)
                return
            with transaction.atomic():
                self.new_invoices.create(prepared)
        except (DatabaseError, ArithmeticError, ValueError):
            # Something in the chunk could not be planned or written: row by row, each one reports its own.
            self._one_by_one(fresh, import_one)
        else:
            result.created += len(fresh)
            self.remember(prepared)

    def flush(self, result, import_one: Callable) -> None:
        """Wait for the chunk being written; if it failed (nothing of it landed), write it row by row."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.wait():
            result.created += len(pending.fresh)
            self.remember(pending.prepared)
        else:
            self._one_by_one(pending.fresh, import_one)

    def close(self) -> None:
        """Wait for a chunk still being written (after an error: whatever it did is rolled back or kept whole)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.wait()

    def _one_by_one(self, fresh: list, import_one: Callable) -> None:
        for row in fresh:
            import_one(row)
        self.remember_refs([r.external_ref for r in fresh])


class _Pending:
    """A chunk being written in the background, and the rows it came from."""

    def __init__(self, copying: CopyInBackground, prepared: list[NewInvoice], fresh: list):
        self.copying, self.prepared, self.fresh = copying, prepared, fresh

    def wait(self) -> bool:
        return self.copying.wait()
