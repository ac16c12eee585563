"""The one way forward: a finished step becomes the next one.

Every path that moves an enrollment goes through `forward`: the batch of due texts, the single-step
runner, a workflow block, a retry, a reconciled send after a crash, a reply or promise that jumps the
workflow (`go_to_step`), staff actions through engine/actions. It plans the next step with the planner
(engine/planning.walk), writes the skipped steps and the finish on the timeline, updates the enrollment
and builds the new Step row (`new_step` is the only place a Step row is built; the importer uses it too).

`settle_sends` is the other half for texts and emails the provider took: the message gets its provider id,
the step is done at the moment it was handed over, `sms.sent`/`email.sent` carries that moment, and the
enrollment goes forward. One call settles a whole batch with a handful of queries; one send is a batch of one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Count, Q

from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.engine.planning import Anchors, walk
from duedesk.records import bulk, instances
from duedesk.records.models import Instalment, Invoice, Message, Promise
from duedesk.records.timeline import event, save_all

UNSETTLED = ("sending", "retrying", "dialing", "unknown")  # record statuses only our own send sets
NOT_STARTED = Step.PENDING + ("waiting",)  # pending, claimed, held, waiting: what a finished enrollment cancels


def step_key(enrollment_id: int, step_id: str, occurrence: int) -> str:
    """The idempotency key: one per visit of a step, so nothing is ever sent twice for it."""
    return f"e{enrollment_id}:{step_id}:{occurrence}"


def new_step(organization_id: int, enrollment_id: int, step_id: str, kind: str, occurrence: int,
             run_at: datetime, now: datetime, status: str = "pending") -> Step:
    """The one place a Step row is built (unsaved)."""
    return instances.build(Step, organization_id=organization_id, enrollment_id=enrollment_id, step_id=step_id,
                           kind=kind, occurrence=occurrence, run_at=run_at, status=status, created_at=now,
                           idempotency_key=step_key(enrollment_id, step_id, occurrence))


# ----------------------------------------------------------------------------- planning the next step


@dataclass
class Move:
    """An enrollment going to `start` (a step id, or None/"end" to finish). `outcome`, when given, is
    remembered on the enrollment (a handoff block reached through it uses it as its reason)."""

    enrollment: Enrollment
    start: str | None
    outcome: str | None = None


def anchors(enrollment: Enrollment, promise=False, next_instalment=False) -> Anchors:
    invoice = enrollment.invoice
    if promise is False:
        promise = Promise.objects.filter(invoice_id=invoice.pk, status="pending").order_by("-created_at").first()
    if next_instalment is False:
        next_instalment = (invoice.instalments.filter(status="pending").order_by("due_date")
                           .values_list("due_date", flat=True).first())
    return Anchors(
        due_date=invoice.due_date,
        promise_date=promise.promised_date if promise else None,
        contact_fields=enrollment.contact.fields,
        invoice_dates={"due_date": invoice.due_date, "next_instalment": next_instalment},
        trigger_at=_moment((enrollment.data or {}).get("trigger_at")),
        event=(enrollment.data or {}).get("event"),
    )


def _moment(value) -> datetime | None:
    """An event-started workflow's trigger moment, kept on the enrollment as ISO text."""
    return datetime.fromisoformat(value) if value else None


