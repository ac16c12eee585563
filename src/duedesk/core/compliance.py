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
     landline_text           Block  a text to a number the line-type lookup says is a landline
  4. invoice_paid /          Block  nothing left to remind about
     invoice_written_off /
     invoice_disputed
  5. invoice_hardship        Block  a person handles hardship, not automation
  6. no_balance              Block  balance <= 0
  7. paused                  Defer  paused_until is still ahead
  8. call_frequency          Defer  calls only: 7+ attempts on this invoice in the last
                                    7 days; until the oldest of them drops out
     state_calls_XX          Defer  calls only: the state's limit of calls about this invoice
                                    (Florida 3 per 24 h, Massachusetts 2 per 7 days; core/states.py)
  9. call_after_conversation Defer  calls only: within 7 days after a live conversation
  9a. no_callback_number     Defer  automated texts only: the organization has no callback number, so a
                                    HELP reply could not name one; asked again a day later
     calls_per_day           Defer  calls only: 3 calls to this person today (their local day),
                                    across all their invoices; until the next day
     landline_calls          Defer  calls only: 3 automated calls to this landline in 30 days
                                    without the owner's consent; until the oldest drops out
     call_after_unanswered   Defer  calls only: within 5 minutes of a call to this person that
                                    reached no one (or is still ringing)
 10. calendars (all must be open at once; the one that opens last names the Defer):
     holiday / closed_day    Defer  the organization's public holidays and closed days, by the
                                    contact's local date (not for staff sends)
     state_hours_XX          Defer  outside the state's hours (address or area-code state)
     send_window             Defer  outside the organization's window (clamped to the
                                    legal 08:00-21:00) in the contact's zone
     window_area_code        Defer  ... or in the phone's area-code zone; Block when the two
                                    zones share no hour of the window
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

Every Defer's `until` satisfies all time rules at once (the "not before" rules, then every
calendar, found by moving to each calendar's next opening until none moves it), so asking
again at `until` with the same facts does not defer again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import ClassVar

from duedesk.core import states, vocabulary
from duedesk.core.contact_hours import ContactHours, next_open_in_any, open_in_any
from duedesk.core.timing import SendWindow, local_date, wall_to_utc

CHANNELS = frozenset({"sms", "call", "email"})
PURPOSES = frozenset({"reminder", "reply", "staff"})
INVOICE_STATUSES = frozenset(vocabulary.INVOICE_STATUSES)
_BLOCKING_STATUSES = ("paid", "written_off", "disputed", "hardship")
# Legal stops, in the order they are named when more than one applies.
LEGAL_HOLDS = {
    "cease_communication": vocabulary.SENTENCES["hold_cease"],
    "attorney_represented": vocabulary.SENTENCES["hold_attorney"],
    "bankruptcy": vocabulary.SENTENCES["hold_bankruptcy"],
}

CALL_LIMIT = 7  # attempts allowed below this count ...
CALL_PERIOD = timedelta(days=7)  # ... within this rolling period
CONVERSATION_REST = timedelta(days=7)
CONSENTED_CHANNELS = frozenset({"sms", "call"})  # TCPA: automated texts and calls need consent; email does not
NO_CALLBACK_RETRY = timedelta(days=1)
PERSON_DAILY_CALLS = 3  # calls to one person in one local day, across all their invoices
UNANSWERED_REST = timedelta(minutes=5)  # no call sooner after one that reached no one
LANDLINE = "landline"
LANDLINE_CALLS = 3  # automated calls to a residential line without consent ...
LANDLINE_PERIOD = timedelta(days=30)  # ... in any 30 days
_SEARCH_ROUNDS = 200  # calendars that never open together (zones with no common hour) give up here


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
    phone_tz: str | None = None  # the zone of the phone's area code (the window must be open there too)
    states: frozenset[str] = frozenset()  # the address's and the area code's state ("FL"), see core/states.py
    holidays: frozenset[date] = frozenset()  # the organization's public holidays (local dates)
    closed_dates: frozenset[date] = frozenset()  # other days the organization is closed
    person_calls: tuple[datetime, ...] = ()  # calls to this person, all invoices, at least since yesterday
    last_unanswered_call: datetime | None = None  # when the person's latest call that reached no one ended
    line_type: str | None = None  # the number's line type (Twilio Lookup: "landline", "mobile", ...); None unknown
    line_consent: bool = False  # the number's owner consented to automated calls
    line_calls: tuple[datetime, ...] = ()  # automated calls to this number, at least the last 30 days


