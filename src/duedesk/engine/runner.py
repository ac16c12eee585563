"""Running one claimed step: gate, record, send, settle.

The row is committed as `sending` before the provider is asked, so a crash in between leaves a trace
that `recover` reconciles with the provider instead of sending again (DESIGN.md invariant 1).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from duedesk.channels.base import CallRequest, Outgoing
from duedesk.channels.errors import CHANNEL_PAUSED, TransportError
from duedesk.channels.paylinks import pay_link_for
from duedesk.core import compliance, render, vocabulary
from duedesk.core import workflow as wf
from duedesk.core.contact_hours import ContactHours
from duedesk.core.phones import timezone_for_phone
from duedesk.core.states import states_for
from duedesk.engine import actions, advance, definitions
from duedesk.engine.actions.channels import pause_channel
from duedesk.engine.actions.sends import content_sha256
from duedesk.engine.advance import UNSETTLED, first_contact
from duedesk.engine.models import Enrollment, Step
from duedesk.records import instances, lines
from duedesk.records.models import Call, Contact, Event, Invoice, Message
from duedesk.records.timeline import log

logger = logging.getLogger("duedesk.worker")

SENDS = ("sms", "email", "call")
MAX_TRANSIENT_ATTEMPTS = 5
_rng = random.Random()


# A call that ended with nobody on the line (or is still ringing): no other call to the person for 5 minutes.
UNANSWERED = ("no_answer", "voicemail", "busy", "failed", "")


def gate_input(channel: str, invoice: Invoice, contact: Contact, now: datetime,
               purpose: str = "reminder", step_id: int | None = None) -> compliance.GateInput:
    """What the gate needs to decide one send, read fresh. A text's line comes prefetched in a batch (it
    asks for thousands); a call reads the invoice's and the person's recent calls too."""
    org = contact.organization
    attempts = person_calls = ()
    last_unanswered = None
    if channel == "call":
        attempts = tuple(
            Call.objects.filter(invoice=invoice, created_at__gte=now - timedelta(days=7))
            .values_list("created_at", flat=True)
        )
        # A call the provider did not take ("retrying": its own step tries again) never rang: not counted.
        recent = list(Call.objects.filter(contact=contact, created_at__gte=now - timedelta(days=2))
                      .exclude(status="retrying").values_list("created_at", "ended_at", "outcome"))
        person_calls = tuple(created for created, _, _ in recent)
        last_unanswered = max((ended or created for created, ended, outcome in recent if outcome in UNANSWERED),
                              default=None)
    line = lines.state(contact, channel, org.accept_provided_number)  # the number (or address) it goes to
    line_calls = ()
    if channel == "call" and line.line_type == compliance.LANDLINE and not line.express:
        # Automated calls to this number (any contact on it) that rang, in the landline period.
        line_calls = tuple(Call.objects.filter(organization_id=org.pk, to=contact.phone, step__isnull=False,
                                               created_at__gte=now - compliance.LANDLINE_PERIOD)
                           .exclude(status="retrying").values_list("created_at", flat=True))
    holidays, closed = org.days_closed(now.year)
    return compliance.GateInput(
        channel=channel,
        now=now,
        tz=contact.tz(),
        window=org.send_window(),
        opted_out=line.opted_out,
        unreachable=line.unreachable,
        consent=line.consent,
        callback_number=bool(org.callback_number),
        outreach_on=contact.outreach_on,
        invoice_status=invoice.status,
        invoice_balance=invoice.balance,
        paused_until=invoice.paused_until,
        call_attempts=attempts,
        last_conversation=_conversation_that_holds_calls(channel, contact, invoice, now, step_id),
        purpose=purpose,
        legal_holds=frozenset(contact.legal_holds) | frozenset(invoice.legal_holds),
        contact_hours=ContactHours.from_stored(contact.contact_hours.get(channel)),
        phone_tz=timezone_for_phone(contact.phone) if contact.phone else None,
        states=states_for(contact.zip_code, contact.phone),
        holidays=holidays,
        closed_dates=closed,
        person_calls=person_calls,
        last_unanswered_call=last_unanswered,
        line_type=line.line_type,
        line_consent=line.express,
        line_calls=line_calls,
    )


def _conversation_that_holds_calls(channel: str, contact: Contact, invoice: Invoice, now: datetime,
                                   step_id: int | None) -> datetime | None:
    """The last conversation, for the week's rest after one (call_after_conversation), unless this call is the
    one the patient asked for in it ("call me back Thursday"): a call made with the person's prior consent given
    directly to us within the past 7 days is outside the call frequencies (12 CFR 1006.14(b)(3)(i)). Only that
    planned step: its retries, and other calls, still wait."""
    spoke = contact.last_conversation_at
    if channel != "call" or step_id is None or spoke is None or spoke <= now - compliance.CONVERSATION_REST:
        return spoke
    asked = Event.objects.filter(organization_id=contact.organization_id, kind="call.retry_planned",
                                 invoice_id=invoice.pk, at__gte=spoke, detail__planned_step=step_id,
                                 detail__asked_by_patient=True).exists()
    return None if asked else spoke


def message_context(invoice: Invoice, contact: Contact, promise=False, now: datetime | None = None
                    ) -> render.MessageContext:
    """What a message may say. `promise`: the pending promise if the caller already has it (None: none).
    With `now`, the pay link is the payment provider's for the current balance (made if need be)."""
    org = contact.organization
    if promise is False:
        promise = invoice.promises.filter(status="pending").order_by("-created_at").first()
    return render.MessageContext(
        org_name=org.name,
        first_name=contact.first_name,
        lang=contact.language or "en",
        amount=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        pay_link=pay_link_for(invoice, now) if now is not None else invoice.pay_link,
        promise_date=promise.promised_date if promise else None,
        callback_number=org.callback_number,
    )