def forward(moves: list[Move], now: datetime, promises: dict | None = None,
            writes: list | None = None) -> list[Step | None]:
    """Plan each move and write it: skipped steps and finishes on the timeline, the enrollment's new place,
    the next Step row. Runs in the caller's transaction (or its own). Returns each move's new step.
    `writes`: the caller's UPDATEs (bulk.together), sent with the enrollments' in one round trip."""
    writes = list(writes or [])
    if not moves:
        bulk.together(writes)
        return []
    with transaction.atomic(savepoint=False):
        invoice_ids = [m.enrollment.invoice_id for m in moves]
        if promises is None:
            promises = {p.invoice_id: p for p in Promise.objects.filter(
                invoice_id__any=invoice_ids, status="pending").order_by("created_at", "pk")}
        instalments = _next_instalments(invoice_ids)
        events, planned, finished = [], [], []
        newer = definitions.versions({m.enrollment.data["move_to"] for m in moves if (m.enrollment.data or {}).get(
            "move_to")})
        for move in moves:
            enrollment = move.enrollment
            contact, invoice = enrollment.contact, enrollment.invoice
            if (enrollment.data or {}).get("move_to"):
                events += _move_version(move, newer.get(enrollment.data["move_to"]), now)
            definition = definitions.parsed(enrollment.workflow)
            where = walk(definition, move.start, anchors(enrollment, promises.get(invoice.pk),
                                                         instalments.get(invoice.pk)),
                         now, contact.tz(), contact.organization.send_window(), enrollment.current_step)
            if move.outcome is not None:
                enrollment.data["last_outcome"] = move.outcome
            enrollment.current_step, enrollment.status = where.current, "active"
            for skipped_id, reason in where.skipped:
                events.append(event(enrollment.organization_id, "step.skipped", now, contact=contact,
                                    invoice=invoice, step=skipped_id, reason=reason))
            if where.finish:
                enrollment.status, enrollment.exit_reason = where.finish
                enrollment.ended_at = now
                finished.append(enrollment.pk)
                events.append(event(enrollment.organization_id, "enrollment.exited" if where.finish[0] == "exited"
                                    else "enrollment.done", now, contact=contact, invoice=invoice,
                                    reason=where.finish[1]))
                planned.append(None)
                continue
            planned.append((enrollment.pk, enrollment.organization_id, where))
        # Each new step's visit: the rows its enrollment has of that step so far, plus one (the moves before it
        # in this batch counted too). Nothing above writes a step.
        occurrences = _occurrences({(pk, where.step_id) for pk, _, where in filter(None, planned)})
        made: list[Step | None] = []
        for plan in planned:
            if plan is None:
                made.append(None)
                continue
            enrollment_id, organization_id, where = plan
            key = (enrollment_id, where.step_id)
            occurrences[key] = occurrences.get(key, 0) + 1
            made.append(new_step(organization_id, enrollment_id, where.step_id, where.kind, occurrences[key],
                                 where.run_at, now))
        if finished:
            bulk.together(writes)  # the steps done first: what a finished enrollment cancels is what is left
            writes = []
            cancel_not_started(finished, now)
        writes += _write_enrollments([m.enrollment for m in moves])
        bulk.insert([s for s in made if s is not None])
        save_all(events)
        bulk.together(writes)
        return made


def _move_version(move: Move, newer, now: datetime) -> list:
    """An enrollment asked to move to its workflow's newer version (actions.move_to_version) moves as it
    goes to its next step, when that step is in the new version; otherwise it waits for a step that is."""
    enrollment = move.enrollment
    if newer is None:
        enrollment.data.pop("move_to")
        return []
    if move.start not in (None, "end") and move.start not in {s.id for s in definitions.parsed(newer).steps}:
        return []
    old = enrollment.workflow
    enrollment.workflow = newer
    enrollment.data.pop("move_to")
    return [event(enrollment.organization_id, "enrollment.moved", now, contact=enrollment.contact,
                  invoice=enrollment.invoice, workflow=newer.name, version=newer.version,
                  from_version=old.version, step=move.start)]


def go_to_step(enrollment: Enrollment, step_id: str | None, now: datetime, outcome: str | None = None
               ) -> Step | None:
    """Move one enrollment to `step_id` and plan its Step row (or finish at "end")."""
    return forward([Move(enrollment, step_id, outcome)], now)[0]


def complete(steps: list[tuple[Step, str]], now: datetime, promises: dict | None = None,
             finished_at: dict[int, datetime] | None = None, live: dict[int, str] | None = None,
             writes: list | None = None) -> None:
    """Steps finished with an outcome: mark them done and move their live enrollments to what follows.
    `live`: the enrollments' statuses, when the caller has locked them already; `writes`: see forward."""
    with transaction.atomic(savepoint=False):
        if live is None:
            # The enrollments first, as a payment does (invoice, enrollments, steps): no deadlock between them.
            live = dict(Enrollment.objects.select_for_update().filter(
                pk__any=[s.enrollment_id for s, _ in steps]).order_by("pk").values_list("pk", "status"))
        done = []
        for step, outcome in steps:
            step.status, step.outcome, step.lease_until = "done", outcome, None
            step.finished_at = (finished_at or {}).get(step.pk, now)
            done.append((step.pk, outcome, step.finished_at))
        moves = []
        for step, outcome in steps:
            if live.get(step.enrollment_id) in Enrollment.LIVE:
                definition = definitions.parsed(step.enrollment.workflow)
                moves.append(Move(step.enrollment, definition.next_for(step.step_id, outcome), outcome))
        forward(moves, now, promises, [*(writes or []), _mark_done(done)])