def check(g: GateInput) -> Decision:
    _validate(g)
    if g.purpose == "reply":
        if g.channel in g.unreachable:
            return Block("channel_unreachable", f"{g.channel} was reported unreachable")
        if g.channel == "sms" and g.line_type == LANDLINE:
            return Block("landline_text", "the number is a landline: it cannot receive texts")
        return Allow()

    if g.legal_holds:
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
    if g.channel == "sms" and g.line_type == LANDLINE:
        return Block("landline_text", "the number is a landline: it cannot receive texts")
    if g.invoice_status in _BLOCKING_STATUSES:
        return Block(f"invoice_{g.invoice_status}", f"the invoice is {g.invoice_status.replace('_', ' ')}")
    if g.invoice_balance <= 0:
        return Block("no_balance", "nothing is owed on the invoice")

    # Time rules. Some say "not before X" (a pause, a call limit); the others are calendars (windows,
    # holidays) that must all be open at once. The first rule violated now names the Defer; its target
    # is the earliest instant after every X at which every calendar is open, so it satisfies them all.
    violated: list[tuple[str, str]] = []
    not_before = [g.now]

    def later_than(rule: str, moment: datetime | None, detail: str) -> None:
        if moment is None:
            return
        not_before.append(moment)
        if moment > g.now:
            violated.append((rule, detail))

    if g.purpose != "staff" and g.paused_until is not None:
        later_than("paused", g.paused_until, f"paused until {g.paused_until.isoformat()}")
    if g.purpose == "reminder" and g.channel == "sms" and not g.callback_number:
        later_than("no_callback_number", g.now + NO_CALLBACK_RETRY,
                   "the organization has no callback number to name in HELP replies")
    if g.channel == "call":
        later_than("call_frequency", call_frequency_release(g.call_attempts, g.now),
                   f"{CALL_LIMIT} or more call attempts in the last 7 days")
        for code in sorted(g.states):
            rule = states.RULES.get(code)
            if rule is not None and rule.call_limit is not None:
                limit, period = rule.call_limit
                later_than(rule.calls_rule, call_frequency_release(g.call_attempts, g.now, limit, period),
                           f"{rule.name}: {limit} calls about this invoice in {_period(period)}")
        if g.last_conversation is not None:
            later_than("call_after_conversation", g.last_conversation + CONVERSATION_REST,
                       "spoke with the contact in the last 7 days")
        later_than("calls_per_day", person_day_release(g.person_calls, g.now, g.tz),
                   f"{PERSON_DAILY_CALLS} calls to this person today, across all their invoices")
        if g.line_type == LANDLINE and not g.line_consent:
            later_than("landline_calls", call_frequency_release(g.line_calls, g.now, LANDLINE_CALLS, LANDLINE_PERIOD),
                       f"{LANDLINE_CALLS} automated calls to this landline in 30 days without consent")
        if g.last_unanswered_call is not None:
            later_than("call_after_unanswered", g.last_unanswered_call + UNANSWERED_REST,
                       "a call to this person went unanswered less than 5 minutes ago")

    windows: tuple[SendWindow, ...] = (g.window,)
    if g.contact_hours is not None:
        windows = g.contact_hours.narrow(g.window)
        if not windows:
            return Block("contact_preference", f"no hour of the send window is {g.contact_hours.describe()}")
    calendars = _calendars(g, windows)
    if not violated:
        # Of the calendars closed now, the one that opens last is the one that moves the send (the first
        # listed on a tie): "outside the window in the area code's zone" rather than "outside the window".
        # The contact's own hours narrow the window: they are named only when the window itself is open.
        closed = [(c.next_open(g.now), -i, c) for i, c in enumerate(calendars) if not c.is_open(g.now)]
        if len(closed) > 1:
            closed = [x for x in closed if x[2].rule != "contact_preference"]
        if closed:
            c = max(closed, key=lambda x: x[:2])[2]
            violated.append((c.rule, c.detail))
    if not violated:
        return Allow()
    rule, detail = violated[0]
    until, stuck = first_open(max(not_before), calendars)
    if until is None:
        return Block(stuck.rule, f"{stuck.detail}: no time is open under every rule at once")
    return Defer(until=until, rule=rule, detail=detail)


@dataclass(frozen=True)
class Calendar:
    """One rule about the wall clock or the calendar: open now?, and the first instant >= t it is open."""

    rule: str
    detail: str
    is_open: Callable[[datetime], bool]
    next_open: Callable[[datetime], datetime]


def _calendars(g: GateInput, windows: tuple[SendWindow, ...]) -> list[Calendar]:
    """The calendar rules for this send, in the order they are named."""
    zones = (g.tz,) if not g.phone_tz or g.phone_tz == g.tz else (g.tz, g.phone_tz)
    out = []
    if g.purpose != "staff":  # a person at work on a holiday may still send
        if g.holidays:
            out.append(_closed_days("holiday", "a public holiday the organization keeps", g.holidays, zones))
        if g.closed_dates:
            out.append(_closed_days("closed_day", "a day the organization is closed", g.closed_dates, zones))
    for code in sorted(g.states):
        rule = states.RULES.get(code)
        hours = rule.hours_for(g.channel) if rule else None
        if hours is None:
            continue
        state_window = SendWindow(start=hours[0], end=hours[1], days=frozenset(range(7)))
        for zone in zones:
            out.append(_window(rule.hours_rule, f"outside {rule.name}'s hours ({hours[0]:%H:%M}-{hours[1]:%H:%M})",
                               (state_window,), zone))
    out.append(_window("send_window", "outside the send window in the contact's time zone", (g.window,), g.tz))
    if len(zones) > 1:
        out.append(_window("window_area_code", f"outside the send window in the phone's area code zone "
                           f"({g.phone_tz})", (g.window,), g.phone_tz))
    if g.contact_hours is not None:
        out.append(_window("contact_preference", f"the contact asked: {g.contact_hours.describe()}", windows, g.tz))
    return out


