"""The gate asked before every send, on fresh state: Allow, Defer(until) or Block.

Rules, checked in this order (the first that applies names the decision):

  0. attorney_represented /  Block  the patient said an attorney represents them for this invoice,
     bankruptcy /                   filed for bankruptcy, or asked us to stop contacting them
     cease_communication            (all their invoices); staff texts are blocked too
  1. outreach_off            Block  a person switched outreach off on the contact
  2. opted_out               Block  the contact opted out of this channel (or "all")
  3. channel_unreachable     Block  a provider reported the channel permanently bad
     (2 and 3 are the state of the line the send goes to: the number for texts and calls, the
     address for email, shared by every contact on it)
  3a. no_consent             Block  automated texts and calls only: no consent for billing on record
                                    for the number (or it was revoked)
  4. invoice_paid /          Block  nothing left to remind about
     invoice_written_off /
     invoice_disputed
  5. invoice_hardship        Block  a person handles hardship, not automation
  6. no_balance              Block  balance <= 0
  7. paused                  Defer  paused_until is still ahead
  8. call_frequency          Defer  calls only: 7+ attempts on this invoice in the last
                                    7 days; until the oldest of them drops out
  9. call_after_conversation Defer  calls only: within 7 days after a live conversation
  9a. no_callback_number     Defer  automated texts only: the organization has no callback number, so a
                                    HELP reply could not name one; asked again a day later
 10. send_window             Defer  outside the organization's window (clamped to the
                                    legal 08:00-21:00) in the contact's zone
 11. contact_preference      Defer  inside the window but outside the hours the contact asked for
                                    on this channel ("not before 10", "not at work"); Block when
                                    no hour of the window fits them

Purposes:
  reminder  automated outreach: every rule.
  staff     a person decided to send: every rule except outreach_off and paused.
  reply     our one answer to the patient's own message (the STOP/HELP confirmation):
            sent at once, whatever the window, opt-out, invoice or pause, because the
            patient asked and a STOP confirmation must go out. Only a permanently
            unreachable channel blocks it (it could not be delivered anyway).

Every Defer's `until` satisfies all time rules at once (pause, call frequency, the
conversation rest and the window), so asking again at `until` does not defer again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from duedesk.core import vocabulary
from duedesk.core.contact_hours import ContactHours, next_open_in_any, open_in_any
from duedesk.core.timing import SendWindow, is_open

CHANNELS = frozenset({"sms", "call", "email"})
PURPOSES = frozenset({"reminder", "reply", "staff"})
INVOICE_STATUSES = frozenset(vocabulary.INVOICE_STATUSES)
_BLOCKING_STATUSES = ("paid", "written_off", "disputed", "hardship")
# Legal stops, in the order they are named when more than one applies.
LEGAL_HOLDS = {
    "cease_communication": "the contact asked us to stop contacting them",
    "attorney_represented": "an attorney represents the contact for this invoice",
    "bankruptcy": "the contact filed for bankruptcy",
}

CALL_LIMIT = 7  # attempts allowed below this count ...
CALL_PERIOD = timedelta(days=7)  # ... within this rolling period
CONVERSATION_REST = timedelta(days=7)
CONSENTED_CHANNELS = frozenset({"sms", "call"})  # TCPA: automated texts and calls need consent; email does not
NO_CALLBACK_RETRY = timedelta(days=1)


@dataclass(frozen=True)
class Allow:
    rule: ClassVar[None] = None


@dataclass(frozen=True)
class Defer:
    until: datetime
    rule: str
    detail: str = ""


@dataclass(frozen=True)
class Block:
    rule: str
    detail: str = ""


Decision = Allow | Defer | Block


@dataclass(frozen=True)
class GateInput:
    channel: str  # "sms" | "call" | "email"
    now: datetime  # aware
    tz: str  # the contact's IANA zone
    window: SendWindow  # the organization's (clamped inside check)
    opted_out: frozenset[str] = frozenset()  # "sms", "call", "email" or "all"
    unreachable: frozenset[str] = frozenset()
    outreach_on: bool = True
    invoice_status: str = "open"
    invoice_balance: Decimal = Decimal("1")
    paused_until: datetime | None = None
    call_attempts: tuple[datetime, ...] = ()
    last_conversation: datetime | None = None
    purpose: str = "reminder"  # "reminder" | "reply" | "staff"
    legal_holds: frozenset[str] = frozenset()  # keys of LEGAL_HOLDS on this invoice or contact
    contact_hours: ContactHours | None = None  # the contact's hours for this channel
    consent: str | None = "express"  # the consent basis on record for the line; None: none, or revoked
    callback_number: bool = True  # the organization has a callback number to name in HELP replies


def check(g: GateInput) -> Decision:
    _validate(g)
    if g.purpose == "reply":
        if g.channel in g.unreachable:
            return Block("channel_unreachable", f"{g.channel} was reported unreachable")
        return Allow()

    for hold, detail in LEGAL_HOLDS.items():
        if hold in g.legal_holds:
            return Block(hold, detail)
    if g.purpose != "staff" and not g.outreach_on:
        return Block("outreach_off", "outreach is switched off for this contact")
    if "all" in g.opted_out or g.channel in g.opted_out:
        return Block("opted_out", f"the contact opted out of {g.channel}")
    if g.channel in g.unreachable:
        return Block("channel_unreachable", f"{g.channel} was reported unreachable")
    if g.purpose == "reminder" and g.channel in CONSENTED_CHANNELS and g.consent is None:
        return Block("no_consent", "no consent on record for automated texts and calls to this number")
    if g.invoice_status in _BLOCKING_STATUSES:
        return Block(f"invoice_{g.invoice_status}", f"the invoice is {g.invoice_status.replace('_', ' ')}")
    if g.invoice_balance <= 0:
        return Block("no_balance", "nothing is owed on the invoice")

    # Time rules: each is "not before X". The first one violated names the Defer; the
    # target is the latest X of all, moved into the window, so it satisfies them all.
    violated: list[tuple[str, str]] = []
    not_before = [g.now]
    if g.purpose != "staff" and g.paused_until is not None:
        not_before.append(g.paused_until)
        if g.paused_until > g.now:
            violated.append(("paused", f"paused until {g.paused_until.isoformat()}"))
    if g.purpose == "reminder" and g.channel == "sms" and not g.callback_number:
        not_before.append(g.now + NO_CALLBACK_RETRY)
        violated.append(("no_callback_number", "the organization has no callback number to name in HELP replies"))
    if g.channel == "call":
        release = call_frequency_release(g.call_attempts, g.now)
        if release is not None:
            not_before.append(release)
            violated.append(("call_frequency", f"{CALL_LIMIT} or more call attempts in the last 7 days"))
        if g.last_conversation is not None:
            rest_ends = g.last_conversation + CONVERSATION_REST
            not_before.append(rest_ends)
            if g.now < rest_ends:
                violated.append(("call_after_conversation", "spoke with the contact in the last 7 days"))
    windows: tuple[SendWindow, ...] = (g.window,)
    if g.contact_hours is not None:
        windows = g.contact_hours.narrow(g.window)
        if not windows:
            return Block("contact_preference", f"no hour of the send window is {g.contact_hours.describe()}")
    if not violated and not is_open(g.now, g.tz, g.window):
        violated.append(("send_window", "outside the send window in the contact's time zone"))
    if not violated and not open_in_any(g.now, g.tz, windows):
        violated.append(("contact_preference", f"the contact asked: {g.contact_hours.describe()}"))
    if not violated:
        return Allow()
    rule, detail = violated[0]
    return Defer(until=next_open_in_any(max(not_before), g.tz, windows), rule=rule, detail=detail)


def call_frequency_release(attempts: tuple[datetime, ...], now: datetime) -> datetime | None:
    """When calling is allowed again under the 7-in-7 rule, or None if allowed now.

    Counts attempts in the rolling period (now - 7 days, now]; attempts stamped after
    now (clock skew) are counted too, to err on the side of calling less.
    """
    recent = sorted(a for a in attempts if a > now - CALL_PERIOD)
    if len(recent) < CALL_LIMIT:
        return None
    # Once this attempt is 7 days old, CALL_LIMIT - 1 remain in the period.
    return recent[len(recent) - CALL_LIMIT] + CALL_PERIOD


def _validate(g: GateInput) -> None:
    if g.channel not in CHANNELS:
        raise ValueError(f"channel: unknown channel {g.channel!r}")
    if g.purpose not in PURPOSES:
        raise ValueError(f"purpose: unknown purpose {g.purpose!r}")
    if unknown := g.legal_holds - LEGAL_HOLDS.keys():
        raise ValueError(f"legal_holds: unknown hold {sorted(unknown)[0]!r}")
    if g.invoice_status not in INVOICE_STATUSES:
        raise ValueError(f"invoice_status: unknown status {g.invoice_status!r}")
    for name in ("now", "paused_until", "last_conversation"):
        value = getattr(g, name)
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name}: expected a timezone-aware datetime")
    if any(a.tzinfo is None or a.utcoffset() is None for a in g.call_attempts):
        raise ValueError("call_attempts: expected timezone-aware datetimes")