def compose(step: Step, definition: wf.Workflow, invoice: Invoice, contact: Contact, now: datetime,
            ctx: render.MessageContext) -> Message:
    """The unsaved message a text or email step sends (its HTML rides along, unsaved, for the transport)."""
    step_def = definition.step(step.step_id)
    subject = html = ""
    # One language for the whole message: the template's, so the amount, the date and the opt-out line
    # match the body ("es-MX" reads the Spanish text; a template with no Spanish is wholly English).
    lang = definition.language_for(step_def.template, ctx.lang)
    if lang != ctx.lang:
        ctx = dataclasses.replace(ctx, lang=lang)
    if step.kind == "sms":
        body, to = render.render_sms(definition.text(step_def.template, ctx.lang), ctx), contact.phone
    else:
        subject_src = definition.subject(step_def.template, ctx.lang) or "{{ org.name }}"
        subject, body, html = render.render_email(subject_src, definition.text(step_def.template, ctx.lang), ctx)
        to = contact.email
    message = instances.build(
        Message, organization_id=contact.organization_id, contact_id=contact.pk, invoice_id=invoice.pk, step_id=step.pk,
        channel=step.kind,
        direction="out", to=to, subject=subject, body=body, status="sending",
        idempotency_key=step.idempotency_key, created_at=now, content_sha256=content_sha256(subject, body),
        consent_basis=lines.state(contact, step.kind, contact.organization.accept_provided_number).consent or "",
    )
    message.html = html
    return message


def _backoff(attempt: int) -> float:
    return min(300.0, 2.0 ** attempt) * _rng.uniform(0.5, 1.0)


