"""The event types an endpoint can receive, the timeline events they come from, and their payloads.

Payloads hold the minimum: ids, the invoice reference, amounts and dates, outcomes and reasons. No names,
phone numbers or message bodies; call transcripts and handoff summaries only for endpoints marked to
receive them. docs/integrations.md shows an example of each."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from duedesk.records.models import Event

# webhook type -> (timeline kind, what it means: marked for the settings page's catalogue, which translates it)
TYPES = {
    "invoice.enrolled": ("enrollment.started", gettext_noop("Reminders started for an invoice")),
    "invoice.exited": ("enrollment.exited", gettext_noop("Reminders stopped for an invoice (paid, opted out, disputed…)")),
    "sms.sent": ("sms.sent", gettext_noop("A text was handed to the carrier")),
    "email.sent": ("email.sent", gettext_noop("An email was sent")),
    "call.completed": ("call.completed", gettext_noop("A call ended, with its outcome")),
    "promise.recorded": ("promise.recorded", gettext_noop("The patient promised to pay on a date")),
    "promise.kept": ("promise.kept", gettext_noop("A promise was kept")),
    "promise.broken": ("promise.broken", gettext_noop("A promised date passed unpaid")),
    "payment.recorded": ("payment.recorded", gettext_noop("A payment was recorded")),
    "payment.refunded": ("payment.refunded", gettext_noop("A payment was refunded; the balance reopened")),
    "handoff.opened": ("handoff.opened", gettext_noop("A conversation was handed to a person")),
    "handoff.resolved": ("handoff.resolved", gettext_noop("A person resolved a handoff")),
    "contact.opted_out": ("contact.opted_out", gettext_noop("A patient opted out of texts or calls")),
    "contact.opted_in": ("contact.opted_in", gettext_noop("A patient opted back in")),
    "workflow.notice": ("workflow.notice", gettext_noop("A workflow's notify block was reached (final notice, collections…)")),
}
KIND_TO_TYPE = {kind: name for name, (kind, _) in TYPES.items()}
# The detail each type may carry (the rest of the timeline's detail stays inside duedesk).
SAFE_DETAIL = {
    "invoice.enrolled": ("workflow", "version"),
    "invoice.exited": ("reason",),
    "sms.sent": ("step", "provider_id"),
    "email.sent": ("step",),
    "call.completed": ("outcome", "answered_by", "duration"),
    "promise.recorded": ("date", "amount"),
    "promise.kept": ("date",),
    "promise.broken": ("date",),
    "payment.recorded": ("amount", "balance"),
    "payment.refunded": ("amount", "balance"),
    "handoff.opened": ("reason",),
    "handoff.resolved": ("reason", "outcome"),
    "contact.opted_out": ("channels", "source"),
    "contact.opted_in": ("channels", "source"),
    "workflow.notice": ("notice", "step"),
}
PRIVATE_DETAIL = {"handoff.opened": ("summary",), "handoff.resolved": ("note",)}


def payload(event: Event, webhook_type: str, transcripts: bool) -> dict:
    invoice = event.invoice
    data: dict = {
        "id": f"evt_{event.pk}",
        "organization": event.organization.slug,
        "contact_id": event.contact_id,
        "channel": event.channel or None,
        "actor": "staff" if event.actor.startswith("staff") else event.actor,
    }
    if invoice is not None:
        data["invoice"] = {"reference": invoice.external_ref, "currency": invoice.currency,
                           "amount_due": str(invoice.amount_due), "due_date": invoice.due_date.isoformat()}
    if event.handoff_id:
        data["handoff_id"] = event.handoff_id
    detail = event.detail or {}
    for key in SAFE_DETAIL.get(webhook_type, ()):
        if key in detail:
            data[key] = detail[key]
    if transcripts:
        for key in PRIVATE_DETAIL.get(webhook_type, ()):
            if key in detail:
                data[key] = detail[key]
        if webhook_type == "call.completed":
            data["transcript"] = detail.get("transcript") or []
    return {"type": webhook_type, "timestamp": event.at.isoformat(), "data": data}


def example(webhook_type: str) -> dict:
    """A made-up payload for the docs and the "send a test event" button."""
    data = {"id": "evt_1", "organization": "maple-clinic", "contact_id": 42, "channel": None, "actor": "duedesk",
            "invoice": {"reference": "INV-1006", "currency": "USD", "amount_due": "1250.00",
                        "due_date": "2026-12-10"}}
    samples = {"promise.recorded": {"date": "2026-12-18", "amount": None}, "payment.recorded":
               {"amount": "1250.00", "balance": "0.00"}, "handoff.opened": {"reason": "hardship", "handoff_id": 7},
               "sms.sent": {"channel": "sms", "step": "heads_up"}, "call.completed": {"channel": "call",
               "outcome": "promised", "answered_by": "human"},
               "workflow.notice": {"notice": "collections", "step": "to_collections"}}
    data.update(samples.get(webhook_type, {}))
    return {"type": webhook_type, "timestamp": "2026-12-07T15:00:00+00:00", "data": data}
