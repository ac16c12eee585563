"""The voice shell: a call's turns go through understanding and the call script (core.dialog), and
the script's effects become engine actions. Twilio's webhooks and the simulated phone both call these,
so the engine cannot tell them apart."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db import transaction

from duedesk.channels.paylinks import pay_link_for
from duedesk.core import content, dialog, render, timing, vocabulary
from duedesk.core.nlu import understand
from duedesk.core.phones import country_for_phone
from duedesk.engine import actions
from duedesk.engine.actions import calls as call_actions
from duedesk.engine.actions.holds import HOLD_FOR_INTENT, place_legal_hold, set_contact_hours
from duedesk.engine.actions.sends import text_later
from duedesk.engine.models import Step
from duedesk.records.models import Call
from duedesk.records.timeline import log

# What Twilio's final CallStatus means for the workflow.
STATUS_OUTCOME = {"no-answer": "no_answer", "busy": "no_answer", "failed": "failed", "canceled": "no_answer"}


def _load(call_id: int, *, lock: bool = False) -> Call:
    """The call with what its turns read; `lock` takes the call's row lock in the same query."""
    calls = Call.objects.select_related("contact__organization", "invoice", "step")
    if lock:
        calls = calls.select_for_update(of=("self",))
    return calls.get(pk=call_id)


def business_hours_open(org, now: datetime) -> bool:
    local = timing.local_now(now, org.timezone)
    return local.weekday() < 5 and org.business_hours_start <= local.time() < org.business_hours_end


def context_for(call: Call, now: datetime) -> dialog.CallContext:
    contact, invoice = call.contact, call.invoice
    org = contact.organization
    return dialog.CallContext(
        org_name=org.name, first_name=contact.first_name, last_name=contact.last_name,
        lang=contact.language or "en", amount=invoice.balance, currency=invoice.currency, due_date=invoice.due_date,
        identity_check=org.identity_check, date_of_birth=contact.date_of_birth, zip_code=contact.zip_code or None,
        country=country_for_phone(contact.phone), baa_signed=org.twilio_baa_signed,
        recording=org.recording, promise_window_days=org.promise_window_days,
        transfer_number=org.transfer_number or None, business_hours_open=business_hours_open(org, now),
        callback_number=org.callback_number, voicemail_name=org.voicemail_name,
        business_name=org.voicemail_business(),
        send_window=org.send_window(), now=now, tz=contact.tz(),
    )


def answered(call_id: int, now: datetime, answered_by: str | None = "human") -> dialog.Turn:
    """The call was picked up: the opener and the first identity question. `answered_by` None: answering-machine
    detection has not said yet who picked up (Twilio's asynchronous AMD); nothing is logged until it does
    (person_answered, or voicemail for a machine), so the timeline never says a person answered a machine."""
    with transaction.atomic():
        call = _load(call_id, lock=True)
        if call.dialog_state:  # a retried webhook: say the same thing again, change nothing
            return _replay(call)
        turn = dialog.start(context_for(call, now))
        call_actions.start_call_script(call, {**turn.state, "last_turn": _turn_json(turn)})
        if answered_by and not call.answered_by:
            call_actions.record_answered_by(call, answered_by, now)
        return turn


def person_answered(call_id: int, answered_by: str, now: datetime) -> None:
    """Answering-machine detection says a person picked up ("human"), or can't tell ("unknown"): the call is
    logged as answered now, once."""
    with transaction.atomic():
        call = _load(call_id, lock=True)
        if not call.answered_by and call.ended_at is None:
            call_actions.record_answered_by(call, answered_by, now)


def fax(call_id: int, now: datetime) -> None:
    """A fax machine answered: the number can't take our calls (the call channel is marked unreachable)."""
    with transaction.atomic():
        call = _load(call_id, lock=True)
        if call.answered_by == "fax":
            return
        call_actions.record_fax(call, now)