class StepRunner:
    def __init__(self, transports_for, worker_id: str):
        self.transports_for = transports_for
        self.worker_id = worker_id

    # ------------------------------------------------------------------ entry

    def run(self, step_pk: int, now: datetime) -> str:
        prepared = self._prepare(step_pk, now)
        if prepared is None or isinstance(prepared, str):
            return prepared or "lost"
        return self._send(prepared, now)

    # ------------------------------------------------------------------ phase 1: decide and record

    def _prepare(self, step_pk: int, now: datetime):
        invoice_id = Step.objects.filter(pk=step_pk).values_list("enrollment__invoice_id", flat=True).first()
        with transaction.atomic():
            # The invoice first, as a payment and the batch take it: a payment in flight finishes before the
            # gate reads the invoice, so a step it cancels is never marked `sending` behind its back.
            Invoice.objects.select_for_update(no_key=True).filter(pk=invoice_id).values_list("pk").first()
            step = (
                Step.objects.select_for_update(of=("self",))
                .select_related("enrollment__invoice__contact__organization", "enrollment__workflow")
                .get(pk=step_pk)
            )
            if step.status != "claimed" or step.leased_by != self.worker_id:
                return "lost"
            enrollment = step.enrollment
            invoice = enrollment.invoice
            contact = invoice.contact
            enrollment.contact = contact
            enrollment.organization = contact.organization
            if enrollment.status not in Enrollment.LIVE:
                step.status = "cancelled"
                step.finished_at = now
                step.save(update_fields=["status", "finished_at"])
                return "cancelled"
            definition = definitions.parsed(enrollment.workflow)
            step_def = definition.step(step.step_id)
            if step_def.kind not in SENDS:
                return self._run_block(step, step_def, definition, now)
            channel = step_def.kind
            decision = compliance.check(gate_input(channel, invoice, contact, now, step_id=step.pk))
            if isinstance(decision, compliance.Defer):
                step.status = "pending"
                step.run_at = decision.until
                step.lease_until = None
                step.save(update_fields=["status", "run_at", "lease_until"])
                log(contact.organization_id, "step.deferred", now, contact=contact, invoice=invoice,
                    channel=channel, step=step.step_id, rule=decision.rule, until=decision.until)
                return "deferred"
            if isinstance(decision, compliance.Block):
                return self._blocked(step, enrollment, decision, channel, now)
            step.status = "sending"
            step.save(update_fields=["status"])
            if channel == "call":
                record = self._record_call(step, invoice, contact, now)
            else:
                record = self._record_message(step, step_def, definition, invoice, contact, channel, now)
            return step, record, channel, contact

    def _blocked(self, step, enrollment, decision, channel, now):
        step.status = "blocked"
        step.outcome = decision.rule
        step.finished_at = now
        step.lease_until = None
        step.save(update_fields=["status", "outcome", "finished_at", "lease_until"])
        log(enrollment.organization_id, "step.blocked", now, contact=enrollment.contact, invoice=enrollment.invoice,
            channel=channel, step=step.step_id, rule=decision.rule)
        definition = definitions.parsed(enrollment.workflow)
        if decision.rule in ("opted_out", "channel_unreachable", "landline_text"):
            # A landline cannot take a text: the workflow goes on as for an unreachable number (to the call).
            outcome = "opted_out" if decision.rule == "opted_out" else "unreachable"
            advance.go_to_step(enrollment, definition.next_for(step.step_id, outcome), now)
        elif decision.rule == "outreach_off":
            enrollment.status = "paused"
            enrollment.save(update_fields=["status"])
            advance.plan_retry(step, now, now, status="held")
        else:
            actions.finish_enrollment(enrollment, "exited", decision.rule, now)
        return "blocked"

    def _record_message(self, step, step_def, definition, invoice, contact, channel, now):
        built = compose(step, definition, invoice, contact, now, message_context(invoice, contact, now=now))
        fields = ("organization_id", "contact_id", "invoice_id", "step_id", "channel", "direction", "to", "subject",
                  "body", "status", "created_at", "consent_basis", "content_sha256")
        message, _ = Message.objects.update_or_create(  # a retry reuses the row and its key
            idempotency_key=step.idempotency_key, defaults={f: getattr(built, f) for f in fields})
        message.html = built.html
        return message

    def _record_call(self, step, invoice, contact, now):
        org = contact.organization
        call, _ = Call.objects.get_or_create(
            idempotency_key=step.idempotency_key,
            defaults=dict(
                organization_id=org.pk, contact=contact, invoice=invoice, step=step, to=contact.phone,
                sender=org.voice_caller_id, status="dialing", created_at=now,
                consent_basis=lines.state(contact, "call", org.accept_provided_number).consent or "",
            ),
        )
        return call

    # ------------------------------------------------------------------ phase 2: ask the provider

    def _send(self, prepared, now: datetime) -> str:
        step, record, channel, contact = prepared
        transports = self.transports_for(contact.organization)
        transport = transports.for_channel(channel)
        base = settings.PUBLIC_URL
        try:
            if channel == "call":
                accepted = transport.place_call(CallRequest(
                    to=record.to, sender=record.sender, idempotency_key=step.idempotency_key, call_id=record.pk,
                    answer_url=f"{base}/hooks/twilio/voice/answer",
                    status_callback=f"{base}/hooks/twilio/voice/status",
                    amd_callback=f"{base}/hooks/twilio/voice/amd",
                    record=contact.organization.recording, organization_id=contact.organization_id,
                ))
            else:
                accepted = transport.send(Outgoing(
                    channel=channel, to=record.to, body=record.body, idempotency_key=step.idempotency_key,
                    subject=record.subject, html=getattr(record, "html", ""),
                    status_callback=f"{base}/hooks/twilio/sms/status",
                    organization_id=contact.organization_id,
                ))
        except TransportError as error:
            return self.after_error(step, record, channel, contact, transport, error, now)
        return settle_sent(step, record, channel, accepted, now)

    def after_error(self, step, record, channel, contact, transport, error: TransportError, now: datetime) -> str:
        """A send that may have gone out is looked up: found, it is settled; confirmed absent, it is retried
        with the same key; if nobody can tell, a person decides (never a blind resend)."""
        if error.accepted_unknown:
            try:
                found, confirmed = transport.lookup(step.idempotency_key, record.to,
                                                    record.created_at - timedelta(minutes=5)), True
            except TransportError as lookup_error:
                if ask_again_later(step, record, now, lookup_error):
                    return "unsure"
                found, confirmed = None, False
            if found is not None:
                return settle_sent(step, record, channel, found, now)
            if not confirmed or channel == "call":  # a patient is never called twice on a guess
                mark_unknown(step, record, now, str(error))
                return "unknown"
        return self._failed(step, record, channel, contact, error, now)

    def _failed(self, step, record, channel, contact, error: TransportError, now: datetime) -> str:
        if error.about_organization:
            return self._held(step, record, channel, contact, error, now)
        with transaction.atomic():
            step = Step.objects.select_for_update().select_related("enrollment").get(pk=step.pk)
            enrollment = step.enrollment
            record.error_code = error.code or (str(error.http_status) if error.http_status else "")
            # Call rows have no error_code column; the code is on the timeline event.
            record_fields = ["status", "error_code"] if channel != "call" else ["status"]
            if not error.permanent and step.attempts + 1 < MAX_TRANSIENT_ATTEMPTS:
                step.attempts += 1
                delay = error.retry_after or _backoff(step.attempts)
                step.run_at = now + timedelta(seconds=delay)
                step.status = "pending"
                step.lease_until = None
                step.last_error = str(error)
                step.save(update_fields=["attempts", "run_at", "status", "lease_until", "last_error"])
                record.status = "retrying"
                record.save(update_fields=record_fields)
                log(contact.organization_id, f"{_kind(channel)}.retrying", now, contact=contact,
                    invoice=enrollment.invoice, channel=channel, code=record.error_code, attempt=step.attempts)
                return "retrying"
            record.status = "failed"
            record.save(update_fields=record_fields)
            step.status = "failed"
            step.finished_at = now
            step.last_error = str(error)
            step.save(update_fields=["status", "finished_at", "last_error"])
            log(contact.organization_id, f"{_kind(channel)}.failed", now, contact=contact,
                invoice=enrollment.invoice, channel=channel, code=record.error_code, permanent=error.permanent,
                error=str(error))
            if error.about_number:
                actions.mark_unreachable(contact, channel, error.effect or error.code or "permanent", now,
                                         code=error.code or "")
            if enrollment.status in Enrollment.LIVE:
                definition = definitions.parsed(enrollment.workflow)
                outcome = "unreachable" if error.about_number else "failed"
                advance.go_to_step(enrollment, definition.next_for(step.step_id, outcome), now)
            return "failed"

    def _held(self, step, record, channel, contact, error: TransportError, now: datetime) -> str:
        """The provider refused our account, sender or request: nothing about the patient. The organization's
        channel is paused (its owners told once) and the step waits, held, until a person resumes it."""
        with transaction.atomic():
            step = Step.objects.select_for_update().select_related("enrollment").get(pk=step.pk)
            record.status = "held"
            record.error_code = error.code or (str(error.http_status) if error.http_status else "")
            record.save(update_fields=["status", "error_code"] if channel != "call" else ["status"])
            step.status = "held"
            step.lease_until = None
            step.last_error = str(error)
            step.save(update_fields=["status", "lease_until", "last_error"])
            log(contact.organization_id, f"{_kind(channel)}.held", now, contact=contact,
                invoice=step.enrollment.invoice, channel=channel, code=record.error_code, error=str(error))
            if error.code != CHANNEL_PAUSED:
                pause_channel(contact.organization_id, channel, now, code=record.error_code, error=str(error))
        return "held"

    # ------------------------------------------------------------------ blocks without a channel

    def _run_block(self, step: Step, step_def: wf.Step, definition: wf.Workflow, now: datetime) -> str:
        enrollment = step.enrollment
        outcome = "completed"
        target = None
        if step_def.kind == "branch":
            target = actions.run_branch(step, step_def, now) or definition.following(step.step_id)
        elif step_def.kind == "update":
            actions.run_update(step, step_def, now)
            enrollment.refresh_from_db(fields=["status"])
        elif step_def.kind == "notify":
            actions.run_notify(step, step_def, now)
        elif step_def.kind == "handoff" and not enrollment.invoice.handoffs.filter(status="open").exists():
            # A call or reply that already handed this invoice to a person carries the context;
            # the workflow's own handoff block doesn't open a second ticket beside it.
            last = enrollment.data.get("last_outcome")
            actions.open_handoff(
                enrollment.contact, wf.handoff_reason(step_def, last), now, invoice=enrollment.invoice,
                summary=step_def.note or "", collected=enrollment.data.get("collected", {}),
                transcript=enrollment.data.get("transcript", []), actor="workflow",
            )
        elif step_def.kind == "end":
            step.status = "done"
            step.outcome = "end"
            step.finished_at = now
            step.save(update_fields=["status", "outcome", "finished_at"])
            actions.finish_enrollment(enrollment, "done", step_def.note or "end", now)
            return "done"
        step.status = "done"
        step.outcome = outcome
        step.finished_at = now
        step.lease_until = None
        step.save(update_fields=["status", "outcome", "finished_at", "lease_until"])
        if enrollment.status in Enrollment.LIVE:
            advance.go_to_step(enrollment, target or definition.next_for(step.step_id, outcome), now)
        return "done"


