"""The names duedesk gives things, each with its label in the billing office's words, kept in one place.

Models take their choices from here, the timeline its labels, the inbox its filters, the API its
descriptions, the workflow checker its allowed values. The core imports no Django, so labels are plain
English strings; each is a whole phrase (never glued from pieces) so a translation catalogue can take them
as they are where they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

INVOICE_STATUSES = {
    "open": "Open",
    "paid": "Paid",
    "disputed": "Disputed",
    "hardship": "Hardship",
    "in_plan": "In a payment plan",
    "written_off": "Written off",
}

HANDOFF_REASONS = {
    "dispute": "Dispute",
    "hardship": "Hardship",
    "payment_plan": "Payment plan",
    "request_human": "Asked for a person",
    "verify_payment": "Verify payment",
    "reply_needs_reading": "Reply needs reading",
    "unknown_send": "Unknown send",
    "broken_promise": "Broken promise",
    "no_response": "No response",
    "identity_failed": "Identity not confirmed",
    "missed_instalment": "Missed instalment",
    "refund": "Payment refunded",
    "attorney_represented": "Represented by an attorney",
    "bankruptcy": "Bankruptcy",
    "cease_communication": "Asked us to stop contacting them",
    "overpaid": "Overpaid",
    "unknown_caller": "Call from an unknown number",
}
HANDOFF_STATUSES = {"open": "Open", "resolved": "Resolved"}

PROMISE_STATUSES = {"pending": "Pending", "kept": "Kept", "broken": "Broken", "cancelled": "Cancelled"}
INSTALMENT_STATUSES = {"pending": "Pending", "paid": "Paid", "missed": "Missed"}

ENROLLMENT_STATUSES = {
    "active": "Active",
    "waiting": "Waiting for an answer",
    "paused": "Paused",
    "done": "Done",
    "exited": "Exited",
}

STEP_STATUSES = {
    "pending": "Pending",
    "claimed": "Claimed by a worker",
    "sending": "Sending",
    "waiting": "Waiting for the outcome",
    "held": "Held (outreach paused)",
    "done": "Done",
    "skipped": "Skipped",
    "blocked": "Blocked",
    "cancelled": "Cancelled",
    "failed": "Failed",
    "unknown": "Unknown: needs a person",
}

# What the patient's words were understood as (core.nlu.INTENTS), for staff: shown behind a transcript line's
# "details" toggle, never as a bare code.
UNDERSTOOD = {
    "attorney": "Said an attorney represents them",
    "bankruptcy": "Said they filed for bankruptcy",
    "cease_contact": "Asked us to stop contacting them",
    "contact_preference": "Said how or when to reach them",
    "pay_now": "Wants to pay now",
    "already_paid": "Says they already paid",
    "promise_to_pay": "Promised a date to pay",
    "payment_plan": "Asked for a payment plan",
    "dispute": "Disputes the bill",
    "hardship": "Hardship",
    "wrong_person": "Wrong person",
    "opt_out": "Asked not to be contacted",
    "request_human": "Asked for a person",
    "callback_later": "Asked to be called back",
    "question": "Asked a question",
    "affirm": "Said yes",
    "deny": "Said no",
    "unclear": "Not understood",
}

# The ways duedesk reaches a person. CHANNELS names one; CHANNEL_PLURALS is how an opt-out reads ("opted out
# of texts"), and "all" is the opt-out of everything.
CHANNELS = {"sms": "Texts", "call": "Calls", "email": "Email"}
CHANNEL_PLURALS = {"sms": "texts", "call": "calls", "email": "email", "all": "everything"}

# How a call ended, as the timeline says it.
CALL_OUTCOMES = {
    "promised": "promised a date to pay",
    "paid": "says it is paid",
    "completed": "conversation finished",
    "no_answer": "no answer",
    "voicemail": "left a voicemail",
    "busy": "line busy",
    "failed": "call failed",
    "handoff": "handed to a person",
    "dispute": "disputes the bill",
    "hardship": "hardship",
    "callback": "asked to be called back",
    "wrong_person": "wrong person",
    "opted_out": "asked not to be called",
    "attorney": "said an attorney represents them",
    "bankruptcy": "said they filed for bankruptcy",
    "cease_contact": "asked us to stop contacting them",
    "unreachable": "the number can't take our calls",
    "limited_content": "left only the limited-content message (nothing about the bill said)",
    "identity_failed": "identity not confirmed",
    "request_human": "asked for a person",
    "payment_plan": "asked for a payment plan",
    "unknown_caller": "a caller not in our records",
}

# Who or what picked up a call, as Twilio's answering machine detection says (AnsweredBy), for the timeline.
ANSWERED_BY = {
    "human": "a person",
    "machine_start": "an answering machine",
    "machine_end_beep": "an answering machine (after the beep)",
    "machine_end_silence": "an answering machine (after a silence)",
    "machine_end_other": "an answering machine",
    "fax": "a fax machine",
    "unknown": "not known",
}

# What a workflow step can end with (core.workflow.OUTCOMES), as the workflow editor offers them: "if the
# patient promised a date, go to ...".
WORKFLOW_OUTCOMES = {
    "sent": "Sent",
    "failed": "Could not be sent or placed",
    "paid": "Says it is paid now",
    "promised": "Promised a date to pay",
    "dispute": "Disputes the bill",
    "hardship": "Hardship",
    "payment_plan": "Asked for a payment plan",
    "request_human": "Asked for a person",
    "already_paid": "Says they already paid",
    "wrong_person": "Wrong person",
    "no_answer": "No answer",
    "voicemail": "Voicemail",
    "opted_out": "Asked not to be contacted",
    "unclear": "Answer not understood",
    "callback_later": "Asked to be called back",
    "completed": "Done",
    "unreachable": "The number can't be reached",
}

# What a workflow's `notify` block tells the office's other systems (core.workflow.NOTICES): its CRM gets a
# note on the contact, its webhook endpoints a `workflow.notice` event. Each says where the invoice stands.
WORKFLOW_NOTICES = {
    "final_notice": "Final notice sent",
    "no_reply": "No reply to the reminders",
    "call_list": "Put on the staff call list",
    "collections": "Ready for collections",
    "write_off_review": "To review for write-off",
}

# The gate's rules (core.compliance) as the timeline explains a send that did not go.
GATE_RULES = {
    "outreach_off": "outreach is switched off for this contact",
    "opted_out": "opted out",
    "channel_unreachable": "the number or address is unreachable",
    "invoice_paid": "the invoice is paid",
    "invoice_written_off": "the invoice is written off",
    "invoice_disputed": "the invoice is disputed",
    "invoice_hardship": "hardship: a person handles this invoice",
    "no_balance": "nothing is owed",
    "paused": "reminders are paused",
    "call_frequency": "7 call attempts in the last 7 days",
    "call_after_conversation": "spoke with the patient in the last 7 days",
    "send_window": "outside the send window",
    "cease_communication": "the patient asked us to stop contacting them",
    "attorney_represented": "an attorney represents the patient for this invoice",
    "bankruptcy": "the patient filed for bankruptcy",
    "contact_preference": "outside the hours the patient asked for",
    "no_consent": "no consent on record for automated texts and calls to this number",
    "no_callback_number": "the organization has no callback number (set one in Settings)",
    "window_area_code": "outside the send window where the phone's area code is",
    "holiday": "a public holiday the office keeps",
    "closed_day": "a day the office is closed",
    "calls_per_day": "3 calls to this patient today, across all their invoices",
    "call_after_unanswered": "a call to this patient went unanswered less than 5 minutes ago",
    "landline_text": "the number is a landline: texts cannot reach it",
    "landline_calls": "3 automated calls to this landline in 30 days without consent",
    # State rules (core/states.py); a test checks every state rule has its words here.
    "state_hours_FL": "outside Florida's hours for texts and calls (8 a.m. to 9 p.m.)",
    "state_hours_OK": "outside Oklahoma's hours (texts 8 a.m. to 8 p.m., calls 9 a.m. to 8 p.m.)",
    "state_hours_MD": "outside Maryland's hours for texts and calls (8 a.m. to 8 p.m.)",
    "state_calls_FL": "Florida's limit of 3 calls about one invoice in 24 hours",
    "state_calls_OK": "Oklahoma's limit of 3 calls about one invoice in 24 hours",
    "state_calls_MD": "Maryland's limit of 3 calls about one invoice in 24 hours",
    "state_calls_MA": "Massachusetts' limit of 2 calls about one invoice in 7 days",
}

# Why an invoice's reminders finished (engine.Enrollment.exit_reason, the `reason` of enrollment.done and
# enrollment.exited), besides the gate's rules (GATE_RULES, which name the legal holds too). A workflow's
# `end` block may give its own reason: that one is the author's words and shown as written.
FINISH_REASONS = {
    "completed": "every step done",
    "end": "the workflow reached its end",
    "no_runnable_step": "no step could be planned",
    "replaced": "another workflow started for this invoice",
    "paid": "the invoice is paid",
    "written_off": "the invoice is written off",
    "disputed": "the invoice is disputed",
    "hardship": "hardship: a person handles this invoice",
    "in_plan": "the invoice is in a payment plan",
    "payment_plan": "the invoice is in a payment plan",
}

# Why a number or address was marked unreachable (the `reason` of contact.unreachable): the provider's effect
# (integrations/twilio/errors.py) or what the patient or the call found.
UNREACHABLE_REASONS = {
    "invalid_number": "not a valid number",
    "not_mobile": "not a mobile number",
    "unreachable": "the provider cannot reach it",
    "blocked": "blocked by the patient or the carrier",
    "opted_out": "opted out with the carrier",
    "fax": "a fax machine answered",
    "wrong_number": "the person says it is the wrong number",
    "permanent": "the provider refused it for good",
}

# The sentences the engine, the importer and the integrations write into the timeline and into handoffs'
# summaries, with their %(name)s values. They are stored in English as written here, so a stored row reads
# on its own (the API, CRM notes, exports); the pages find the sentence again and say it in their language.
SENTENCES = {
    "overpaid": "Paid %(paid)s with %(owed)s owed: %(credit)s to refund or apply",
    "text_unknown": "We could not confirm whether a text the patient asked for went out: \"%(body)s\". Check with "
                    "the patient before sending it again.",
    "step_unknown": "We could not confirm whether the %(kind)s for step '%(step)s' went out. Check with the patient "
                    "before sending anything else.",
    "stripe_refund": "Stripe refunded %(amount)s %(currency)s; the balance is open again.",
    "day_passed": "%(day)s has passed",
    "no_anchor": "no %(field)s to count from",
    "says_paid": "says it was paid",
    "payment_plan": "payment plan",
    "resumed": "resumed",
    "reminders_resumed": "reminders resumed",
    "owed_again": "balance owed again",
    "hold_cease": "the contact asked us to stop contacting them",
    "hold_attorney": "an attorney represents the contact for this invoice",
    "hold_bankruptcy": "the contact filed for bankruptcy",
    # An import's bad cells (intake/importer.py), as its report gives them
    "missing": "is missing",
    "no_phone_or_email": "is missing (a phone or an email is needed)",
    "not_a_date": "%(value)s is not a date (use YYYY-MM-DD or MM/DD/YYYY)",
    "no_such_day": "%(value)s is not a date on the calendar",
    "not_an_amount": "%(value)s is not an amount",
    "negative": "%(value)s is negative; an amount due cannot be",
    "too_large": "%(value)s is too large",
    "not_a_phone": "%(value)s is not a valid phone number",
    "not_a_zip": "%(value)s is not a US ZIP code (12345 or 12345-6789)",
    "not_past": "%(value)s is not in the past",
    "not_a_currency": "%(value)s is not an ISO 4217 currency code (like USD)",
    "twice": "%(ref)s is already on line %(line)s of this file",
    "not_yes_no": "%(value)s is not yes or no",
    "currency_fixed": "invoice %(ref)s is in %(currency)s; it cannot change to %(new)s",
    # What every way in refuses (intake/checks.py): the import's cells, the API's and the staff forms' fields
    "out_of_years": "%(value)s is outside the years %(low)s-%(high)s",
    "control_character": "contains a control character (%(what)s)",
    "too_long": "is longer than %(limit)s characters",
    "not_a_zone": "%(value)s is not a time zone (use a name like America/New_York)",
    "not_an_email": "%(value)s is not an email address",
}


def sentence(name: str, **values) -> str:
    """One of SENTENCES with its values, as it is stored."""
    return SENTENCES[name] % values if values else SENTENCES[name]


_SENTENCES = [(re.compile("^" + re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(english)) + "$", re.S), english)
              for english in SENTENCES.values()]


def found_sentence(text: str) -> tuple[str, dict[str, str]] | None:
    """Which of SENTENCES a stored text is, with its values: ("%(day)s has passed", {"day": "2026-11-28"})."""
    for pattern, english in _SENTENCES:
        found = pattern.match(text)
        if found:
            return english, found.groupdict()
    return None


# A line's history (records.LineChange.what): the consent and opt-out record of one number or address.
LINE_CHANGES = {
    "consent_given": "Consent recorded",
    "consent_revoked": "Consent withdrawn",
    "opted_out": "Opted out",
    "opted_in": "Opted back in",
    "unreachable": "Reported unreachable",
    "line_type": "Line type looked up",
}

# What a handoff collected beyond the call's own answers (identity, promised date, stated reason, amount
# offered), as the handoff's page names each: an overpayment's figures, where a legal stop was heard.
COLLECTED = {
    "outcome": "Outcome",
    "amount_paid": "Amount paid",
    "balance_before": "Balance before",
    "credit": "Credit",
    "source": "Heard in",
}

# The grounds on which a number or address may be texted and called about the bill (engine/actions/lines.py
# CONSENT_BASES), as the consent history says them.
CONSENT_BASES = {
    "express": "express consent",
    "provided_number": "number given for the bill",
    "inbound_text": "the patient texted us first",
}

# Where a line's change or its consent came from (records.LineChange.source, a consent record's source).
LINE_SOURCES = {
    "staff": "a staff member",
    "staff note": "a staff member's note",
    "import": "an import",
    "api": "the API",
    "crm": "the CRM",
    "sms reply": "a text reply",
    "sms keyword": "a keyword in a text",
    "inbound text": "a text from the patient",
    "incoming call": "a call from the patient",
    "call": "a call",
    "reply": "a reply",
    "provider": "the provider",
    "lookup": "a line type lookup",
}

# What kind of line a number is, as the provider's lookup says (Twilio Lookup v2's line type intelligence).
LINE_TYPES = {
    "mobile": "mobile",
    "landline": "landline",
    "fixedVoip": "internet phone at a fixed address",
    "nonFixedVoip": "internet phone",
    "tollFree": "toll-free number",
    "personal": "personal number",
    "premium": "premium-rate number",
    "sharedCost": "shared-cost number",
    "uan": "company number",
    "voicemail": "voicemail-only number",
    "pager": "pager",
    "unknown": "unknown",
}

# Every kind of timeline Event the code writes, with the label the timeline shows. A test reads the source
# for every kind written and fails when one is missing here.
EVENT_KINDS = {
    "sms.sent": "Text sent",
    "sms.received": "Text received",
    "sms.understood": "Reply understood",
    "sms.delivered": "Text delivered",
    "sms.undelivered": "Text not delivered",
    "sms.failed": "Text failed",
    "sms.blocked": "Text blocked",
    "sms.deferred": "Text deferred",
    "sms.retrying": "Text retrying",
    "sms.held": "Text held: the organization's texts are paused",
    "email.sent": "Email sent",
    "email.failed": "Email failed",
    "email.retrying": "Email retrying",
    "email.held": "Email held: the organization's email is paused",
    "email.delivered": "Email delivered",
    "email.undelivered": "Email not delivered",
    "call.placed": "Call placed",
    "call.received": "Call received: the patient called us",
    "call.answered": "Call answered",
    "call.voicemail": "Voicemail left",
    "call.fax": "A fax machine answered",
    "workflow.refused": "Workflow version refused: a clinical word or a threat in a template",
    "call.voicemail_withheld": "No voicemail left: the voicemail settings would say too much or no name",
    "call.identity_verified": "Identity confirmed",
    "call.identity_failed": "Identity not confirmed",
    "call.transfer": "Call transferred to staff",
    "call.ended": "Call ended",
    "call.failed": "Call failed",
    "call.retrying": "Call retrying",
    "call.held": "Call held: the organization's calls are paused",
    "call.retry_planned": "Call to be tried again",
    "call.booked": "Callback booked on a staff calendar",
    "call.completed": "Call completed",
    "call.reply_times": "Assistant's reply times on a streaming call",
    "promise.recorded": "Promise recorded",
    "promise.kept": "Promise kept",
    "promise.broken": "Promise broken",
    "payment.recorded": "Payment recorded",
    "payment.refunded": "Payment refunded",
    "payment.undone": "Payment undone",
    "compliance.legal_hold": "Automation stopped: legal hold",
    "compliance.legal_hold_lifted": "Legal hold lifted",
    "contact.hours_set": "Hours to reach the patient noted",
    "sms.identity_asked": "Asked to confirm identity by text",
    "sms.identity_verified": "Identity confirmed by text",
    "sms.identity_failed": "Identity not confirmed by text",
    "sms.invoice_asked": "Asked which invoice a text is about",
    "sms.invoice_chosen": "Said which invoice a text is about",
    "handoff.opened": "Handed to a person",
    "handoff.updated": "Handoff updated",
    "handoff.assigned": "Handoff assigned",
    "handoff.reopened": "Handoff reopened",
    "handoff.resolved": "Handoff resolved",
    "step.blocked": "Step blocked",
    "step.deferred": "Step deferred",
    "step.skipped": "Step skipped",
    "step.reconciled": "Send checked with the provider",
    "step.unknown": "Send unknown: a person checks it",
    "sms.reconciled": "Text checked with the provider",
    "sms.unknown": "Text unknown: a person checks it",
    "invoice.created": "Invoice added",
    "invoice.status_changed": "Invoice status changed",
    "invoice.paused": "Reminders paused",
    "invoice.updated": "Invoice updated",
    "invoice.event": "Event received",
    "enrollment.started": "Reminders started",
    "enrollment.exited": "Reminders stopped",
    "enrollment.done": "Reminders finished",
    "enrollment.replanned": "Reminders re-planned",
    "enrollment.moved": "Reminders moved to the workflow's new version",
    "workflow.published": "Workflow version published",
    "workflow.notice": "Notice sent to your other systems",
    "outreach.on": "Outreach switched on",
    "outreach.off": "Outreach switched off",
    "contact.created": "Contact added",
    "contact.opted_out": "Opted out",
    "contact.opted_in": "Opted back in",
    "contact.updated": "Contact updated",
    "contact.unreachable": "Channel unreachable",
    "consent.given": "Consent recorded",
    "consent.revoked": "Consent withdrawn",
    "channel.paused": "Channel paused: the provider refused our account or sender",
    "channel.resumed": "Channel resumed",
    "staff.note": "Note",
    "staff.call_logged": "Call back logged",
    "plan.created": "Payment plan set",
    "plan.instalment_paid": "Instalment paid",
    "crm.connected": "CRM connected",
    "crm.disconnected": "CRM disconnected",
    "crm.conflict": "Changed in the CRM and here",
}


def choices(names: Mapping[str, str]) -> list[tuple[str, str]]:
    """A name table as Django model or form choices, in its own order."""
    return list(names.items())


def label(names: Mapping[str, str], name: str) -> str:
    """The label of `name`, or the name in words when an older row holds one no longer listed."""
    return names.get(name) or name.replace(".", " ").replace("_", " ").capitalize()