def heard(call: int | Call, text: str | None, now: datetime, turn_key: str | None = None) -> dialog.Turn:
    """One patient turn (None: silence). `turn_key` ("<provider call id>:<turn number>") makes a turn delivered
    twice change the call once: it is stored with a unique key in the transaction that acts on the turn, under
    the call's row lock, so the second delivery finds it and hears the same answer again.

    `call`: its id, or the call already loaded under its row lock (with its contact, organization and invoice)
    in the caller's transaction: the turn's webhook reads it once, for the signature check and the turn. A
    failure here rolls that whole transaction back (no savepoint: a turn is one short transaction)."""
    with transaction.atomic(savepoint=False):
        if not isinstance(call, Call):
            call = _load(call, lock=True)
        state = dict(call.dialog_state)
        if turn_key:
            provider_id, _, sequence = turn_key.rpartition(":")
            if not sequence.isdigit():
                provider_id, sequence = turn_key, "0"
            if not call_actions.take_turn(call, provider_id, int(sequence), now):
                return _replay(call)
        ctx = context_for(call, now)
        understood = understand(text, now, ctx.tz, ctx.lang) if text and text.strip() else None
        turn = dialog.respond(ctx, state, understood, text)
        call_actions.record_call_turn(call, {**turn.state, "last_turn": _turn_json(turn)}, turn.outcome,
                                      durable=bool(turn.effects or turn.outcome))
        _apply(call, turn, now)
        return turn


def voicemail(call_id: int, now: datetime) -> str:
    """A machine answered: the limited-content message, nothing else. When the organization's voicemail
    settings can't make one (no person's name, a business name that reveals a debt or a specialty: rule
    voicemail_identity) no message is left ("" : hang up) and the timeline says why."""
    with transaction.atomic():
        call = _load(call_id)
        org = call.contact.organization
        problems = content.voicemail_problems(org.voicemail_business(), org.voicemail_name)
        if problems:
            call_actions.record_voicemail(call, now, withheld={"rule": content.RULE_VOICEMAIL, "problems": problems})
            return ""
        text = render.voicemail_text(org.voicemail_business(), org.voicemail_name, org.voicemail_callback_number(),
                                     call.contact.language)
        call_actions.record_voicemail(call, now, text=text)
        return text


def ended(call_id: int, status: str, now: datetime, duration: int | None = None) -> None:
    """The call is over: its outcome, transcript and answers go on the timeline; the workflow goes on."""
    with transaction.atomic():
        call = _load(call_id, lock=True)
        if call.ended_at is not None:
            return  # the same status callback twice changes state once
        outcome = STATUS_OUTCOME.get(status) or call.outcome or ("completed" if call.dialog_state else "no_answer")
        state = call.dialog_state or {}
        call_actions.end_call(call, status, outcome, now, duration,
                              transcript=dialog.transcript(state) if state else None,
                              collected=dialog.collected(state) if state else None)
        if call.step_id:
            callback_at = state.get("callback_at")
            finish_call_step(call.step, outcome, now,
                             callback_at=datetime.fromisoformat(callback_at) if callback_at else None,
                             callback_part=state.get("callback_part"), callback_asked=bool(state.get("callback_asked")))


def finish_call_step(step: Step, outcome: str, now: datetime, callback_at: datetime | None = None,
                     callback_part: str | None = None, callback_asked: bool = False) -> None:
    """Retries for a call nobody answered, a callback the patient asked for, else the workflow's route."""
    from duedesk.engine import definitions

    step = Step.objects.select_related("enrollment__contact__organization", "enrollment__invoice").get(pk=step.pk)
    enrollment = step.enrollment
    # "sending": the call ended before the worker saved its SID; it is still this call's outcome.
    if step.status not in ("waiting", "sending") or enrollment.status not in ("active", "waiting"):
        actions.complete_step(step, outcome, now)
        return
    step_def = definitions.parsed(enrollment.workflow).step(step.step_id)
    contact = enrollment.contact
    window = contact.organization.send_window()
    again_at = None
    if callback_at is not None:
        again_at = timing.next_open(callback_at, contact.tz(), window)
    elif outcome in ("no_answer", "failed") and step_def.retry and step.occurrence < step_def.retry.attempts:
        again_at = timing.next_open(now + step_def.retry.every, contact.tz(), window)
    if again_at is None:
        actions.complete_step(step, outcome, now)
        return
    asked = callback_at is not None and callback_asked
    call_actions.call_again(step, enrollment, outcome, again_at, now, part=callback_part if asked else None,
                            asked_by_patient=asked)