def mark_done(done: list[tuple[int, str, datetime]]) -> None:
    """Steps done, each with its outcome and moment: one UPDATE for the batch."""
    bulk.together([_mark_done(done)])


def _mark_done(done: list[tuple[int, str, datetime]]) -> tuple[str, list]:
    groups = {(outcome, at) for _, outcome, at in done}
    if len(groups) == 1:  # most of a batch: one outcome, one moment
        outcome, at = groups.pop()
        return bulk.update_sql(Step.objects.filter(pk__any=[pk for pk, _, _ in done]),
                               status="done", outcome=outcome, finished_at=at, lease_until=None)
    if connection.vendor == "postgresql":  # arrays: one statement text for every batch (set_provider_ids)
        values = "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[])"
        params = [[pk for pk, _, _ in done], [outcome for _, outcome, _ in done], [at for _, _, at in done]]
    else:
        values = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(done))
        params = [p for pk, outcome, moment in done
                  for p in (pk, outcome, connection.ops.adapt_datetimefield_value(moment))]
    return (f"WITH v(id, outcome, finished_at) AS ({values}) "
            "UPDATE engine_step SET status = 'done', outcome = v.outcome, finished_at = v.finished_at, "
            "lease_until = NULL FROM v WHERE engine_step.id = v.id", params)


def complete_step(step: Step, outcome: str, now: datetime) -> None:
    """One step finished (a call's outcome, a workflow block): record it and plan what comes next."""
    with transaction.atomic():
        step = Step.objects.select_for_update(of=("self",)).select_related(
            "enrollment__invoice", "enrollment__contact__organization", "enrollment__workflow").get(pk=step.pk)
        if step.status in ("done", "cancelled", "skipped", "blocked", "failed"):
            return  # already settled: a retried webhook changes nothing
        complete([(step, outcome)], now)


def plan_retry(step: Step, run_at: datetime, now: datetime, status: str = "pending") -> Step:
    """The same step again later, with a new occurrence (and so a new key)."""
    occurrence = Step.objects.filter(enrollment_id=step.enrollment_id, step_id=step.step_id).count() + 1
    retry = new_step(step.organization_id, step.enrollment_id, step.step_id, step.kind, occurrence, run_at, now,
                     status)
    retry.save()
    return retry


def cancel_not_started(enrollment_ids: list[int], now: datetime) -> int:
    """A finished enrollment's steps that were not handed to a provider stop here, claimed ones included:
    a batch checks each step right before its provider call and skips one it no longer holds. A step is
    `sending` only from that check to the provider's answer, so it is left to settle (or be reconciled)."""
    return Step.objects.filter(enrollment_id__any=enrollment_ids, status__in=NOT_STARTED).update(
        status="cancelled", finished_at=now, lease_until=None)


def _write_enrollments(enrollments: list[Enrollment]) -> list[tuple[str, list]]:
    """The UPDATEs for the enrollments' new places: one per group (most of a batch moves to the same step)."""
    groups: dict[tuple, list[Enrollment]] = defaultdict(list)
    for e in enrollments:
        # The data's repr tells the groups apart (equal reprs of JSON values are equal JSON; a dict written in
        # another order is a group of its own): the JSON each group writes is written once, for its first.
        groups[(e.current_step, e.status, e.exit_reason, e.ended_at, repr(e.data), e.workflow_id)].append(e)
    return [bulk.update_sql(Enrollment.objects.filter(pk__any=[e.pk for e in group]), current_step=current,
                            status=status, exit_reason=reason, ended_at=ended,
                            data=json.loads(json.dumps(group[0].data, sort_keys=True)), workflow_id=workflow_id)
            for (current, status, reason, ended, _, workflow_id), group in groups.items()]


