"""The invoice question hotline's shell: a patient calls the organization's number back.

The organization is the one owning the number called; the caller is matched by caller ID to the contacts on
that line. The script (core/dialog/hotline.py, then the reminder call's machine) decides; this module loads the
records, carries the effects out through engine actions (the reminder call's own `_apply` for the pay link, the
identity and transfer events, opt-outs and holds), and puts the call on the contact's timeline with its
transcript. Twilio's webhook and the simulator both call these.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.db import transaction

from duedesk.conversations import calls
from duedesk.conversations.texts import _current_invoice
from duedesk.core import dialog, language, timing
from duedesk.core.dialog import hotline as script
from duedesk.core.dialog.types import OpenInvoice
from duedesk.core.nlu import understand
from duedesk.engine import actions
from duedesk.engine.actions import calls as call_actions
from duedesk.engine.actions import incoming_calls
from duedesk.records.lines import contacts_on_number
from duedesk.records.models import Call, Contact, Invoice, Organization

is_incoming = incoming_calls.is_incoming


def office_number(org: Organization) -> str:
    """The office's public line: the number an unknown caller (or one we could not identify) is given."""
    return org.callback_number or org.transfer_number


def staff_number(org: Organization) -> str:
    """Where a transfer goes: the staff line for warm transfers, else the office line."""
    return org.transfer_number or org.callback_number


def office_open(org: Organization, now: datetime) -> bool:
    holidays, closed = org.days_closed(timing.local_date(now, org.timezone).year)
    return script.office_open(now, org.timezone, org.business_hours_start, org.business_hours_end,
                              holidays | closed)


def incoming(org: Organization, caller: str, called: str, provider_id: str, now: datetime) -> tuple[Call, dialog.Turn]:
    """The first answer to a call: who is on the line decides the greeting."""
    with transaction.atomic():
        contacts = [c for c in contacts_on_number(org, caller) if c.full_name]
        if len(contacts) == 1:
            call, new = incoming_calls.receive_call(org, caller, called, provider_id, now, contact=contacts[0],
                                              invoice=_current_invoice(contacts[0]))
        elif contacts:
            call, new = incoming_calls.receive_call(org, caller, called, provider_id, now)
        else:
            call, new = incoming_calls.receive_call(org, caller, called, provider_id, now,
                                              contact=incoming_calls.caller_contact(org, caller, now))
        call = _load(call.pk, lock=True)
        if not new or call.dialog_state:  # Twilio asked twice: the same words again
            return call, calls._replay(call)
        if len(contacts) == 1:
            turn = script.greet(context(call, now))
        elif contacts:
            turn = script.greet_several(_caller(org, caller, contacts))
        else:
            turn = script.greet_unknown(_caller(org, caller, []))
        _after(call, turn, now, contacts)
        return call, turn


def heard(call: int | Call, text: str | None, now: datetime, turn_key: str | None = None) -> dialog.Turn:
    """One caller turn (None: silence); a turn delivered twice changes the call once (the call's lock, then
    its turn noted in the same transaction). `call`: its id, or the call loaded under its row lock in the
    caller's transaction, as calls.heard takes it."""
    with transaction.atomic(savepoint=False):
        if not isinstance(call, Call):
            call = _load(call, lock=True)
        if turn_key and not _take(call, turn_key, now):
            return calls._replay(call)
        state = dict(call.dialog_state)
        state.pop("last_turn", None)
        if state.get("step") == "choose_language":  # an unknown caller, offered Spanish
            turn = script.language_chosen(_caller(call.organization, call.sender, []), state, text)
        elif call.contact_id is None or state.get("step") == "which_contact":
            contacts = _candidates(call)
            index, turn = script.which(_caller(call.organization, call.sender, contacts), state, text)
            if index is None:
                _after(call, turn, now, contacts)
                return turn
            chosen = contacts[index]
            incoming_calls.attach_caller(call, chosen, _current_invoice(chosen), now)
            turn = script.named(context(call, now, turn.state), turn.state)
        else:
            ctx = context(call, now, state)
            understood = understand(text, now, ctx.tz, ctx.lang) if text and text.strip() else None
            turn = script.respond(ctx, state, understood, text)
        _after(call, turn, now)
        return turn


def ended(call_id: int, status: str, now: datetime, duration: int | None = None) -> None:
    """Twilio says the call is over (the caller hung up, or after a transfer): a message being taken still
    reaches a person, and the call is on the timeline once."""
    with transaction.atomic():
        call = _load(call_id, lock=True)
        state = dict(call.dialog_state or {})
        if call.ended_at is None and call.contact_id is not None and state.get("step") == "take_message":
            effects = script.hung_up(context(call, now), state)
            _apply(call, dialog.Turn(say="", lang="", listen=False, state=state, effects=effects), now)
        _finish(call, status, now, state, duration)


