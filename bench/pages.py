"""Time the staff pages on a large clinic: every page, the contact searches and the start of every CSV export.

The issue's target: with 100,000 contacts and 1,000,000 events in PostgreSQL, every staff page (the
overview, the inbox and its filters, a handoff, contacts and a contact, the searches with and without
accents, by phone and by invoice reference, settings, workflows, imports) renders in under 200 ms at p95
with a bounded number of queries, and every CSV export (inbox, contacts, promises, payments, the audit of
attempts) sends its first row of data within 200 ms. The full run:

    .venv/bin/python bench/pages.py --contacts 100000 --events 1000000

Seeding that takes about ten minutes on a quiet machine: `--reuse NAME` seeds a database of that name once and
keeps it (with its data directory, which holds the key its patients' fields are encrypted with), then later
runs migrate it and time the pages on it; `--only overview,search` times some pages.

`make bench` runs the default, a tenth of that (10,000 contacts, 100,000 events). Rows are written with
PostgreSQL COPY (psycopg 3, through records.rows.CopyTable, so every column the models have gets its
default, encrypted columns are encrypted and the contacts' search text is folded) into a scratch database
that is created here and dropped at the end; ids come from each table's own sequence. Beside the contacts
(some named Lucía Muñoz, José Peña, Begoña Ibáñez) and their numbers and events it writes invoices (1.2 per
contact), an enrollment and three steps per invoice, a text or call record per step done (the audit's rows),
promises (one invoice in ten), handoffs (3 % of contacts, a third resolved) and payment-plan instalments, so
every page reads tables of a realistic size. Each invoice's first_texted_at / first_called_at is its first
sms.sent / call.placed event's time, as the engine sets them; the seeding checks that against the events.

Prints the seeding time, then per page p50/p95, the CPU this process spent per request (p50), the time
PostgreSQL gives for the page's queries (EXPLAIN ANALYZE, best of three; not for the exports) and their
number, the machine's load average (the wall-clock figures mean little on a busy machine; the CPU and SQL
figures much more) and the pages over 200 ms. An export is timed to its first row of data (the
byte-order mark and the header go out before any query). The overview keeps its figures until the next
Event (web.overview.figures); "overview, cold" clears that cache before every request, so it times the
figures' queries themselves. PostgreSQL comes from DUEDESK_BENCH_POSTGRES_URL or DUEDESK_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
TODAY = date(2026, 12, 7)

FIRST = ["Lucía", "José", "Begoña", "Ana", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hector", "Iris", "James", "Keiko", "Luis",
         "Maria", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wendy", "Yusuf"]
LAST = ["Muñoz", "Peña", "Ibáñez", "Reyes", "Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Patel", "Kim", "Lopez", "Miller", "Davis",
        "Wilson", "Moore", "Taylor", "Thomas", "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young",
        "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell"]
# (status, share in %): most invoices are open or already paid.
STATUSES = [("open", 50), ("paid", 32), ("in_plan", 8), ("hardship", 4), ("disputed", 3), ("written_off", 3)]
REASONS = ["dispute", "hardship", "payment_plan", "request_human", "verify_payment", "reply_needs_reading",
           "no_response"]
# One invoice's life, in order; each invoice gets the first events of this list (about 8 on average).
LIFE = ["enrollment.started", "sms.sent", "step.deferred", "sms.sent", "sms.received", "call.placed",
        "call.completed", "promise.recorded", "payment.recorded", "sms.sent", "call.placed", "call.completed",
        "step.blocked", "sms.sent", "payment.recorded", "enrollment.done"]
TRANSCRIPT = [
    {"speaker": "agent", "text": "Hi, this is the billing office of Bench Clinic. Am I speaking with the patient?",
     "intent": ""},
    {"speaker": "patient", "text": "Yes, speaking.", "intent": "affirm"},
    {"speaker": "agent", "text": "Thanks. Your balance of $120.00 is past due. When can you pay it?", "intent": ""},
    {"speaker": "patient", "text": "I can pay on Friday the 18th.", "intent": "promise"},
    {"speaker": "agent", "text": "Thank you, I have noted Friday, December 18. Goodbye.", "intent": ""},
]


def _block(cur, table: str, n: int) -> int:
    """Reserve n ids from the table's own sequence; returns the first."""
    if n == 0:
        return 0
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
    seq = cur.fetchone()[0]
    cur.execute("SELECT setval(%s, nextval(%s) + %s - 1)", (seq, seq, n))
    return cur.fetchone()[0] - n + 1


