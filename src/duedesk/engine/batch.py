"""Running a batch of due texts and emails with a handful of queries instead of dozens per step.

The rules are the single-step runner's (engine/runner.py): the gate on fresh rows, the message row
committed as `sending` before the provider is asked, then settled. Anything unusual (calls, workflow
blocks, a blocked or failed send, a retry) is handed to the single-step runner.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import TransportError
from duedesk.core import compliance
from duedesk.engine import definitions
from duedesk.engine.actions import step_key
from duedesk.engine.actions.enrollments import _moment
from duedesk.engine.lease import LEASE
from duedesk.engine.models import Enrollment, Step
from duedesk.engine.planning import Anchors, walk
from duedesk.engine.runner import StepRunner, compose, first_contact, gate_input, message_context
from duedesk.records.models import Instalment, Message, Promise
from duedesk.records.timeline import event, save_all

TEXTS = ("sms", "email")
logger = logging.getLogger("duedesk.worker")


class BatchRunner:
    def __init__(self, transports_for, worker_id: str, status_callback: str = ""):
        self.single = StepRunner(transports_for, worker_id)
        self.transports_for = transports_for
        self.worker_id = worker_id
        self.status_callback = status_callback
        # Right before each send: is the row still ours (its lease renewed)? See engine/lease.py.
        self.hold = lambda step_pk: True

    def run(self, ids: list[int], clock) -> None:
        steps = list(
            Step.objects.filter(pk__in=ids, status="claimed", leased_by=self.worker_id)
            .select_related("enrollment__invoice__contact__organization", "enrollment__workflow")
            .order_by("run_at", "pk")
        )
        texts = []
        for step in steps:
            if step.kind in TEXTS and step.enrollment.status in Enrollment.LIVE and step.attempts == 0:
                texts.append(step)
            else:
                try:
                    self.single.run(step.pk, clock())
                except Exception:
                    # One bad step doesn't hold up the batch; its lease expires and it is recovered.
                    logger.exception("step %s failed", step.pk)
        if texts:
            self._texts(texts, clock())

    # ------------------------------------------------------------------ texts and emails

    def _texts(self, steps: list[Step], now: datetime) -> None:
        invoice_ids = {s.enrollment.invoice_id for s in steps}
        promises = {p.invoice_id: p for p in Promise.objects.filter(invoice_id__in=invoice_ids, status="pending")
                    .order_by("created_at", "pk")}
        allowed, deferred = [], []
        for step in steps:
            enrollment = step.enrollment
            invoice = enrollment.invoice
            contact = invoice.contact
            enrollment.contact, enrollment.organization = contact, contact.organization
            decision = compliance.check(gate_input(step.kind, invoice, contact, now))
            if isinstance(decision, compliance.Allow):
                allowed.append(step)
            elif isinstance(decision, compliance.Defer):
                deferred.append((step, decision))
            else:
                self.single.run(step.pk, now)  # blocked: the single path re-checks and takes the route
        if deferred:
            self._defer(deferred, now)
        if not allowed:
            return
        messages = self._record(allowed, promises, now)
        allowed = [step for step in allowed if step.pk in messages]
        sent, failed = [], []
        for transport, group in self._by_transport(allowed):
            outgoing = [self._outgoing(step, messages[step.pk]) for step in group]
            if hasattr(transport, "send_many"):  # one write for the batch (the simulated transport)
                results = transport.send_many(outgoing)
            else:
                results = []
                for step, msg in zip(group, outgoing, strict=True):
                    if not self.hold(step.pk):
                        # Our lease ran out and a peer took the row over: it is the peer's to reconcile.
                        logger.warning("step %s was taken over by another worker; not sent here", step.pk)
                        results.append(None)
                        continue
                    try:
                        results.append(transport.send(msg))
                    except TransportError as error:
                        results.append(error)
            for step, result in zip(group, results, strict=True):
                if result is None:
                    continue
                message = messages[step.pk]
                if isinstance(result, TransportError):
                    failed.append((step, message, result, transport))
                    continue
                message.provider_id, message.status = result.provider_id, result.status
                sent.append(step)
        for step, message, error, transport in failed:
            self.single.after_error(step, message, step.kind, step.enrollment.contact, transport, error, now)
        if sent:
            self._settle(sent, messages, promises, now)

    def _by_transport(self, steps: list[Step]):
        groups: dict[int, tuple] = {}
        for step in steps:
            transport = self.transports_for(step.enrollment.organization).for_channel(step.kind)
            groups.setdefault(id(transport), (transport, []))[1].append(step)
        return list(groups.values())

    def _outgoing(self, step: Step, message: Message) -> Outgoing:
        return Outgoing(
            channel=step.kind, to=message.to, body=message.body, idempotency_key=step.idempotency_key,
            subject=message.subject, html=getattr(message, "html", ""), status_callback=self.status_callback,
            organization_id=step.organization_id,
        )

    def _defer(self, deferred, now: datetime) -> None:
        with transaction.atomic():
            by_until: dict[datetime, list[int]] = {}
            for step, decision in deferred:
                by_until.setdefault(decision.until, []).append(step.pk)
            for until, ids in by_until.items():  # one window opening for most of a batch
                Step.objects.filter(pk__in=ids).update(status="pending", run_at=until, lease_until=None)

            save_all([
                event(s.organization_id, "step.deferred", now, contact=s.enrollment.contact,
                      invoice=s.enrollment.invoice, channel=s.kind, step=s.step_id, rule=d.rule, until=d.until)
                for s, d in deferred
            ])

    def _record(self, steps: list[Step], promises, now: datetime) -> dict[int, Message]:
        """Render and commit every message as `sending` before any provider is asked."""
        built = {}
        for step in steps:
            enrollment = step.enrollment
            invoice, contact = enrollment.invoice, enrollment.contact
            ctx = message_context(invoice, contact, promises.get(invoice.pk), now=now)
            built[step.pk] = compose(step, definitions.parsed(enrollment.workflow), invoice, contact, now, ctx)
        with transaction.atomic():
            # Only rows this worker still holds: a lease that ran out was requeued for someone else.
            owned = set(Step.objects.select_for_update().filter(
                pk__in=list(built), status="claimed", leased_by=self.worker_id).values_list("pk", flat=True))
            built = {pk: m for pk, m in built.items() if pk in owned}
            existing = {m.idempotency_key: m for m in Message.objects.filter(
                idempotency_key__in=[m.idempotency_key for m in built.values()])}
            fresh = [m for m in built.values() if m.idempotency_key not in existing]
            Message.objects.bulk_create(fresh)
            for pk, message in built.items():
                if message.idempotency_key in existing:  # a send recovered after a crash: same row, same key
                    old = existing[message.idempotency_key]
                    old.body, old.subject, old.status = message.body, message.subject, "sending"
                    old.save(update_fields=["body", "subject", "status"])
                    old.html = getattr(message, "html", "")
                    built[pk] = old
            Step.objects.filter(pk__in=list(built)).update(status="sending", lease_until=now + LEASE)
        return built

    def _settle(self, steps: list[Step], messages, promises, now: datetime) -> None:
        with transaction.atomic():
            # Only rows still ours: a batch that stalled past its lease may find a peer already reconciled one.
            mine = set(Step.objects.select_for_update().filter(
                pk__in=[s.pk for s in steps], status="sending", leased_by=self.worker_id).values_list("pk", flat=True))
            steps = [s for s in steps if s.pk in mine]
            if not steps:
                return
            live = dict(Enrollment.objects.select_for_update().filter(
                pk__in=[s.enrollment_id for s in steps]).values_list("pk", "status"))
            _set_provider_ids([messages[s.pk] for s in steps])
            events, new_steps, finished = [], [], []
            for step in steps:
                message = messages[step.pk]
                step.status, step.outcome, step.finished_at = "done", "sent", now
                step.provider_id, step.lease_until = message.provider_id, None
                enrollment = step.enrollment
                detail = {"body": message.body} if step.kind == "sms" else {"subject": message.subject}
                events.append(event(step.organization_id, f"{step.kind}.sent", now, contact=enrollment.contact,
                                    invoice=enrollment.invoice, channel=step.kind, step=step.step_id, **detail))
            Step.objects.filter(pk__in=[s.pk for s in steps]).update(
                status="done", outcome="sent", finished_at=now, lease_until=None)
            texted = [s.enrollment.invoice_id for s in steps if s.kind == "sms"]  # the funnel counts texts only
            if texted:
                first_contact(texted, "first_texted_at", now)
            moving = [s for s in steps if live.get(s.enrollment_id) in Enrollment.LIVE]
            occurrences = self._occurrences(moving)
            next_instalments = self._next_instalments(moving)
            for step in moving:
                enrollment = step.enrollment
                contact, invoice = enrollment.contact, enrollment.invoice
                definition = definitions.parsed(enrollment.workflow)
                promise = promises.get(invoice.pk)
                anchors = Anchors(
                    due_date=invoice.due_date, promise_date=promise.promised_date if promise else None,
                    contact_fields=contact.fields,
                    invoice_dates={"due_date": invoice.due_date, "next_instalment": next_instalments.get(invoice.pk)},
                    trigger_at=_moment(enrollment.data.get("trigger_at")), event=enrollment.data.get("event"),
                )
                where = walk(definition, definition.next_for(step.step_id, "sent"), anchors, now, contact.tz(),
                             contact.organization.send_window(), enrollment.current_step)
                enrollment.data["last_outcome"] = "sent"
                enrollment.current_step, enrollment.status = where.current, "active"
                for skipped_id, reason in where.skipped:
                    events.append(event(step.organization_id, "step.skipped", now, contact=contact, invoice=invoice,
                                        step=skipped_id, reason=reason))
                if where.finish:
                    enrollment.status, enrollment.exit_reason = where.finish
                    enrollment.ended_at = now
                    finished.append(enrollment.pk)
                    events.append(event(step.organization_id, "enrollment.exited" if where.finish[0] == "exited"
                                        else "enrollment.done", now, contact=contact, invoice=invoice,
                                        reason=where.finish[1]))
                    continue
                key = (enrollment.pk, where.step_id)
                occurrences[key] = occurrences.get(key, 0) + 1
                new_steps.append(Step(
                    organization_id=step.organization_id, enrollment=enrollment, step_id=where.step_id,
                    kind=where.kind, occurrence=occurrences[key], run_at=where.run_at,
                    idempotency_key=step_key(enrollment.pk, where.step_id, occurrences[key]), created_at=now,
                ))
            if finished:
                Step.objects.filter(enrollment_id__in=finished, status__in=Step.PENDING + ("waiting",)).update(
                    status="cancelled", finished_at=now, lease_until=None)
            groups: dict[tuple, list[int]] = {}
            for e in (s.enrollment for s in moving):  # most of a batch moves to the same step
                key = (e.current_step, e.status, e.exit_reason, e.ended_at, json.dumps(e.data, sort_keys=True))
                groups.setdefault(key, []).append(e.pk)
            for (current, status, reason, ended, data), ids in groups.items():
                Enrollment.objects.filter(pk__in=ids).update(current_step=current, status=status, exit_reason=reason,
                                                             ended_at=ended, data=json.loads(data))
            Step.objects.bulk_create(new_steps)
            save_all(events)

    @staticmethod
    def _occurrences(steps: list[Step]) -> dict[tuple[int, str], int]:
        rows = (Step.objects.filter(enrollment_id__in=[s.enrollment_id for s in steps])
                .values_list("enrollment_id", "step_id").annotate(n=Count("id")))
        return {(e, sid): n for e, sid, n in rows}

    @staticmethod
    def _next_instalments(steps: list[Step]) -> dict:
        first = {}
        for invoice_id, due in (Instalment.objects.filter(invoice_id__in=[s.enrollment.invoice_id for s in steps],
                                                          status="pending").order_by("due_date")
                                .values_list("invoice_id", "due_date")):
            first.setdefault(invoice_id, due)
        return first


def _set_provider_ids(messages: list[Message]) -> None:
    """One UPDATE … FROM for the whole batch (PostgreSQL and SQLite ≥ 3.33 both speak it)."""
    if not messages:
        return
    values = ", ".join(["(%s, %s, %s)"] * len(messages))
    params = [p for m in messages for p in (m.pk, m.provider_id, m.status)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, provider_id, status) AS (VALUES {values}) "
            "UPDATE records_message SET provider_id = COALESCE(NULLIF(records_message.provider_id, ''), v.provider_id),"
            " status = CASE WHEN records_message.status IN ('sending', 'retrying', 'unknown') THEN v.status"
            " ELSE records_message.status END "  # a delivery callback that came first is never moved back
            "FROM v WHERE records_message.id = v.id",
            params,
        )
