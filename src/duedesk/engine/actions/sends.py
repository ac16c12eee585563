"""A single text sent now, outside a workflow step: the pay link during a call, the STOP
confirmation, the HELP answer, a staff reply. Gated, recorded before it is sent, logged."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import CHANNEL_PAUSED, TransportError
from duedesk.core import compliance, render, vocabulary
from duedesk.records.models import Contact, Handoff, Invoice, Message
from duedesk.records.prepared import Prepared
from duedesk.records.timeline import log, log_with


@dataclass(frozen=True)
class TextResult:
    decision: compliance.Decision
    message: Message | None = None
    error: str = ""

    @property
    def sent(self) -> bool:
        return self.message is not None and self.message.status not in ("failed", "sending", "waiting")

    def explain(self) -> str:
        d = self.decision
        if isinstance(d, compliance.Block):
            return f"Not sent: {d.detail or d.rule} ({d.rule})."
        if isinstance(d, compliance.Defer):
            until = timezone.localtime(d.until)  # the page's zone: the office's on the staff pages
            return f"Not sent now: {d.detail or d.rule}. Allowed from {until:%b %-d, %-I:%M %p %Z} ({d.rule})."
        if self.error:
            return f"The text could not be sent: {self.error}"
        return "Text sent."


def content_sha256(subject: str, body: str) -> str:
    """The fingerprint of what was sent, kept with the attempt for an auditor (docs/compliance.md)."""
    return hashlib.sha256(f"{subject}\n{body}".encode() if subject else body.encode()).hexdigest()


def _gate(contact: Contact, invoice: Invoice | None, now: datetime, purpose: str
          ) -> tuple[compliance.Decision, str | None]:
    """The gate's decision, and the consent basis of the line the text goes to (read once, for both)."""
    from duedesk.engine.runner import gate_input

    if invoice is None:
        # No invoice (a reply to an unknown thread): only the contact's own state applies.
        invoice = Invoice(status="open", balance=Decimal("1"), organization=contact.organization, contact=contact)
    facts = gate_input("sms", invoice, contact, now, purpose=purpose)
    return compliance.check(facts), facts.consent


# Asked before every text: its SQL is built once per process (records/prepared.py).
_TEXTED_BEFORE = Prepared(lambda org_id, to: Message.objects.filter(
    organization_id=org_id, to=to, channel="sms", direction="out").exclude(status="failed").only("pk")[:1])


def first_in_thread(contact: Contact) -> bool:
    """No text has gone to this number from the organization yet (one that failed never arrived)."""
    return not _TEXTED_BEFORE(contact.organization_id, contact.phone)


def send_text_now(contact: Contact, body: str, now: datetime, transports, *, invoice: Invoice | None = None,
                  purpose: str = "reply", actor: str = "duedesk", handoff: Handoff | None = None) -> TextResult:
    """Gate, record, then send. A deferred or blocked text is logged with its rule, never queued.
    Every text names the organization, and the first one in a thread carries the opt-out line in the
    contact's language (render.identified_text, rule text_identification)."""
    body, decision, consent = _prepare(contact, body, now, invoice, purpose, actor, handoff)
    if not isinstance(decision, compliance.Allow):
        return TextResult(decision)
    key = f"now:{uuid.uuid4().hex}"
    sms = transports.for_channel("sms")
    if getattr(sms, "in_response", False):
        # The reply leaves in the webhook's answer, after this transaction commits (a failure sends nothing):
        # it is recorded once, already handed over, in the caller's transaction (no savepoint, no update).
        accepted = sms.send(_outgoing(contact.organization_id, contact.phone, body, key))
        with transaction.atomic(savepoint=False):
            message = _message(contact, invoice, body, key, now, consent, accepted.status, accepted.provider_id)
            _log_sent(message, contact, invoice, handoff, actor, now, with_message=True)  # one round trip for both
        return TextResult(decision, message)
    with transaction.atomic():  # recorded before the provider is asked
        message = _record(contact, invoice, body, key, now, consent, "sending")
    return _hand_over(message, sms, decision, invoice, handoff, actor, now)


# A text recorded in a webhook for the worker to hand to the provider (text_later): its key says so, which
# the key's unique index finds without reading every message, and its status is "waiting" until then.
LATER = "later:"
WAITING = "waiting"


def text_later(contact: Contact, body: str, now: datetime, *, invoice: Invoice | None = None,
               actor: str = "duedesk") -> TextResult:
    """Gate and record a reply now, in the caller's transaction; the worker hands it to the provider on its
    next tick (send_waiting_texts), asking the gate again first. For a text decided inside a webhook that must
    answer without waiting on the rate limiter or a REST call: the pay link asked for during a call."""
    body, decision, consent = _prepare(contact, body, now, invoice, "reply", actor, None)
    if not isinstance(decision, compliance.Allow):
        return TextResult(decision)
    with transaction.atomic(savepoint=False):
        message = _record(contact, invoice, body, f"{LATER}{uuid.uuid4().hex}", now, consent, WAITING)
    return TextResult(decision, message)