def _occurrences(wanted: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """How many rows each (enrollment, step id) has: asked of those the batch plans only (most have none yet)."""
    if not wanted:
        return {}
    rows = (Step.objects.filter(enrollment_id__any={e for e, _ in wanted}, step_id__any={sid for _, sid in wanted})
            .values_list("enrollment_id", "step_id").annotate(n=Count("id")))
    return {(e, sid): n for e, sid, n in rows if (e, sid) in wanted}


def _next_instalments(invoice_ids: list[int]) -> dict[int, date]:
    first: dict[int, date] = {}
    for invoice_id, due in (Instalment.objects.filter(invoice_id__any=invoice_ids, status="pending")
                            .order_by("due_date").values_list("invoice_id", "due_date")):
        first.setdefault(invoice_id, due)
    return first


# ----------------------------------------------------------------------------- settling what the provider took


@dataclass
class Sent:
    """A text or email the provider accepted, and the moment it was handed over."""

    step: Step
    message: Message
    provider_id: str
    status: str
    at: datetime


def settle_sends(sent: list[Sent], now: datetime, promises: dict | None = None,
                 live: dict[int, str] | None = None) -> None:
    """The provider took these texts and emails: record that, each at its own moment, and go forward.
    `live`: the enrollments' statuses, when the caller has locked them (after their invoices) already."""
    if not sent:
        return
    with transaction.atomic(savepoint=False):
        if live is None:
            lock_invoices([s.step.enrollment.invoice_id for s in sent])
        for s in sent:
            s.message.provider_id, s.message.status = s.provider_id, s.status
        events, texted = [], {}
        for s in sent:
            step, message, enrollment = s.step, s.message, s.step.enrollment
            detail = {"body": message.body} if step.kind == "sms" else {"subject": message.subject}
            detail.update(consent=message.consent_basis or None, sha256=message.content_sha256 or None)
            events.append(event(step.organization_id, f"{step.kind}.sent", s.at, contact=enrollment.contact,
                                invoice=enrollment.invoice, channel=step.kind, step=step.step_id, **detail))
            if step.kind == "sms":  # the funnel counts texts only
                invoice = enrollment.invoice_id
                texted[invoice] = min(s.at, texted.get(invoice, s.at))
        save_all(events)
        complete([(s.step, "sent") for s in sent], now, promises, {s.step.pk: s.at for s in sent}, live,
                 [_set_provider_ids([s.message for s in sent]), _first_texted(texted)])


def lock_invoices(invoice_ids: list[int]) -> None:
    """The invoices first, in one order, as a payment and the check before sending take them. A payment holds
    its invoice, then takes its enrollment; settling takes the enrollment and then writes the invoice
    (`first_texted_at`), so it takes the invoice before either, and waits for a payment in flight."""
    if connection.vendor == "postgresql":  # SQLite: one writer at a time, nothing to lock
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM records_invoice WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                           [sorted(set(invoice_ids))])


def first_contact(invoice_ids: list[int], field: str, now: datetime) -> None:
    """Invoice.first_texted_at / first_called_at: the earliest sms.sent / call.placed event's time, written
    by the caller in the transaction that writes that event (one UPDATE for a batch)."""
    Invoice.objects.filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": now}),
                           pk__any=invoice_ids).update(**{field: now})


def _first_texted(moments: dict[int, datetime]) -> tuple[str, list] | None:
    """first_contact for a batch whose texts went out at moments of their own (one a text, at a rate-limited
    sender's pace): one UPDATE for the batch, not one per moment."""
    if not moments:
        return None
    if connection.vendor == "postgresql":
        values = "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[])"
        params = [list(moments), list(moments.values())]
    else:
        values = "VALUES " + ", ".join(["(%s, %s)"] * len(moments))
        params = [p for pk, at in moments.items() for p in (pk, connection.ops.adapt_datetimefield_value(at))]
    return (f"WITH v(id, at) AS ({values}) UPDATE records_invoice SET first_texted_at = v.at FROM v "
            "WHERE records_invoice.id = v.id AND (records_invoice.first_texted_at IS NULL "
            "OR records_invoice.first_texted_at > v.at)", params)


def _set_provider_ids(messages: list[Message]) -> tuple[str, list] | None:
    """One UPDATE … FROM (VALUES …) for a batch (PostgreSQL and SQLite ≥ 3.33 both speak it)."""
    if not messages:
        return None
    if connection.vendor == "postgresql":
        # Three arrays, not a VALUES row per message: the statement's text is the same for every batch, so
        # the driver does not take apart a new one with hundreds of placeholders each time.
        values = "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[])"
        params = [[m.pk for m in messages], [m.provider_id for m in messages], [m.status for m in messages]]
    else:
        values = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(messages))
        params = [p for m in messages for p in (m.pk, m.provider_id, m.status)]
    return (f"WITH v(id, provider_id, status) AS ({values}) "
            "UPDATE records_message SET provider_id = COALESCE(NULLIF(records_message.provider_id, ''), v.provider_id),"
            " status = CASE WHEN records_message.status IN ('sending', 'retrying', 'unknown') THEN v.status"
            " ELSE records_message.status END "  # a delivery callback that came first is never moved back
            "FROM v WHERE records_message.id = v.id",
            params)