def _apply(call: Call, turn: dialog.Turn, now: datetime) -> None:
    contact, invoice = call.contact, call.invoice
    state = call.dialog_state
    for effect in turn.effects:
        data = effect.data
        if effect.kind == "record_promise":
            # The call's own outcome ("promised") moves the workflow on; don't route twice.
            actions.record_promise(invoice, data["date"], now, channel="call", amount=data.get("amount"),
                                   route=False)
        elif effect.kind == "open_handoff":
            reason = HANDOFF_REASON.get(data["reason"], data["reason"])
            actions.open_handoff(contact, reason, now, invoice=invoice, summary=data.get("summary", ""),
                                 collected=dialog.collected(state), transcript=dialog.transcript(state))
            if reason in INVOICE_STATUS_FOR:
                actions.set_invoice_status(invoice, INVOICE_STATUS_FOR[reason], now, actor="patient",
                                           note=data.get("summary", ""))
        elif effect.kind == "send_pay_link":
            ctx = render.MessageContext(org_name=contact.organization.name, first_name=contact.first_name,
                                        lang=contact.language or "en", amount=invoice.balance,
                                        currency=invoice.currency, due_date=invoice.due_date,
                                        pay_link=pay_link_for(invoice, now))
            body = render.render_sms(PAY_LINK_TEXT[ctx.lang if ctx.lang in PAY_LINK_TEXT else "en"], ctx)
            # Recorded now, handed to the provider by the worker: the turn never waits on a REST call.
            text_later(contact, body, now, invoice=invoice)
        elif effect.kind == "opt_out":
            channel = data.get("channel", "call")
            actions.opt_out(contact, ("all",) if channel == "all" else (channel,), now, source="call")
        elif effect.kind == "legal_hold":
            hold = HOLD_FOR_INTENT[data["intent"]]
            place_legal_hold(contact, hold, now, invoice=invoice, source="call", said=data.get("said", ""),
                             transcript=dialog.transcript(state))
        elif effect.kind == "contact_hours":
            set_contact_hours(contact, list(data["channels"]), dict(data), now, source="call")
        elif effect.kind == "mark_wrong_number":
            actions.mark_unreachable(contact, "call", "wrong_number", now)
        elif effect.kind == "pause_invoice":
            until = data["until"]
            if isinstance(until, date) and not isinstance(until, datetime):
                until = datetime.combine(until, time(0), tzinfo=ZoneInfo(contact.tz()))
            actions.pause_invoice(invoice, until, now, reason=vocabulary.sentence("says_paid"))
        elif effect.kind == "schedule_callback":
            call_actions.remember_callback(call, data["at"], part=data.get("part"), asked=bool(data.get("asked")))
        elif effect.kind in ("identity_verified", "identity_failed", "transfer"):
            log(call.organization_id, f"call.{effect.kind}", now, contact=contact, invoice=invoice, channel="call",
                **dict(data))


# The call script's "unclear" is, for the billing office, a conversation that needs reading.
HANDOFF_REASON = {"unclear": "reply_needs_reading"}
# What the patient told us changes the invoice: outreach stops on a dispute and waits on hardship.
INVOICE_STATUS_FOR = {"dispute": "disputed", "hardship": "hardship"}

PAY_LINK_TEXT = {
    "en": "Here is the link to pay your balance of {{ invoice.amount }}: {{ invoice.pay_link }}",
    "es": "Este es el enlace para pagar su saldo de {{ invoice.amount }}: {{ invoice.pay_link }}",
}


def _turn_json(turn: dialog.Turn) -> dict:
    return {"say": turn.say, "lang": turn.lang, "listen": turn.listen, "transfer_to": turn.transfer_to,
            "done": turn.done, **({"parts": [list(p) for p in turn.parts]} if turn.parts else {})}


def _replay(call: Call) -> dialog.Turn:
    last = call.dialog_state.get("last_turn", {})
    return dialog.Turn(say=last.get("say", ""), lang=last.get("lang", "en-US"), listen=last.get("listen", False),
                       state=call.dialog_state, transfer_to=last.get("transfer_to"), done=last.get("done", True),
                       parts=tuple(tuple(p) for p in last.get("parts", ())))