def send_waiting_texts(now: datetime, transports_for, limit: int = 50) -> int:
    """Hand the texts text_later recorded to the provider, oldest first; returns how many were taken. Workers
    share them: each takes its own rows (SKIP LOCKED on PostgreSQL) and marks them `sending` before asking
    the provider, so a text is never handed over twice. A STOP, a payment or a closed window that came in
    meanwhile stops it (the timeline says which rule).

    A text's `updated_at` is its lease: set when it is taken, set again just before its own request (its
    slot waits at most a second, as a webhook's reply does), so a text `sending` for longer than LEASE has no
    request in flight and recover_stranded_texts may ask the provider about it. One a peer took over
    meanwhile no longer matches and is left to it."""
    from django.db import connection

    if connection.vendor == "postgresql":  # one statement: every worker tick asks, and most find none
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE records_message SET status = %(sending)s, updated_at = %(now)s WHERE status = %(waiting)s"
                " AND id IN (SELECT id FROM records_message WHERE idempotency_key LIKE %(later)s"
                " AND status = %(waiting)s ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) RETURNING id",
                {"sending": SENDING, "waiting": WAITING, "now": now, "later": LATER + "%", "limit": limit})
            ids = [pk for (pk,) in cursor.fetchall()]
    else:
        with transaction.atomic():
            waiting = Message.objects.filter(idempotency_key__startswith=LATER, status=WAITING).order_by("pk")
            ids = list(waiting.values_list("pk", flat=True)[:limit])
            if ids:
                Message.objects.filter(pk__in=ids, status=WAITING).update(status=SENDING, updated_at=now)
    if not ids:
        return 0
    for message in (Message.objects.filter(pk__in=ids).select_related("contact__organization", "invoice")
                    .order_by("pk")):
        contact, invoice = message.contact, message.invoice
        decision, _ = _gate(contact, invoice, now, "reply")
        if not isinstance(decision, compliance.Allow):
            with transaction.atomic():
                message.status = "blocked"
                message.save(update_fields=["status"])
                _log_refused(decision, contact, invoice, None, "duedesk", message.body, now)
            continue
        if not Message.objects.filter(pk=message.pk, status=SENDING, updated_at=now).update(updated_at=now):
            continue  # taken over by a peer's recovery meanwhile: it settles the text
        _hand_over(message, transports_for(contact.organization).for_channel("sms"), decision, invoice, None,
                   "duedesk", now, max_wait=REPLY_MAX_WAIT)
    return len(ids)


SENDING = "sending"
REPLY_MAX_WAIT = 1.0  # seconds a waiting text waits for its sender's slot: its send ends well within LEASE


def recover_stranded_texts(now: datetime, transports_for, limit: int = 100) -> dict:
    """Texts text_later recorded whose worker died while handing them over: `sending` for longer than a send
    can take (LEASE). As a stranded step is, each is taken by one worker (a conditional UPDATE of its lease)
    and the provider is asked by our key: found → settled as sent; confirmed absent → waiting again, sent once
    by send_waiting_texts with the same key after the gate; nobody can tell → `unknown`, for a person. Nothing
    is ever blindly sent again."""
    from datetime import timedelta

    from duedesk.engine.actions.handoffs import open_handoff
    from duedesk.engine.lease import LEASE

    counts = {"reconciled": 0, "waiting": 0, "unknown": 0}
    stale = list(Message.objects.filter(idempotency_key__startswith=LATER, status=SENDING,
                                        updated_at__lt=now - LEASE).order_by("pk")
                 .values_list("pk", "updated_at")[:limit])
    for pk, seen in stale:
        if not Message.objects.filter(pk=pk, status=SENDING, updated_at=seen).update(updated_at=now):
            continue  # a peer took it first
        message = Message.objects.select_related("contact__organization", "invoice").get(pk=pk)
        contact, invoice = message.contact, message.invoice
        transport = transports_for(contact.organization).for_channel("sms")
        try:
            found = transport.lookup(message.idempotency_key, message.to, message.created_at - timedelta(minutes=5))
        except TransportError as error:
            found, lookup_error = None, str(error)
        else:
            lookup_error = ""
        with transaction.atomic():
            if not Message.objects.select_for_update().filter(pk=pk, status=SENDING, updated_at=now).exists():
                continue  # settled meanwhile (the dead worker's answer came late), or taken by a peer
            if found is not None:
                message.provider_id, message.status = found.provider_id, found.status
                message.save(update_fields=["provider_id", "status"])
                log(contact.organization_id, "sms.reconciled", now, contact=contact, invoice=invoice, channel="sms",
                    provider_id=found.provider_id, result="was sent")
                _log_sent(message, contact, invoice, None, "duedesk", now)
                counts["reconciled"] += 1
            elif not lookup_error:
                Message.objects.filter(pk=pk).update(status=WAITING, updated_at=now)
                log(contact.organization_id, "sms.reconciled", now, contact=contact, invoice=invoice, channel="sms",
                    result="never reached the provider")
                counts["waiting"] += 1
            else:
                Message.objects.filter(pk=pk).update(status="unknown", updated_at=now)
                log(contact.organization_id, "sms.unknown", now, contact=contact, invoice=invoice, channel="sms",
                    error=lookup_error, body=message.body)
                open_handoff(contact, "unknown_send", now, invoice=invoice,
                             summary=vocabulary.sentence("text_unknown", body=message.body))
                counts["unknown"] += 1
    return counts