def _kind(channel: str) -> str:
    return {"sms": "sms", "email": "email", "call": "call"}[channel]


def settle_sent(step: Step, record, channel: str, accepted, now: datetime, at: datetime | None = None) -> str:
    """The provider took it: a text or email is sent (the step is done); a call is now ringing."""
    with transaction.atomic():
        step = Step.objects.select_for_update(of=("self",)).select_related(
            "enrollment__contact__organization", "enrollment__invoice", "enrollment__workflow").get(pk=step.pk)
        enrollment = step.enrollment
        if channel != "call":
            advance.settle_sends([advance.Sent(step, record, accepted.provider_id, accepted.status, at or now)], now)
            return "sent"
        record.refresh_from_db(fields=["status", "provider_id"])
        record.provider_id = record.provider_id or accepted.provider_id
        if record.status in UNSETTLED:  # a status callback that came first is never moved backwards
            record.status = "ringing"
        record.save(update_fields=["provider_id", "status"])
        step.provider_id = accepted.provider_id
        if step.status != "sending":  # the call already ended (its status callback came first)
            step.save(update_fields=["provider_id"])
            return "called"
        step.status = "waiting"
        step.save(update_fields=["provider_id", "status"])
        enrollment.status = "waiting" if enrollment.status == "active" else enrollment.status
        enrollment.save(update_fields=["status"])
        log(step.organization_id, "call.placed", now, contact=enrollment.contact, invoice=enrollment.invoice,
            channel="call", step=step.step_id, to=record.to, consent=record.consent_basis or None)
        first_contact([enrollment.invoice_id], "first_called_at", now)
        return "calling"