def context(call: Call, now: datetime, state: dict | None = None) -> dialog.CallContext:
    """The reminder call's context for this contact and invoice, as a call the patient made: the office's
    line for a transfer while it is open, the invoice's reference and billed amount, every open invoice when
    the contact owes on several (the balance is their total), and the language the caller chose."""
    org = call.organization
    invoice = call.invoice
    if invoice is None or invoice.status in ("paid", "written_off"):  # nothing owed: nothing to tell
        invoice = SimpleNamespace(balance=Decimal("0"), currency=org.default_currency, external_ref="",
                                  amount_due=None, due_date=timing.local_date(now, org.timezone))
    ctx = calls.context_for(SimpleNamespace(contact=call.contact, invoice=invoice), now)
    transfer = staff_number(org)
    owed = [OpenInvoice(ref=i.external_ref, balance=i.balance, billed=i.amount_due, due_date=i.due_date)
            for i in open_invoices(call.contact)] if call.contact_id else []
    several = len(owed) > 1 and invoice.external_ref in {i.ref for i in owed}
    return replace(ctx, inbound=True, transfer_number=transfer if transfer and transfer != call.to else None,
                   business_hours_open=office_open(org, now), callback_number=office_number(org),
                   invoice_ref=invoice.external_ref, billed=invoice.amount_due,
                   invoices=tuple(owed) if several else (),
                   amount=sum((i.balance for i in owed), Decimal("0")) if several else ctx.amount,
                   lang=(state or {}).get("lang") or ctx.lang)


def open_invoices(contact: Contact) -> list[Invoice]:
    """What the contact still owes, the invoice due first first."""
    return list(Invoice.objects.filter(contact=contact, balance__gt=0).exclude(status__in=("paid", "written_off"))
                .order_by("due_date", "pk"))


# ---- the shell's pieces ----------------------------------------------------------------------------


def _load(call_id: int, *, lock: bool = False) -> Call:
    found = Call.objects.select_related("organization", "contact__organization", "invoice")
    if lock:
        found = found.select_for_update(of=("self",))
    return found.get(pk=call_id)


def _take(call: Call, turn_key: str, now: datetime) -> bool:
    provider_id, _, sequence = turn_key.rpartition(":")
    if not sequence.isdigit():
        provider_id, sequence = turn_key, "0"
    return call_actions.take_turn(call, provider_id, int(sequence), now)


def _candidates(call: Call) -> list[Contact]:
    return [c for c in contacts_on_number(call.organization, call.sender) if c.full_name]


def _caller(org: Organization, number: str, contacts: list[Contact]) -> script.Caller:
    langs = {language.for_message(c.language or "en") for c in contacts}
    shared = next(iter(langs)) if len(langs) == 1 else None  # None: nobody on the number, or both languages
    return script.Caller(org_name=org.name, number=number, lang=shared or "en", offer_spanish=shared is None,
                         office_number=office_number(org), names=[(c.first_name, c.last_name) for c in contacts])


def _after(call: Call, turn: dialog.Turn, now: datetime, contacts: list[Contact] | None = None) -> None:
    """Keep the state, carry out the effects, and end the call on the timeline when the script is done."""
    state = dict(turn.state)
    state["last_turn"] = calls._turn_json(turn)
    call_actions.record_call_turn(call, state, turn.outcome)
    if call.contact_id is None and turn.done:  # several on the number and none named: the number's first
        first = (contacts or _candidates(call))[0]
        incoming_calls.attach_caller(call, first, _current_invoice(first), now)
    _apply(call, turn, now)
    if turn.done:
        _finish(call, "completed", now, state)


def _apply(call: Call, turn: dialog.Turn, now: datetime) -> None:
    """A promise routes the workflow here (no call step carries the outcome) and a handoff may carry the
    message taken; the rest is the reminder call's."""
    rest = []
    for effect in turn.effects:
        data = effect.data
        if effect.kind == "record_promise" and call.invoice is not None:
            for invoice in _promised(call, data.get("amount")):
                actions.record_promise(invoice, data["date"], now, channel="call", amount=data.get("amount"))
        elif effect.kind == "open_handoff":
            _handoff(call, turn.state, data, now)
        elif effect.kind in ("send_pay_link", "record_promise", "pause_invoice") and call.invoice is None:
            continue  # nothing owed: nothing to pay or pause
        else:
            rest.append(effect)
    if rest:
        calls._apply(call, replace(turn, effects=tuple(rest)), now)


def _promised(call: Call, amount) -> list[Invoice]:
    """A day to pay said after hearing the total of several invoices is a promise on each; with an amount it is
    the call's own invoice's (which part of the total it pays, a person sorts out)."""
    if amount is not None:
        return [call.invoice]
    owed = open_invoices(call.contact)
    return owed if call.invoice in owed else [call.invoice]


def _handoff(call: Call, state, data, now: datetime) -> None:
    reason = calls.HANDOFF_REASON.get(data["reason"], data["reason"])
    invoice: Invoice | None = call.invoice
    collected = {**dialog.collected(state), **({"message": data["message"]} if data.get("message") else {})}
    actions.open_handoff(call.contact, reason, now, invoice=invoice, summary=data.get("summary", ""),
                         collected=collected, transcript=dialog.transcript(state))
    if invoice is not None and reason in calls.INVOICE_STATUS_FOR:
        actions.set_invoice_status(invoice, calls.INVOICE_STATUS_FOR[reason], now, actor="patient",
                                   note=data.get("summary", ""))


def _finish(call: Call, status: str, now: datetime, state: dict, duration: int | None = None) -> None:
    incoming_calls.finish_incoming_call(call, status, now, transcript=dialog.transcript(state) if state else [],
                                  collected=dialog.collected(state) if state else {}, duration=duration)
