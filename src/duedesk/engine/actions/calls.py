"""Calls: what happened on a call (who answered, each turn of the script, the voicemail, the end) and the
call step planned again when nobody answered or the patient asked to be called back.

The conversation shell (conversations/calls.py) loads the call under its row lock, lets the call script
decide, and hands the result to these verbs. They join the caller's transaction (no savepoint of their
own: a call turn is one short transaction) or make one when called alone.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from duedesk.engine.actions.contacts import record_conversation
from duedesk.engine.actions.lines import mark_unreachable
from duedesk.engine.actions.sends import content_sha256
from duedesk.engine.advance import plan_retry
from duedesk.engine.models import Enrollment, Step
from duedesk.records.commits import without_flush
from duedesk.records.models import Call, CallTurn
from duedesk.records.timeline import log


def start_call_script(call: Call, dialog_state: dict) -> None:
    """The call was picked up and the script began (its first turn in `dialog_state`)."""
    call.status = "in-progress"
    call.dialog_state = dialog_state
    call.save(update_fields=["status", "dialog_state"])


def record_answered_by(call: Call, answered_by: str, now: datetime) -> None:
    """Who picked up ("human", or "unknown" when detection can't tell): the call is logged as answered."""
    with transaction.atomic(savepoint=False):
        call.answered_by = answered_by
        call.save(update_fields=["answered_by"])
        record_conversation(call.contact, now)
        log(call.organization_id, "call.answered", now, contact=call.contact, invoice=call.invoice, channel="call",
            answered_by=answered_by)


def record_fax(call: Call, now: datetime) -> None:
    """A fax machine answered: the number can't take our calls."""
    with transaction.atomic(savepoint=False):
        call.answered_by = "fax"
        call.outcome = "unreachable"
        call.save(update_fields=["answered_by", "outcome"])
        log(call.organization_id, "call.fax", now, contact=call.contact, invoice=call.invoice, channel="call")
        if call.contact is not None:
            mark_unreachable(call.contact, "call", "fax", now)


def take_turn(call: Call, provider_id: str, sequence: int, now: datetime) -> bool:
    """Claim one delivered turn of the call (call under its row lock). False: it was handled already.
    One statement, looked up and stored at once (the key's unique index answers): a call turn's webhook has
    no room for a second round trip."""
    table = CallTurn._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ("organization_id", "call_id", "provider_id", "sequence", "created_at") '
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [call.organization_id, call.pk, provider_id[:64], sequence,
             connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount == 1


def record_call_turn(call: Call, dialog_state: dict, outcome: str | None, *, durable: bool = True) -> None:
    """The script's state after a turn, and the call's outcome once the script has one. One UPDATE written
    once per process (what save(update_fields=...) builds on every turn, at a third of a turn's Python).

    `durable` False: the turn changed nothing but where the script is (no promise, handoff, opt-out or outcome),
    and on PostgreSQL its transaction commits without waiting for the write-ahead log to reach the disk
    (synchronous_commit off for this transaction only, in the same statement). Should the database server
    crash within the next fraction of a second, the turn is lost whole (its state and its key together: the
    call goes on one step behind, nothing happens twice); a disk flush on a busy machine is most of a turn's
    slowest answers."""
    call.dialog_state = dialog_state
    if outcome:
        call.outcome = outcome
    state = Call._meta.get_field("dialog_state")
    sql = _turn_update(connection)
    if not durable:
        sql = without_flush(sql)  # one round trip (records/commits.py)
    with connection.cursor() as cursor:
        cursor.execute(sql, [state.get_db_prep_save(dialog_state, connection), call.outcome, call.pk])


_TURN_UPDATE: dict[str, str] = {}  # by database vendor


def _turn_update(connection) -> str:
    sql = _TURN_UPDATE.get(connection.vendor)
    if sql is None:
        qn, meta = connection.ops.quote_name, Call._meta
        sql = _TURN_UPDATE[connection.vendor] = (
            f"UPDATE {qn(meta.db_table)} SET {qn(meta.get_field('dialog_state').column)} = %s, "
            f"{qn(meta.get_field('outcome').column)} = %s WHERE {qn(meta.pk.column)} = %s")
    return sql


def remember_callback(call: Call, at: datetime, part: str | None = None, asked: bool = False) -> None:
    """The call's step is planned again at `at` when it ends: the patient asked to be called back (`asked`,
    in the `part` of the day they named), or asked for other hours."""
    call.dialog_state["callback_at"] = at.isoformat()
    if part:
        call.dialog_state["callback_part"] = part
    if asked:
        call.dialog_state["callback_asked"] = True
    Call.objects.filter(pk=call.pk).update(dialog_state=call.dialog_state)


def spoken(transcript: list | None) -> str:
    """What was said on a call, as its fingerprint is taken: one line per turn, "speaker: text" (the
    transcript on the call.completed event), so an auditor can recompute the SHA-256 from the timeline."""
    return "\n".join(f"{t.get('speaker', '')}: {t.get('text') or ''}" for t in transcript or ())


def record_voicemail(call: Call, now: datetime, *, text: str = "", withheld: dict | None = None) -> None:
    """A machine answered: the message left (`text`, its SHA-256 kept on the call as what was said), or none,
    with the problems that withheld it."""
    with transaction.atomic(savepoint=False):
        call.answered_by = "machine"
        call.outcome = "voicemail"
        call.content_sha256 = content_sha256("", text) if text else ""
        call.save(update_fields=["answered_by", "outcome", "content_sha256"])
        if withheld is not None:
            log(call.organization_id, "call.voicemail_withheld", now, contact=call.contact, invoice=call.invoice,
                channel="call", **withheld)
        else:
            log(call.organization_id, "call.voicemail", now, contact=call.contact, invoice=call.invoice,
                channel="call", text=text, sha256=call.content_sha256)


def end_call(call: Call, status: str, outcome: str, now: datetime, duration: int | None, *,
             transcript: list | None, collected: dict | None) -> None:
    """The call is over: its final status and outcome, with the transcript and answers on the timeline. What
    was said (the transcript, else the voicemail left) is fingerprinted on the call, as a text's body is."""
    with transaction.atomic(savepoint=False):
        call.status = status
        call.outcome = outcome
        call.ended_at = now
        call.duration_seconds = duration
        if transcript:
            call.content_sha256 = content_sha256("", spoken(transcript))
        call.save(update_fields=["status", "outcome", "ended_at", "duration_seconds", "content_sha256"])
        log(call.organization_id, "call.completed", now, contact=call.contact, invoice=call.invoice,
            channel="call", outcome=outcome, answered_by=call.answered_by or None, transcript=transcript,
            collected=collected, sha256=call.content_sha256 or None)


def call_again(step: Step, enrollment: Enrollment, outcome: str, again_at: datetime, now: datetime,
               part: str | None = None, asked_by_patient: bool = False) -> Step:
    """Nobody answered (or the patient asked for a callback): this call step is done with its outcome and
    the same step is planned again at `again_at`; the enrollment keeps going."""
    with transaction.atomic():
        Step.objects.filter(pk=step.pk).update(status="done", outcome=outcome, finished_at=now)
        enrollment.status = "active"
        enrollment.save(update_fields=["status"])
        retry = plan_retry(step, again_at, now)
        log(step.organization_id, "call.retry_planned", now, contact=enrollment.contact,
            invoice=enrollment.invoice, channel="call", step=step.step_id, next_attempt=again_at,
            attempt=retry.occurrence, previous_outcome=outcome, planned_step=retry.pk, part=part,
            asked_by_patient=asked_by_patient or None)
        return retry


def book_call(step_id: int, at: datetime, now: datetime, **detail) -> bool:
    """A planned call moves to the time booked for it on a staff member's calendar (a callback the patient
    asked for). Only a call not yet started moves; False when it had started, finished or was cancelled."""
    with transaction.atomic():
        step = Step.objects.select_related("enrollment__contact", "enrollment__invoice").filter(pk=step_id).first()
        if step is None or not Step.objects.filter(pk=step_id, status="pending").update(run_at=at):
            return False
        log(step.organization_id, "call.booked", now, contact=step.enrollment.contact,
            invoice=step.enrollment.invoice, channel="call", step=step.step_id, booked_for=at, **detail)
        return True


def note_interruption(call_id: int, heard_until: str, spoken_ms: int | None) -> None:
    """The patient spoke over the assistant (streaming voice's barge-in): its last words in the transcript are
    marked with how far they got, so the transcript says what the patient actually heard."""
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).get(pk=call_id)
        said = [t for t in call.dialog_state.get("transcript", []) if t.get("speaker") == "assistant"]
        if said:
            said[-1]["interrupted"] = {"heard_until": heard_until, "after_ms": spoken_ms}
            call.save(update_fields=["dialog_state"])


def record_reply_times(call_id: int, reply_ms: list[int], now: datetime) -> None:
    """How long each of the patient's turns waited for the assistant's answer on a streaming call (from their
    last word reaching us to our answer leaving): on the call's state and on the timeline (call.reply_times)."""
    if not reply_ms:
        return
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("contact", "invoice").get(pk=call_id)
        call.dialog_state["reply_ms"] = list(reply_ms)
        call.save(update_fields=["dialog_state"])
        ordered = sorted(reply_ms)
        log(call.organization_id, "call.reply_times", now, contact=call.contact, invoice=call.invoice,
            channel="call", turns=len(reply_ms), reply_ms=list(reply_ms), median_ms=ordered[len(ordered) // 2],
            slowest_ms=ordered[-1])