def _prepare(contact: Contact, body: str, now: datetime, invoice: Invoice | None, purpose: str, actor: str,
             handoff: Handoff | None) -> tuple[str, compliance.Decision, str]:
    """The text as it will read, the gate's decision (a refusal is logged with its rule) and the consent
    basis recorded with it."""
    body = render.identified_text(body, contact.organization.name, contact.language,
                                  opt_out=first_in_thread(contact))
    decision, basis = _gate(contact, invoice, now, purpose)
    if not isinstance(decision, compliance.Allow):
        _log_refused(decision, contact, invoice, handoff, actor, body, now)
    return body, decision, purpose if purpose != "reminder" else (basis or "")


def _log_refused(decision: compliance.Decision, contact: Contact, invoice: Invoice | None, handoff: Handoff | None,
                 actor: str, body: str, now: datetime) -> None:
    kind = "sms.deferred" if isinstance(decision, compliance.Defer) else "sms.blocked"
    log(contact.organization_id, kind, now, contact=contact, invoice=invoice, handoff=handoff, channel="sms",
        actor=actor, rule=decision.rule, until=getattr(decision, "until", None), body=body)


def _outgoing(organization_id: int, to: str, body: str, key: str, max_wait: float | None = None) -> Outgoing:
    return Outgoing(channel="sms", to=to, body=body, idempotency_key=key,
                    status_callback=f"{settings.PUBLIC_URL}/hooks/twilio/sms/status", organization_id=organization_id,
                    max_wait=max_wait)


def _hand_over(message: Message, sms, decision: compliance.Decision, invoice: Invoice | None,
               handoff: Handoff | None, actor: str, now: datetime, max_wait: float | None = None) -> TextResult:
    """Ask the provider to send a recorded (`sending`) text, then settle it: sent, or failed with its code."""
    contact = message.contact
    try:
        accepted = sms.send(_outgoing(contact.organization_id, message.to, message.body, message.idempotency_key,
                                      max_wait))
    except TransportError as error:
        with transaction.atomic():
            message.status = "failed"
            message.error_code = error.code or ""
            message.save(update_fields=["status", "error_code"])
            log(contact.organization_id, "sms.failed", now, contact=contact, invoice=invoice, handoff=handoff,
                channel="sms", actor=actor, code=error.code, error=str(error))
            if error.about_organization and error.code != CHANNEL_PAUSED:
                from duedesk.engine.actions.channels import pause_channel

                pause_channel(contact.organization_id, "sms", now, code=error.code or "", error=str(error))
        return TextResult(decision, message, str(error))
    with transaction.atomic():
        message.provider_id = accepted.provider_id
        message.status = accepted.status
        message.save(update_fields=["provider_id", "status"])
        _log_sent(message, contact, invoice, handoff, actor, now)
    return TextResult(decision, message)


def _message(contact: Contact, invoice: Invoice | None, body: str, key: str, now: datetime, consent: str,
             status: str, provider_id: str = "") -> Message:
    """The outbound text, not yet written."""
    return Message(
        organization_id=contact.organization_id, contact=contact, invoice=invoice, channel="sms", direction="out",
        to=contact.phone, sender=contact.organization.sms_from, body=body, status=status, provider_id=provider_id,
        idempotency_key=key, created_at=now, content_sha256=content_sha256("", body), consent_basis=consent,
    )


def _record(contact: Contact, invoice: Invoice | None, body: str, key: str, now: datetime, consent: str,
            status: str, provider_id: str = "") -> Message:
    message = _message(contact, invoice, body, key, now, consent, status, provider_id)
    message.save(force_insert=True)
    return message


def _log_sent(message: Message, contact: Contact, invoice: Invoice | None, handoff: Handoff | None, actor: str,
              now: datetime, *, with_message: bool = False) -> None:
    """`with_message`: the text is new, and written with its event (one round trip)."""
    write = partial(log_with, message) if with_message else log
    write(contact.organization_id, "sms.sent", now, contact=contact, invoice=invoice, handoff=handoff,
          channel="sms", actor=actor, body=message.body, consent=message.consent_basis, sha256=message.content_sha256)
    # A text about an invoice (a staff reply, the pay link) counts as texted. The time only ever moves earlier,
    # so an invoice read in this transaction as texted already by then needs no UPDATE.
    if invoice is not None and invoice.pk and (invoice.first_texted_at is None or invoice.first_texted_at > now):
        from duedesk.engine.runner import first_contact

        first_contact([invoice.pk], "first_texted_at", now)
        invoice.first_texted_at = now