LOOKUP_AGAIN = timedelta(seconds=15)  # after a failed lookup of an unsure text, the provider is asked again
GIVE_UP_ASKING = timedelta(minutes=15)  # ... for this long after the text was recorded; then a person decides


def ask_again_later(step: Step, record, now: datetime, error: TransportError) -> bool:
    """A text we are unsure about, and the provider could not be asked just now (a 429, a 500, a timeout):
    it stays `sending`, handed to recovery (worker.recover), which asks again in LOOKUP_AGAIN, until
    GIVE_UP_ASKING after it was recorded. Calls (never redialled on a guess) and emails (a mail server can't
    be asked) go to a person at once. Returns whether the step was handed over."""
    if step.kind != "sms" or error.permanent or record is None or now - record.created_at >= GIVE_UP_ASKING:
        return False
    return Step.objects.filter(pk=step.pk, status="sending").update(
        leased_by="", lease_until=now + LOOKUP_AGAIN, last_error=f"not confirmed yet: {error}"[:2000]) == 1


def mark_unknown(step: Step, record, now: datetime, error: str = "") -> None:
    """We cannot tell whether the provider took it: stop, and ask a person before anything else is sent."""
    with transaction.atomic():
        step = Step.objects.select_related("enrollment__contact", "enrollment__invoice").get(pk=step.pk)
        Step.objects.filter(pk=step.pk).update(status="unknown", lease_until=None, finished_at=now)
        if record is not None:
            record.status = "unknown"
            record.save(update_fields=["status"])
        enrollment = step.enrollment
        log(step.organization_id, "step.unknown", now, contact=enrollment.contact, invoice=enrollment.invoice,
            channel=step.kind, step=step.step_id, error=error)
        actions.open_handoff(
            enrollment.contact, "unknown_send", now, invoice=enrollment.invoice,
            summary=vocabulary.sentence("step_unknown", kind=step.kind, step=step.step_id),
        )
