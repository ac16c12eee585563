"""Writing checked import rows a chunk at a time: the bulk path of `importer.import_invoices`.

A chunk of new invoices lands in one transaction with a few statements: on PostgreSQL with COPY (ids
taken from the tables' sequences first, so rows can refer to each other without a round trip), elsewhere
with `bulk_create`. Both writers take the same prepared records: contacts matched the way
`importer.find_contact` matches them, and each first step planned by the engine's own walk
(`engine.planning.walk`), cached per (due date, time zone) because most rows of a file share them.
When a chunk cannot be written whole it is written row by row (`importer.import_row`), so every good row
lands and each bad one is reported alone.

Memory stays flat however long the file: the references seen so far and the emails of the
organization's contacts are kept as hashes in `KeyTable` (about 35 bytes a key), not as strings.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone as django_timezone

from duedesk.core.phones import contact_timezone
from duedesk.records.models import Contact, Event, Invoice, Organization

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


class NewContact:
    """A contact a row makes, before it is written (lighter than a model instance)."""

    __slots__ = ("id", "values", "phone", "email", "fields")

    def __init__(self, values: dict):
        self.id = None
        self.values = values
        self.phone, self.email = values["phone"], values["email"]
        self.fields = None


@dataclass(slots=True)
class Prepared:
    """One new invoice, ready to write: its contact (existing, or made by this row or an earlier row of
    the chunk), and where its enrollment starts (None: nothing owed, not enrolled)."""

    row: object  # importer.InvoiceRow
    contact: Contact | NewContact
    makes_contact: bool
    status: str
    walk: object | None  # engine.planning.Walk
    origin: dict | None = None  # where the invoice came from, for its invoice.created event (default: the file's line)


class BulkWriter:
    """Writes chunks of new invoices for one import. See the module's docstring."""

    def __init__(self, org: Organization, now: datetime, actor: str, match_emails: bool = True):
        from duedesk.engine import definitions

        self.org, self.now, self.actor = org, now, actor
        self.workflow = definitions.ensure_default(org)
        self.definition = definitions.parsed(self.workflow)
        self.first_step = self.definition.first().id
        self.window = org.send_window()
        self.started_detail = {"workflow": self.workflow.name, "version": self.workflow.version}
        self.started_json = json.dumps(self.started_detail)
        self._walks: dict[tuple[date, str], object] = {}
        self.copy = connection.vendor == "postgresql"
        self._pending: _CopyInBackground | None = None
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

    def prepare(self, rows: list) -> list[Prepared]:
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
        out: list[Prepared] = []
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
            out.append(Prepared(row, contact, makes, status, where))
        return out

    def remember(self, prepared: list[Prepared]) -> None:
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
                self._pending = _CopyInBackground(self._copy_rows(prepared), prepared, fresh)
                return
            with transaction.atomic():
                self._bulk_create(prepared)
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

    # --------------------------------------------------------------- what each record writes

    def _records(self, prepared: list[Prepared]):
        """Per new invoice, in row order: (contact.created detail or None, invoice fields,
        enrollment fields or None, first step or None, [enrollment events (kind, detail)])."""
        from duedesk.intake.importer import _pay_link

        for p in prepared:
            row = p.row
            invoice = {"external_ref": row.external_ref, "amount_due": row.amount_due, "balance": row.amount_due,
                       "currency": row.currency, "due_date": row.due_date, "status": p.status,
                       "pay_link": _pay_link(self.org, row.external_ref)}
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

    def write_new(self, prepared: list[Prepared]) -> None:
        """Write prepared invoices of existing contacts in the caller's transaction (bulk_create on every
        database): for callers that make and match their own contacts, e.g. the CRM pull."""
        self._bulk_create(prepared)

    def _bulk_create(self, prepared: list[Prepared]) -> None:
        from duedesk.engine.advance import new_step
        from duedesk.engine.models import Enrollment, Step

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

    def rows_for(self, prepared: list[Prepared]) -> list[tuple[CopyTable, list]]:
        """`_copy_rows` for callers that write the rows themselves (`CopyTable.write`) in their own
        transaction, on any database (the CRM pull); ids are taken with `take_ids`."""
        return self._copy_rows(prepared)

    def _copy_rows(self, prepared: list[Prepared]) -> list[tuple[CopyTable, list]]:
        """Ids from the sequences, then every row of the chunk as COPY will send it, table by table."""
        from duedesk.engine.advance import step_key
        from duedesk.engine.models import Enrollment, Step

        tables = _copy_tables()
        org_id, now, actor, workflow_id = self.org.pk, self.now, self.actor, self.workflow.pk
        records = list(self._records(prepared))
        n_contacts = sum(1 for p in prepared if p.makes_contact)
        n_enrollments = sum(1 for r in records if r[4] is not None)
        n_steps = sum(1 for r in records if r[5] is not None)
        n_events = sum(len(r[6]) + 1 + (r[1] is not None) for r in records)
        with connection.cursor() as cursor:
            contact_ids, invoice_ids, enrollment_ids, step_ids, event_ids = (
                iter(ids or ()) for ids in take_ids(cursor, [
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
        return [(tables[model], rows) for model, rows in ((Contact, contacts), (Invoice, invoices),
                                                          (Enrollment, enrollments), (Step, steps), (Event, events))
                if rows]


# ----------------------------------------------------------------------------- COPY on PostgreSQL


class _CopyInBackground:
    """One chunk's COPYs and its commit, on the import's own connection, in a thread.

    The chunk is its own transaction (a savepoint when the import runs inside one), so it lands whole or
    not at all; the deferred foreign-key checks run at its commit, in the thread too. The importing thread
    does not use the connection until `wait()` returns: meanwhile it only reads and checks rows.
    """

    def __init__(self, batches: list[tuple[CopyTable, list]], prepared: list[Prepared], fresh: list):
        self.prepared, self.fresh = prepared, fresh
        self.error: BaseException | None = None
        self._raw = connection.connection  # psycopg's connection under Django's
        self._nested = connection.in_atomic_block
        self._thread = threading.Thread(target=self._run, args=(batches,), name="duedesk-import-copy",
                                        daemon=True)
        self._thread.start()

    def _run(self, batches) -> None:
        begin, end, undo = ((["SAVEPOINT duedesk_chunk"], ["RELEASE SAVEPOINT duedesk_chunk"],
                             ["ROLLBACK TO SAVEPOINT duedesk_chunk", "RELEASE SAVEPOINT duedesk_chunk"])
                            if self._nested else (["BEGIN"], ["COMMIT"], ["ROLLBACK"]))
        try:
            with self._raw.cursor() as cursor:
                for statement in begin:
                    cursor.execute(statement)
                try:
                    for table, rows in batches:
                        table.copy(cursor, rows)
                    for statement in end:
                        cursor.execute(statement)
                except BaseException:
                    for statement in undo:
                        cursor.execute(statement)
                    raise
        except BaseException as error:  # handed to the importing thread by wait()
            self.error = error

    def wait(self) -> bool:
        """True when the chunk landed; False when the database refused it (none of it landed)."""
        import psycopg

        self._thread.join()
        if self.error is None:
            return True
        if isinstance(self.error, psycopg.Error):
            return False
        raise self.error


_SEQUENCES: dict[str, str] = {}


def take_ids(cursor, wanted: list[tuple[type[models.Model], int]]) -> list[list[int] | None]:
    """n new ids for each table, ascending (None when n is 0): from the sequences on PostgreSQL; on SQLite
    past the table's highest id and its AUTOINCREMENT counter, which is safe only while the transaction
    holds the write lock (settings: SQLite transactions BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        return _next_ids(cursor, wanted)
    out: list[list[int] | None] = []
    for model, n in wanted:
        if not n:
            out.append(None)
            continue
        table, pk = model._meta.db_table, model._meta.pk.column
        cursor.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                       f"COALESCE((SELECT MAX({pk}) FROM {table}), 0))", [table])
        start = cursor.fetchone()[0] + 1
        out.append(list(range(start, start + n)))
    return out


def _next_ids(cursor, wanted: list[tuple[type[models.Model], int]]) -> list[list[int] | None]:
    """Take n ids from each table's sequence, ascending, in one round trip (None when n is 0)."""
    parts, params = [], []
    for model, n in wanted:
        table = model._meta.db_table
        if table not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            _SEQUENCES[table] = cursor.fetchone()[0]
        parts.append("(SELECT array_agg(v ORDER BY v) FROM (SELECT nextval(%s::regclass) AS v "
                     "FROM generate_series(1, %s)) AS ids)")
        params += [_SEQUENCES[table], n]
    cursor.execute("SELECT " + ", ".join(parts), params)
    return list(cursor.fetchone())


class CopyTable:
    """The columns COPY writes for a model: the values given per row, every other column at its default.

    Defaults come from the model (Django keeps them in Python, not in the table), so a field added later
    with a default needs no change here; a column with a database default is left to the database.
    """

    def __init__(self, model: type[models.Model]):
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if not f.has_db_default()]
        self.defaults = {}
        self.per_row: dict[str, models.Field] = {}
        self.wall = set()
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.wall.add(f.attname)
            elif f.has_default() and callable(f.default) and f.default not in (dict, list):
                self.per_row[f.attname] = f  # a default made per row (a uuid, a token)
            else:
                self.defaults[f.attname] = _db_default(f)  # "" for a blank text field, None for a nullable one
        self.sql = f"COPY {self.table} ({', '.join(connection.ops.quote_name(f.column) for f in self.fields)}) " \
                   "FROM STDIN"
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        self.template = [self.defaults.get(f.attname) for f in self.fields]
        self.wall_positions = [self.position[name] for name in self.wall]
        self.per_row_positions = [(self.position[name], f) for name, f in self.per_row.items()]
        # Health information (the date of birth) is encrypted here too: COPY bypasses the model's fields.
        self.encrypted = {f.attname: f for f in self.fields if getattr(f, "encrypted", False)}

    def row(self, wall: datetime, **values) -> list:
        out = self.template.copy()
        for i in self.wall_positions:
            out[i] = wall
        for i, f in self.per_row_positions:
            out[i] = _db_default(f)
        position = self.position
        encrypted = self.encrypted
        for name, value in values.items():
            out[position[name]] = encrypted[name].get_prep_value(value) if name in encrypted else value
        return out

    def copy(self, cursor, rows: list[list]) -> None:
        with cursor.copy(self.sql) as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, cursor, rows: list[list]) -> None:
        """The rows, in the caller's transaction: COPY on PostgreSQL, else one INSERT run for every row
        (dates, moments and amounts adapted as the model's fields adapt them; JSON is already text)."""
        if not rows:
            return
        if connection.vendor == "postgresql":
            self.copy(cursor, rows)
            return
        if not hasattr(self, "_adapters"):
            kinds = (models.DateTimeField, models.DateField, models.TimeField, models.DecimalField, models.UUIDField)
            self._adapters = [(i, f) for i, f in enumerate(self.fields)
                              if isinstance(f, kinds) and not getattr(f, "encrypted", False)]
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            self._insert = f"INSERT INTO {self.table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"
        adapters = self._adapters
        seen: dict = {}  # most rows share their moments (now, the wall clock) and many their dates
        for row in rows:
            for i, f in adapters:
                value = row[i]
                if value is not None:
                    key = (i, value)
                    if key not in seen:
                        seen[key] = f.get_db_prep_value(value, connection, prepared=False)
                    row[i] = seen[key]
        cursor.executemany(self._insert, rows)


def _db_default(f: models.Field):
    value = f.get_default()
    return json.dumps(value) if isinstance(f, models.JSONField) and value is not None else value


_TABLES: dict = {}


def _copy_tables() -> dict:
    if not _TABLES:
        from duedesk.engine.models import Enrollment, Step

        for model in (Contact, Invoice, Enrollment, Step, Event):
            _TABLES[model] = CopyTable(model)
    return _TABLES