def _copy(cur, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples in `columns`' order) into a table; every other column at the model's default, as the
    import writes them (records.rows.CopyTable: encrypted columns encrypted, the contacts' search text folded)."""
    import json

    from django.apps import apps
    from django.db.models import JSONField
    from psycopg.types.json import Jsonb

    from duedesk.records import rows as copy_rows

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    target = copy_rows.table(model)
    plain_json = {f.attname for f in model._meta.concrete_fields if isinstance(f, JSONField)}
    n = 0
    with cur.copy(target.sql) as copy:
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            for name, value in values.items():
                if isinstance(value, Jsonb):
                    values[name] = json.dumps(value.obj) if name in plain_json else value.obj
            copy.write_row(target.row(NOW, **values))
            n += 1
    return n


def seed(url: str, n_contacts: int, n_events: int) -> dict:
    """The organization and its users through the ORM; every other row by COPY. Returns ids to time."""
    import psycopg
    from django.contrib.auth import get_user_model
    from psycopg.types.json import Jsonb

    from duedesk.engine import definitions
    from duedesk.records.models import Membership, Organization

    org = Organization.objects.create(slug="bench", name="Bench Clinic")
    workflow = definitions.ensure_default(org)
    user = get_user_model().objects.create_user("bench", "b@example.com", "a-long-password-1")
    Membership.objects.create(user=user, organization=org, role="owner")
    rnd = random.Random(7)
    o = org.pk
    weights = [w for _, w in STATUSES]
    names = [s for s, _ in STATUSES]

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        # Contacts: one invoice each, every fifth contact a second one.
        c0 = _block(cur, "records_contact", n_contacts)
        _copy(cur, "records_contact", [
            "id", "organization_id", "external_id", "first_name", "last_name", "phone", "email", "zip_code",
            "timezone", "language", "date_of_birth", "fields", "outreach_on",
            "last_conversation_at", "created_at", "updated_at"], (
            (c0 + i, o, f"P{i:06d}", FIRST[i % len(FIRST)], LAST[(i * 7 + i // 31) % len(LAST)],
             f"+1646{2000000 + i:07d}", f"p{i}@example.com" if i % 3 else "", "10001", "",
             "es" if i % 9 == 0 else "en", date(1960 + i % 45, 1 + i % 12, 1 + i % 28), Jsonb({}),
             i % 50 != 0, NOW - timedelta(days=i % 60) if i % 4 == 0 else None, NOW - timedelta(days=200), NOW)
            for i in range(n_contacts)))
        # Each contact's number, one in forty opted out of texts (opt-outs belong to the number).
        l0 = _block(cur, "records_line", n_contacts)
        _copy(cur, "records_line", ["id", "organization_id", "kind", "address", "opted_out"], (
            (l0 + i, o, "phone", f"+1646{2000000 + i:07d}", Jsonb({"sms": NOW.isoformat()} if i % 40 == 0 else {}))
            for i in range(n_contacts)))
        owners = [c0 + i for i in range(n_contacts) for _ in range(2 if i % 5 == 0 else 1)]
        n_inv = len(owners)
        i0 = _block(cur, "records_invoice", n_inv)
        inv_status = rnd.choices(names, weights, k=n_inv)
        due = [TODAY - timedelta(days=rnd.randint(-20, 200)) for _ in range(n_inv)]
        amount = [Decimal(rnd.randint(40, 900)) for _ in range(n_inv)]
        balance = [Decimal(0) if s in ("paid", "written_off") else a - (a // 4 if s == "in_plan" else 0)
                   for s, a in zip(inv_status, amount, strict=True)]
        # Handoffs (below) on one invoice in 33; events: the rest spread over the invoices, in the order of LIFE.
        handed = [k for k in range(n_inv) if k % 33 == 0]
        per, extra = divmod(n_events - len(handed), n_inv)

        def life(k):
            """Invoice k's (kind, at), in order; its first sms.sent / call.placed stamp the invoice as the
            engine does (Invoice.first_texted_at / first_called_at)."""
            start = datetime.combine(due[k], datetime.min.time(), UTC) - timedelta(days=7, hours=-15)
            for j in range(per + (1 if k < extra else 0)):
                yield LIFE[j % len(LIFE)], min(NOW - timedelta(minutes=k % 997),
                                               start + timedelta(days=j, minutes=k % 600))

        def first(k, wanted):
            return next((at for kind, at in life(k) if kind == wanted), None)

        def paid(k):  # the payment.recorded events' amounts (below: 40.00 each)
            return Decimal(40) * sum(kind == "payment.recorded" for kind, _ in life(k))

        _copy(cur, "records_invoice", [
            "id", "organization_id", "contact_id", "external_ref", "amount_due", "balance", "currency", "due_date",
            "status", "pay_link", "paused_until", "first_texted_at", "first_called_at", "paid", "created_at",
            "updated_at"], (
            (i0 + k, o, owners[k], f"INV-{k:07d}", amount[k], balance[k], "USD", due[k], inv_status[k], "",
             None, first(k, "sms.sent"), first(k, "call.placed"), paid(k), NOW - timedelta(days=210), NOW)
            for k in range(n_inv)))

        # One enrollment per invoice, three steps each: two texts and a call.
        e0 = _block(cur, "engine_enrollment", n_inv)
        live = {"open": "active", "in_plan": "active", "hardship": "paused"}
        _copy(cur, "engine_enrollment", [
            "id", "organization_id", "invoice_id", "contact_id", "workflow_id", "status", "exit_reason",
            "current_step", "data", "started_at", "ended_at"], (
            (e0 + k, o, i0 + k, owners[k], workflow.pk, live.get(inv_status[k], "exited"),
             "" if inv_status[k] in live else inv_status[k], "call_overdue", Jsonb({}),
             datetime.combine(due[k], datetime.min.time(), UTC) - timedelta(days=7),
             None if inv_status[k] in live else NOW - timedelta(days=k % 30)) for k in range(n_inv)))
        s0 = _block(cur, "engine_step", 3 * n_inv)
        done = []  # (step id, invoice k, kind, when): each a text sent or a call placed (the audit's rows)

        def steps():
            for k in range(n_inv):
                start = datetime.combine(due[k], datetime.min.time(), UTC) + timedelta(hours=15)
                pending = inv_status[k] in live
                for j, (sid, kind, offset) in enumerate((("remind_before", "sms", -3), ("due_today", "sms", 0),
                                                         ("call_overdue", "call", 7))):
                    run_at = start + timedelta(days=offset)
                    status = "pending" if pending and run_at > NOW else ("done" if run_at <= NOW else "cancelled")
                    if status == "done":
                        done.append((s0 + 3 * k + j, k, kind, run_at))
                    yield (s0 + 3 * k + j, o, e0 + k, sid, kind, 1, run_at, status, 0, None, "",
                           f"bench:{e0 + k}:{sid}:1", "", "sent" if status == "done" else "", "", run_at,
                           run_at if status != "pending" else None)

        _copy(cur, "engine_step", [
            "id", "organization_id", "enrollment_id", "step_id", "kind", "occurrence", "run_at", "status",
            "attempts", "lease_until", "leased_by", "idempotency_key", "provider_id", "outcome", "last_error",
            "created_at", "finished_at"], steps())
        texts = [d for d in done if d[2] == "sms"]
        m0 = _block(cur, "records_message", len(texts))
        _copy(cur, "records_message", [
            "id", "organization_id", "contact_id", "invoice_id", "step_id", "to", "body", "status", "provider_id",
            "idempotency_key", "created_at", "consent_basis", "content_sha256"], (
            (m0 + n, o, owners[k], i0 + k, sid, f"+1646{2000000 + owners[k] - c0:07d}",
             "Hi, a reminder from Bench Clinic: $120.00 is due Dec 18. Reply STOP to opt out.", "delivered",
             f"SM{sid:032d}", f"bench:{sid}", at, "express", "0" * 64) for n, (sid, k, _, at) in enumerate(texts)))
        calls = [d for d in done if d[2] == "call"]
        k0 = _block(cur, "records_call", len(calls))
        _copy(cur, "records_call", [
            "id", "organization_id", "contact_id", "invoice_id", "step_id", "to", "status", "provider_id",
            "idempotency_key", "outcome", "created_at", "ended_at", "duration_seconds", "consent_basis",
            "content_sha256", "dialog_state"], (
            (k0 + n, o, owners[k], i0 + k, sid, f"+1646{2000000 + owners[k] - c0:07d}", "completed",
             f"CA{sid:032d}", f"bench:{sid}", "promised", at, at + timedelta(seconds=95), 95, "express", "0" * 64,
             Jsonb({}))
            for n, (sid, k, _, at) in enumerate(calls)))

        # Promises on one invoice in ten; instalments for payment plans.
        promised = [k for k in range(n_inv) if k % 10 == 3]
        p0 = _block(cur, "records_promise", len(promised))
        _copy(cur, "records_promise", [
            "id", "organization_id", "contact_id", "invoice_id", "promised_date", "amount", "channel", "status",
            "created_at", "resolved_at"], (
            (p0 + n, o, owners[k], i0 + k, due[k] + timedelta(days=10), None, "call",
             "kept" if inv_status[k] == "paid" else ("pending" if n % 3 else "broken"),
             datetime.combine(due[k], datetime.min.time(), UTC) + timedelta(days=8),
             NOW - timedelta(days=n % 20) if inv_status[k] == "paid" or n % 3 == 0 else None)
            for n, k in enumerate(promised)))
        planned = [k for k in range(n_inv) if inv_status[k] == "in_plan"]
        t0 = _block(cur, "records_instalment", 3 * len(planned))
        _copy(cur, "records_instalment", [
            "id", "organization_id", "invoice_id", "due_date", "amount", "status", "created_at"], (
            (t0 + 3 * n + j, o, i0 + k, TODAY + timedelta(days=30 * j - 20), (amount[k] / 3).quantize(Decimal("0.01")),
             "paid" if j == 0 else "pending", NOW - timedelta(days=25))
            for n, k in enumerate(planned) for j in range(3)))

        # Handoffs: 3 % of contacts (their first invoice), newest first; a third resolved.
        h0 = _block(cur, "records_handoff", len(handed))
        handoff_of = {}
        rows = []
        for n, k in enumerate(handed):
            created = NOW - timedelta(minutes=37 * n + 5)
            resolved = n % 3 == 2
            handoff_of[k] = (h0 + n, created)
            rows.append((h0 + n, o, owners[k], i0 + k, REASONS[n % len(REASONS)], "resolved" if resolved else "open",
                         None, "Asks to pay over three months" if n % 2 else "Says the bill was already paid",
                         Jsonb({"identity_verified": True, "stated_reason": "lost job"}), Jsonb(TRANSCRIPT), "",
                         "", created, created + timedelta(hours=5 + n % 40) if resolved else None))
        _copy(cur, "records_handoff", [
            "id", "organization_id", "contact_id", "invoice_id", "reason", "status", "assignee_id", "summary",
            "collected", "transcript", "resolution", "resolution_note", "created_at", "resolved_at"], rows)

        # Events: n_events spread over the invoices, each invoice's in the order of LIFE (life(k) above).
        ev0 = _block(cur, "records_event", n_events)

        def events():
            eid = ev0
            for k in range(n_inv):
                for kind, at in life(k):
                    if kind in ("sms.sent", "sms.received"):
                        d = {"body": "Hi, a reminder from Bench Clinic: $120.00 is due Dec 18. Reply STOP to opt out."
                             if kind == "sms.sent" else "I will pay on Friday"}
                    elif kind == "call.completed":
                        d = {"outcome": "promised", "transcript": TRANSCRIPT, "collected": {"promised_date": "2026-12-18"}}
                    elif kind == "payment.recorded":
                        d = {"amount": "40.00", "balance": "80.00", "source": "crm"}
                    elif kind == "promise.recorded":
                        d = {"date": "2026-12-18"}
                    elif kind in ("step.deferred", "step.blocked"):
                        d = {"rule": "send_window" if kind == "step.deferred" else "opted_out", "step": "due_today",
                             "until": (at + timedelta(hours=10)).isoformat()}
                    elif kind == "enrollment.started":
                        d = {"workflow": "payment-reminders", "version": 1}
                    else:
                        d = {}
                    channel = kind.split(".")[0] if kind.startswith(("sms", "call")) else ""
                    yield (eid, o, owners[k], i0 + k, None, kind, channel, "patient" if kind == "sms.received"
                           else "duedesk", Jsonb(d), at)
                    eid += 1
                if k in handoff_of:
                    hid, created = handoff_of[k]
                    yield (eid, o, owners[k], i0 + k, hid, "handoff.opened", "", "duedesk",
                           Jsonb({"reason": "hardship", "summary": "Asks to pay over three months"}), created)
                    eid += 1

        written = _copy(cur, "records_event", [
            "id", "organization_id", "contact_id", "invoice_id", "handoff_id", "kind", "channel", "actor", "detail",
            "at"], events())
        conn.commit()
        conn.autocommit = True
        # The invoices' first text and first call agree with the events (what the funnel used to read).
        cur.execute("""
            SELECT count(*) FROM records_invoice i LEFT JOIN (
                SELECT invoice_id, min(at) FILTER (WHERE kind = 'sms.sent') AS texted,
                       min(at) FILTER (WHERE kind = 'call.placed') AS called
                FROM records_event WHERE organization_id = %s AND kind IN ('sms.sent', 'call.placed')
                GROUP BY invoice_id) e ON e.invoice_id = i.id
            WHERE i.organization_id = %s
              AND (i.first_texted_at IS DISTINCT FROM e.texted OR i.first_called_at IS DISTINCT FROM e.called)""",
                    (o, o))
        assert cur.fetchone()[0] == 0, "first_texted_at / first_called_at disagree with the events"
        cur.execute("VACUUM ANALYZE")
    return {"user": user, "contact": c0, "handoff": h0, "contacts": n_contacts, "invoices": n_inv,
            "events": written, "handoffs": len(handed), "steps": 3 * n_inv, "promises": len(promised),
            "attempts": len(done)}


def tallies_agree() -> None:
    """The overview's tallies (records.models.InvoiceTally, kept by triggers) add up to the invoices."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(balance), sum(paid) FROM records_invoice")
        invoices = cursor.fetchone()
        cursor.execute("SELECT sum(n), sum(balance), sum(paid) FROM records_invoicetally")
        tallies = cursor.fetchone()
    assert tuple(invoices) == tuple(tallies), f"the tallies {tallies} are not the invoices' {invoices}"


def found(n_contacts: int) -> dict:
    """The ids seed() returned, read back from a database it seeded in an earlier run (--reuse)."""
    from django.contrib.auth import get_user_model

    from duedesk.engine.models import Step
    from duedesk.records.models import Call, Contact, Event, Handoff, Invoice, Message, Organization, Promise

    org = Organization.objects.get(slug="bench")
    contacts = Contact.objects.filter(organization=org)
    assert contacts.count() == n_contacts, f"the kept database has {contacts.count():,} contacts, not {n_contacts:,}"
    return {"user": get_user_model().objects.get(username="bench"), "contact": contacts.order_by("pk")[0].pk,
            "handoff": Handoff.objects.filter(organization=org).order_by("pk")[0].pk, "contacts": n_contacts,
            "invoices": Invoice.objects.filter(organization=org).count(),
            "events": Event.objects.filter(organization=org).count(),
            "handoffs": Handoff.objects.filter(organization=org).count(),
            "steps": Step.objects.filter(organization=org).count(), "promises": Promise.objects.count(),
            "attempts": Message.objects.count() + Call.objects.count()}


def measure(client, url: str, runs: int, before=None, stream: bool = False):
    """p50 and p95 in ms over `runs` requests, this process's CPU per request (p50, ms), the queries of one
    request and the time PostgreSQL says they take (EXPLAIN ANALYZE, the best of three, ms; None for an
    export, whose queries are read only to their first row). `stream`: a CSV export, timed to its first row of
    data (the byte-order mark and the header come before any query runs), then closed. On a busy machine the
    wall-clock times mostly say how long the request waited for a core; the CPU and the SQL times do not."""
    from django.db import connection

    timings, cpu = [], []
    queries = []

    def counter(execute, sql, params, many, context):
        queries.append((sql, params))
        return execute(sql, params, many, context)

    def fetch():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if stream:
            chunks = iter(response.streaming_content)
            start = b""
            while start.count(b"\n") < 2:  # the header line and the first row
                start += next(chunks, b"\n\n")
            response.close()

    if before:
        before()
    with connection.execute_wrapper(counter):
        fetch()
    for _ in range(runs):
        if before:
            before()
        start, used = time.perf_counter(), time.process_time()
        fetch()
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    sql = None
    if not stream:
        sql = 0.0
        with connection.cursor() as cursor:
            for text, params in queries:
                if not text.lstrip().upper().startswith("SELECT"):
                    continue
                best = None
                for _ in range(3):
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + text, params)
                    plan = cursor.fetchone()[0][0]
                    took = plan["Planning Time"] + plan["Execution Time"]
                    best = took if best is None else min(best, took)
                sql += best
    return statistics.median(timings), p95, statistics.median(cpu), len(queries), sql


def pages(ids: dict, clear) -> list[tuple[str, str, object, bool]]:
    """Every staff page a clinic's office opens, with the searches and the starts of the CSV exports:
    (name, path, what to do before each request, streamed)."""
    handoff, contact = ids["handoff"], ids["contact"]
    return [
        ("overview", "/", None, False), ("overview, cold", "/", clear, False),
        ("inbox", "/inbox/", None, False), ("inbox, no response", "/inbox/?filter=no_response", None, False),
        ("inbox, resolved p2", "/inbox/?status=resolved&page=2", None, False),
        ("inbox, all", "/inbox/?status=all", None, False),
        ("inbox search", "/inbox/?status=all&q=lucia", None, False),
        ("handoff", f"/inbox/{handoff}/", None, False),
        ("contacts", "/contacts/", None, False), ("contacts p200", "/contacts/?page=200", None, False),
        ("search name", "/contacts/?q=Reyes", None, False),
        ("search accents", "/contacts/?q=munoz+lucia", None, False),
        ("search 2 letters", "/contacts/?q=ib", None, False),
        ("search phone", "/contacts/?q=646+200+1234", None, False),
        ("search piece", "/contacts/?q=2001234", None, False),
        ("search invoice", "/contacts/?q=inv-0004321", None, False),
        ("search none", "/contacts/?q=zzqx", None, False),
        ("contact", f"/contacts/{contact}/", None, False),
        ("consent history", f"/contacts/{contact}/consent/history/", None, False),
        ("import", "/contacts/import/", None, False),
        ("workflows", "/workflows/", None, False),
        ("workflow", "/workflows/payment-reminders/", None, False),
        ("settings", "/settings/", None, False), ("twilio", "/settings/twilio/", None, False),
        ("integrations", "/settings/integrations/", None, False), ("webhooks", "/settings/webhooks/", None, False),
        ("my calendar", "/calendar/", None, False),
        ("export inbox", "/inbox/export.csv?status=all", None, True),
        ("export contacts", "/contacts/export.csv", None, True),
        ("export search", "/contacts/export.csv?q=lucia", None, True),
        ("export promises", "/promises/export.csv", None, True),
        ("export payments", "/payments/export.csv", None, True),
        ("export attempts", "/audit/export.csv", None, True),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="100000 for the issue's scale")
    parser.add_argument("--events", type=int, default=100_000, help="1000000 for the issue's scale")
    parser.add_argument("--runs", type=int, default=40, help="requests per page")
    parser.add_argument("--keep", action="store_true", help="leave the scratch database for EXPLAIN")
    parser.add_argument("--reuse", metavar="NAME", help="a database kept from an earlier run with this name: "
                        "seeded (and kept) when it does not exist, else migrated and timed as it is")
    parser.add_argument("--only", metavar="WORDS", help="time only the pages whose names contain one of these "
                        "comma-separated words")
    args = parser.parse_args()
    base = (os.environ.get("DUEDESK_BENCH_POSTGRES_URL") or os.environ.get("DUEDESK_TEST_POSTGRES_URL")
            or "postgresql://postgres@127.0.0.1:5432/postgres")
    import psycopg

    scratch = args.reuse or f"duedesk_bench_pages_{os.getpid()}"
    try:
        admin = psycopg.connect(base, autocommit=True)
    except psycopg.OperationalError as error:
        print(f"pages: skipped (no PostgreSQL at {base}: {error})")
        return
    reused = bool(args.reuse and admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch,)).fetchone())
    if not reused:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    url = base.rsplit("/", 1)[0] + "/" + scratch
    os.environ["DUEDESK_DATABASE_URL"] = url
    # A kept database keeps its data directory (the key its patients' fields are encrypted with) beside it.
    os.environ.setdefault("DUEDESK_DATA_DIR", os.path.join(tempfile.gettempdir(), f"duedesk-bench-{scratch}")
                          if args.reuse else tempfile.mkdtemp(prefix="duedesk-bench-"))
    os.environ.setdefault("DUEDESK_SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        import duedesk.web.access as access

        call_command("migrate", verbosity=0)
        access.now = lambda: NOW
        start = time.perf_counter()
        ids = found(args.contacts) if reused else seed(url, args.contacts, args.events)
        tallies_agree()
        print(f"{scratch}, kept from an earlier run: " if reused else "", end="")
        print(f"seeded {ids['contacts']:,} contacts, {ids['events']:,} events, {ids['invoices']:,} invoices, "
              f"{ids['steps']:,} steps, {ids['attempts']:,} texts and calls, {ids['promises']:,} promises, "
              f"{ids['handoffs']:,} handoffs "
              f"by COPY in {time.perf_counter() - start:.1f} s (with VACUUM ANALYZE) on {connection.vendor}")
        client = Client()
        client.force_login(ids["user"])
        print(f"{args.runs} requests per page, in process (Django test client, PostgreSQL on loopback)")
        from django.core.cache import cache

        slow = []
        for name, path, before, stream in pages(ids, cache.clear):
            if args.only and not any(word in name for word in args.only.split(",")):
                continue
            p50, p95, cpu, n, sql = measure(client, path, args.runs, before, stream)
            slow += [name] if p95 >= 200 else []
            sql = f"{sql:6.1f} ms" if sql is not None else "     —   "
            print(f"  {name:20s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   CPU {cpu:6.1f} ms   SQL {sql}   "
                  f"{n:3d} queries")
        print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print("every page under 200 ms at p95" if not slow else f"over 200 ms at p95: {', '.join(slow)}")
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep or args.reuse:
            print(f"kept {url}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