def _window(rule: str, detail: str, windows: tuple[SendWindow, ...], tz: str) -> Calendar:
    return Calendar(rule, detail, lambda t: open_in_any(t, tz, windows), lambda t: next_open_in_any(t, tz, windows))


def _closed_days(rule: str, detail: str, days: frozenset[date], zones: tuple[str, ...]) -> Calendar:
    def is_open(t: datetime) -> bool:
        return all(local_date(t, z) not in days for z in zones)

    def next_open(t: datetime) -> datetime:
        for z in zones:
            day = local_date(t, z)
            if day in days:
                while day in days:
                    day += timedelta(days=1)
                t = max(t, wall_to_utc(day, time(0), z))
        return t

    return Calendar(rule, detail, is_open, next_open)


def first_open(start: datetime, calendars: list[Calendar]) -> tuple[datetime | None, Calendar | None]:
    """The earliest instant >= start at which every calendar is open (each moves it to its own next
    opening until none moves it), or (None, the calendar that kept moving it) when none is found."""
    t = start
    moved = None
    for _ in range(_SEARCH_ROUNDS):
        moved = None
        for c in calendars:
            nxt = c.next_open(t)
            if nxt > t:
                t, moved = nxt, c
        if moved is None:
            return t, None
    return None, moved


def person_day_release(calls: tuple[datetime, ...], now: datetime, tz: str) -> datetime | None:
    """The next local midnight when this person already had PERSON_DAILY_CALLS calls today, else None."""
    today = local_date(now, tz)
    if sum(1 for c in calls if local_date(c, tz) == today) < PERSON_DAILY_CALLS:
        return None
    return wall_to_utc(today + timedelta(days=1), time(0), tz)


def _period(period: timedelta) -> str:
    return f"{period.days} days" if period.days > 1 else "24 hours"


def call_frequency_release(attempts: tuple[datetime, ...], now: datetime, limit: int = CALL_LIMIT,
                           period: timedelta = CALL_PERIOD) -> datetime | None:
    """When calling is allowed again under "fewer than `limit` attempts in `period`" (the 7-in-7 rule by
    default), or None if allowed now.

    Counts attempts in the rolling period (now - period, now]; attempts stamped after
    now (clock skew) are counted too, to err on the side of calling less.
    """
    recent = sorted(a for a in attempts if a > now - period)
    if len(recent) < limit:
        return None
    # Once this attempt is `period` old, limit - 1 remain in the period.
    return recent[len(recent) - limit] + period


def _validate(g: GateInput) -> None:
    if g.channel not in CHANNELS:
        raise ValueError(f"channel: unknown channel {g.channel!r}")
    if g.purpose not in PURPOSES:
        raise ValueError(f"purpose: unknown purpose {g.purpose!r}")
    if g.legal_holds and (unknown := g.legal_holds - LEGAL_HOLDS.keys()):
        raise ValueError(f"legal_holds: unknown hold {sorted(unknown)[0]!r}")
    if g.invoice_status not in INVOICE_STATUSES:
        raise ValueError(f"invoice_status: unknown status {g.invoice_status!r}")
    for name, value in (("now", g.now), ("paused_until", g.paused_until), ("last_conversation", g.last_conversation),
                        ("last_unanswered_call", g.last_unanswered_call)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name}: expected a timezone-aware datetime")
    for name, moments in (("call_attempts", g.call_attempts), ("person_calls", g.person_calls),
                          ("line_calls", g.line_calls)):
        if moments and any(a.tzinfo is None or a.utcoffset() is None for a in moments):
            raise ValueError(f"{name}: expected timezone-aware datetimes")


def retry_problems(attempts: int, every: timedelta) -> list[str]:
    """Why a call block's `retry:` could not run as written under the call rules (empty when it can):
    `workflow check` refuses such a workflow instead of letting the gate quietly move its calls."""
    problems = []
    if every < UNANSWERED_REST:
        problems.append(f"retries must be at least {UNANSWERED_REST.seconds // 60} minutes apart: no call follows "
                        "an unanswered one sooner (rule call_after_unanswered)")
    if attempts > PERSON_DAILY_CALLS and every * PERSON_DAILY_CALLS < timedelta(days=1):
        problems.append(f"more than {PERSON_DAILY_CALLS} attempts would fall within one day: at most "
                        f"{PERSON_DAILY_CALLS} calls a day reach one person (rule calls_per_day); retry every "
                        f"{24 // PERSON_DAILY_CALLS}h or more, or try {PERSON_DAILY_CALLS} times")
    if attempts > CALL_LIMIT and every * CALL_LIMIT < CALL_PERIOD:
        problems.append(f"more than {CALL_LIMIT} attempts would fall within 7 days: at most {CALL_LIMIT} calls "
                        "about one invoice in 7 days (rule call_frequency)")
    return problems
