"""Running a batch of due texts and emails with a handful of queries instead of dozens per step.

The rules are the single-step runner's (engine/runner.py). A batch is handed to the provider in
handovers: the whole group in one call where the transport takes many at once (the simulated one), else
one text per call. Right before each handover, in one transaction, the invoices are locked (a payment in
flight finishes first), the steps, enrollments and contacts are read fresh, the gate is asked, and the
messages are committed as `sending`; then the provider is asked, and the sends are settled through the
one way forward (engine/advance.py) at the moment they were handed over. A payment, a STOP, a dispute or
a pause that lands while a rate-limited batch is sending stops every text not yet handed over. Anything
unusual (calls, workflow blocks, a blocked or failed send, a retry) goes to the single-step runner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import TransportError
from duedesk.core import compliance
from duedesk.engine import advance, definitions
from duedesk.engine.lease import LEASE
from duedesk.engine.models import Enrollment, Step
from duedesk.engine.runner import StepRunner, compose, gate_input, message_context
from duedesk.engine.settler import Settler
from duedesk.records import bulk, lines
from duedesk.records.models import Invoice, Message, Organization, Promise
from duedesk.records.timeline import event, save_all

TEXTS = ("sms", "email")
SETTLE_EVERY = 50  # accepted texts settled together at most (one handover of a whole group is settled at once)
SETTLE_AFTER = 1.0  # seconds an accepted text waits at most to be settled
CHECK_AHEAD = 0.25  # seconds of a rate-limited sender's texts checked by the gate together, right before them
HOLD_AFTER = 2.0  # seconds after its check past which a text's lease is confirmed again before its request
logger = logging.getLogger("duedesk.worker")
# Columns of the invoices and contacts that neither the gate, the message nor the planner reads: left in the
# database (each costs the worker a conversion a row, a timestamp most of all). Read when asked for, as usual.
UNREAD = ("created_at", "updated_at", "first_called_at", "contact__date_of_birth", "contact__search_text",
          "contact__created_at", "contact__updated_at", "contact__external_id")


class BatchRunner:
    def __init__(self, transports_for, worker_id: str, status_callback: str = "", settle_in_background: bool = False):
        self.single = StepRunner(transports_for, worker_id)
        # Accepted sends are settled in line, or on a thread of its own while the next batch is checked
        # (engine/settler.py: a worker on PostgreSQL).
        self.settler = Settler(self._settle_now, settle_in_background)
        self.transports_for = transports_for
        self.worker_id = worker_id
        self.status_callback = status_callback
        # Right before each send: is the row still ours (its lease renewed)? See engine/lease.py.
        self.hold = lambda step_pk: True
        self.pace: float | None = None  # texts per second of the slowest sender seen (sizes the next claim)
        self._workflows: dict = {}

    def claim_size(self, batch: int) -> int:
        """How many steps to claim: a rate-limited sender gets about two seconds of work at a time."""
        if not self.pace:
            return batch
        return max(1, min(batch, int(self.pace * 2)))

    def run(self, ids: list[int], clock) -> None:
        # What the batch needs to sort its steps; everything the gate reads is read again right before
        # each handover (_check_and_record).
        rows = list(Step.objects.filter(pk__any=ids, status="claimed", leased_by=self.worker_id)
                    .order_by("run_at", "pk")
                    .values_list("pk", "kind", "attempts", "organization_id", "enrollment__status",
                                 "enrollment__invoice_id"))
        organizations = Organization.objects.in_bulk({row[3] for row in rows})
        texts = []
        for pk, kind, attempts, organization_id, enrollment_status, invoice_id in rows:
            if kind in TEXTS and enrollment_status in Enrollment.LIVE and attempts == 0:
                texts.append(Due(pk, kind, invoice_id, organizations[organization_id]))
            else:
                try:
                    self.single.run(pk, clock())
                except Exception:
                    # One bad step doesn't hold up the batch; its lease expires and it is recovered.
                    logger.exception("step %s failed", pk)
        if texts:
            self._texts(texts, clock)

    # ------------------------------------------------------------------ texts and emails

    def _texts(self, steps: list[Due], clock) -> None:
        for transport, group in self._by_transport(steps):
            rate = getattr(transport, "rate", None)
            if rate:
                self.pace = min(float(rate), self.pace or float(rate))
            # The gate checked right before each handover: the whole group where the transport takes many in
            # one call; else the texts the sender's rate lets out in the next CHECK_AHEAD seconds (one when
            # the sender is slow or has no rate: no text is `sending` long before its own request).
            if hasattr(transport, "send_many"):
                handovers = [group]
            else:
                size = max(1, int(float(rate or 0) * CHECK_AHEAD))
                handovers = [group[i:i + size] for i in range(0, len(group), size)]
            accepted = Accepted()
            for handover in handovers:
                self._hand_over(transport, handover, clock, accepted)
                if accepted.due(clock()):
                    self._settle(*accepted.take(), clock())
            if accepted.sent:
                self._settle(*accepted.take(), clock())

    def _hand_over(self, transport, steps: list[Due], clock, accepted: Accepted) -> None:
        checked = self._check_and_record(steps, clock())
        if checked is None:
            return
        ready, messages, promises = checked
        accepted.promises.update(promises)
        outgoing = [self._outgoing(step, messages[step.pk]) for step in ready]
        checked_at = clock()
        if hasattr(transport, "send_many"):
            results = [(result, checked_at) for result in transport.send_many(outgoing)]
        else:
            results = []
            for step, msg in zip(ready, outgoing, strict=True):
                at = clock()  # the moment of sending: `sms.sent` carries it
                # Committed `sending` with a fresh lease a moment ago; after a stall (a slow request before
                # it), is the row still ours? Else a peer took it over and it is the peer's to reconcile.
                if (at - checked_at).total_seconds() > HOLD_AFTER and not self.hold(step.pk):
                    logger.warning("step %s was taken over by another worker; not sent here", step.pk)
                    results.append((None, at))
                    continue
                try:
                    results.append((transport.send(msg), at))
                except TransportError as error:
                    results.append((error, at))
        for step, (result, at) in zip(ready, results, strict=True):
            if result is None:
                continue
            message = messages[step.pk]
            if isinstance(result, TransportError):
                self.single.after_error(step, message, step.kind, step.enrollment.contact, transport, result, at)
                continue
            accepted.add(advance.Sent(step, message, result.provider_id, result.status, at))

    def _settle(self, sent: list[advance.Sent], promises: dict, now: datetime) -> None:
        self.settler.submit(sent, promises, now)

    def _settle_now(self, sent: list[advance.Sent], promises: dict, now: datetime) -> None:
        with transaction.atomic():
            # Only rows still ours: a batch that stalled past its lease may find a peer already reconciled one.
            # Their invoices are locked first, as a payment locks them (a payment in flight finishes first), then
            # the steps and enrollments in one statement, read fresh: a finished enrollment does not go forward.
            advance.lock_invoices([s.step.enrollment.invoice_id for s in sent])
            mine = self._still_mine([s.step.pk for s in sent])
            live = {s.step.enrollment_id: mine[s.step.pk] for s in sent if s.step.pk in mine}
            advance.settle_sends([s for s in sent if s.step.pk in mine], now, promises, live)

    def _still_mine(self, ids: list[int]) -> dict[int, str]:
        """Of these steps, those still `sending` and leased to this worker, each with its enrollment's status;
        on PostgreSQL both rows locked (FOR UPDATE OF both: the enrollment read as a payment left it)."""
        if connection.vendor != "postgresql":  # SQLite: one writer at a time, nothing to lock
            return dict(Step.objects.filter(pk__any=ids, status="sending", leased_by=self.worker_id)
                        .values_list("pk", "enrollment__status"))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.id, e.status FROM engine_step s JOIN engine_enrollment e ON e.id = s.enrollment_id"
                " WHERE s.id = ANY(%s) AND s.status = 'sending' AND s.leased_by = %s FOR UPDATE OF s, e",
                [ids, self.worker_id])
            return dict(cursor.fetchall())

    def _check_and_record(self, due: list[Due], now: datetime):
        """The gate on fresh rows, and the messages committed as `sending`, in one transaction right before
        the provider call. Steps this worker no longer holds (a payment cancelled them, a lease ran out) are
        left alone; blocked ones go to the single-step runner, which logs the rule and takes the route."""
        with transaction.atomic():
            # The invoices first, in one order: a payment in flight holds its invoice, and we wait for it.
            invoice_ids = sorted({d.invoice_id for d in due})
            invoices = {i.pk: i for i in Invoice.objects.select_for_update(no_key=True, of=("self",))
                        .filter(pk__any=invoice_ids).select_related("contact").defer(*UNREAD).order_by("pk")}
            lines.prefetch(i.contact for i in invoices.values())  # the gate reads the line each send goes to
            organizations = {d.organization.pk: d.organization for d in due}  # read as the batch began
            # With each step, its message if it has one already (a send recovered after a crash, confirmed
            # never sent: same row, same key).
            fresh = {s.pk: s for s in Step.objects.filter(pk__any=[d.pk for d in due], status="claimed",
                                                          leased_by=self.worker_id).select_related("enrollment")
                     .annotate(message_pk=Subquery(Message.objects.filter(
                         idempotency_key=OuterRef("idempotency_key")).values("pk")[:1]))}
            workflows = self._versions({s.enrollment.workflow_id for s in fresh.values()})
            promises = {p.invoice_id: p for p in Promise.objects.filter(invoice_id__any=invoice_ids, status="pending")
                        .order_by("created_at", "pk")}
            allowed, deferred, blocked = [], [], []
            for d in due:
                step = fresh.get(d.pk)
                if step is None:
                    continue  # cancelled (paid, disputed, STOP routed elsewhere) or no longer ours
                enrollment = step.enrollment
                invoice = invoices[enrollment.invoice_id]
                contact = invoice.contact
                contact.organization = organizations[contact.organization_id]
                enrollment.invoice, enrollment.contact, enrollment.organization = invoice, contact, contact.organization
                enrollment.workflow = workflows[enrollment.workflow_id]
                if enrollment.status not in Enrollment.LIVE:
                    blocked.append(step)
                    continue
                decision = compliance.check(gate_input(step.kind, invoice, contact, now, step_id=step.pk))
                if isinstance(decision, compliance.Allow):
                    allowed.append(step)
                elif isinstance(decision, compliance.Defer):
                    deferred.append((step, decision))
                else:
                    blocked.append(step)
            if deferred:
                self._defer(deferred, now)
            messages = self._record(allowed, promises, now) if allowed else {}
        for step in blocked:  # its own transaction: re-checks, logs the rule, cancels or routes
            self.single.run(step.pk, now)
        ready = [s for s in allowed if s.pk in messages]
        return (ready, messages, promises) if ready else None

    def _versions(self, ids: set[int]) -> dict:
        """Workflow versions never change (an edit makes a new one): each is read once per worker."""
        missing = ids - self._workflows.keys()
        if missing:
            if len(self._workflows) > 1000:
                self._workflows.clear()
            self._workflows.update(definitions.versions(missing))
        return {pk: self._workflows[pk] for pk in ids}

    def _by_transport(self, steps: list[Due]):
        groups: dict[int, tuple] = {}
        transports: dict[int, object] = {}  # an organization's transports, asked once per batch, not per step
        for step in steps:
            org = step.organization
            if org.pk not in transports:
                transports[org.pk] = self.transports_for(org)
            transport = transports[org.pk].for_channel(step.kind)
            groups.setdefault(id(transport), (transport, []))[1].append(step)
        return list(groups.values())

    def _outgoing(self, step: Step, message: Message) -> Outgoing:
        return Outgoing(
            channel=step.kind, to=message.to, body=message.body, idempotency_key=step.idempotency_key,
            subject=message.subject, html=getattr(message, "html", ""), status_callback=self.status_callback,
            organization_id=step.organization_id,
        )

    def _defer(self, deferred, now: datetime) -> None:
        by_until: dict[datetime, list[int]] = {}
        for step, decision in deferred:
            by_until.setdefault(decision.until, []).append(step.pk)
        for until, ids in by_until.items():  # one window opening for most of a batch
            Step.objects.filter(pk__any=ids).update(status="pending", run_at=until, lease_until=None, leased_by="")
        save_all([
            event(s.organization_id, "step.deferred", now, contact=s.enrollment.contact,
                  invoice=s.enrollment.invoice, channel=s.kind, step=s.step_id, rule=d.rule, until=d.until)
            for s, d in deferred
        ])

    def _record(self, steps: list[Step], promises, now: datetime) -> dict[int, Message]:
        """Render and commit every message as `sending` (in the caller's transaction, before any provider
        is asked)."""
        built = {}
        for step in steps:
            enrollment = step.enrollment
            invoice, contact = enrollment.invoice, enrollment.contact
            ctx = message_context(invoice, contact, promises.get(invoice.pk), now=now)
            built[step.pk] = compose(step, definitions.parsed(enrollment.workflow), invoice, contact, now, ctx)
        # A send recovered after a crash (confirmed never sent) has its row already: same row, same key.
        existing = {step.idempotency_key: step.message_pk for step in steps if step.message_pk is not None}
        bulk.insert([m for m in built.values() if m.idempotency_key not in existing])
        for message in built.values():
            if message.idempotency_key in existing:
                message.pk = existing[message.idempotency_key]
                message._state.adding = False
                Message.objects.filter(pk=message.pk).update(body=message.body, subject=message.subject,
                                                              status="sending", consent_basis=message.consent_basis,
                                                              content_sha256=message.content_sha256)
        Step.objects.filter(pk__any=list(built)).update(status="sending", lease_until=now + LEASE)
        return built


class Accepted:
    """Texts the provider took, waiting to be settled together: a rate-limited sender hands texts over one at a
    time, and settling each on its own (a dozen statements) cost more than sending it. They stay `sending`
    (leased to this worker) until settled, at most SETTLE_AFTER seconds or SETTLE_EVERY texts later, each with
    the moment it was handed over; a worker that dies meanwhile leaves them to recovery, which finds them at
    the provider by our key."""

    def __init__(self):
        self.sent: list[advance.Sent] = []
        self.promises: dict = {}
        self.since: datetime | None = None

    def add(self, sent: advance.Sent) -> None:
        self.since = self.since or sent.at
        self.sent.append(sent)

    def due(self, now: datetime) -> bool:
        return bool(self.sent) and (len(self.sent) >= SETTLE_EVERY or (now - self.since).total_seconds() >= SETTLE_AFTER)

    def take(self) -> tuple[list[advance.Sent], dict]:
        taken = (self.sent, self.promises)
        self.sent, self.promises, self.since = [], {}, None
        return taken


@dataclass
class Due:
    """A claimed text or email as the batch sorts it (the gate reads the rows again before sending)."""

    pk: int
    kind: str
    invoice_id: int
    organization: Organization
