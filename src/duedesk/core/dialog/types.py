"""The values the call script takes and returns (shared with the voice webhook)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from duedesk.core.timing import SendWindow


@dataclass(frozen=True)
class OpenInvoice:
    """One of the contact's open invoices, for a caller who owes on more than one (the hotline names each)."""

    ref: str
    balance: Decimal
    billed: Decimal
    due_date: date


@dataclass(frozen=True, kw_only=True)
class CallContext:
    """What the call may know: the organization's settings and the invoice's records."""

    org_name: str
    first_name: str
    last_name: str
    lang: str  # "en" | "es"
    amount: Decimal
    currency: str
    due_date: date
    identity_check: str = "dob"  # "dob" | "zip" | "name_only" (name only: nothing about the bill is said)
    country: str = "US"  # the contact's country (from the phone): with lang, the order a date is said in
    baa_signed: bool = True  # the voice provider signed a BAA: without one, the call says nothing about the bill
    date_of_birth: date | None = None
    zip_code: str | None = None
    recording: bool = False
    promise_window_days: int = 30
    transfer_number: str | None = None  # staff number for a warm transfer
    business_hours_open: bool = False  # computed by the caller for `now`
    callback_number: str = ""
    voicemail_name: str = ""  # the person the limited-content message asks them to call
    business_name: str = ""  # the name the limited-content message gives (no debt, no specialty); "": org_name
    send_window: SendWindow = SendWindow()  # where a requested callback may land
    # The patient called us (the invoice question hotline, core/dialog/hotline.py): the greeting and the words
    # after identity are the hotline's; the invoice's reference and billed amount answer "what is it for".
    inbound: bool = False
    invoice_ref: str = ""
    billed: Decimal | None = None
    # Every open invoice of the contact when there is more than one (the call's own among them): the balance is
    # their total and each is named. Empty: the call is about its one invoice.
    invoices: tuple[OpenInvoice, ...] = ()
    now: datetime
    tz: str


@dataclass(frozen=True)
class Effect:
    """Something the shell must do through an engine action (see docs/call-script.md)."""

    kind: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    say: str
    lang: str  # Twilio voice language: "en-US" | "es-US"
    listen: bool  # gather speech/keypad after speaking; False: speak, then hang up or transfer
    state: Mapping[str, object]  # JSON-serializable; hand it back to respond() on the next turn
    effects: tuple[Effect, ...] = ()
    transfer_to: str | None = None
    outcome: str | None = None  # set once the call is over
    done: bool = False
    # Words in more than one language ("Para español, oprima dos" in an English greeting): (text, voice language)
    # each said in its own voice, in order; `say` is their text joined. Empty: all of `say` in `lang`.
    parts: tuple[tuple[str, str], ...] = ()
