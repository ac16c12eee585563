"""Twilio's webhooks: inbound texts, delivery statuses, and the voice call's turns.

Every request is checked against X-Twilio-Signature with the auth token of the organization it
belongs to, over DUEDESK_PUBLIC_URL + path + query (the URL Twilio was given, whatever proxy or
port is in between). A request that fails the check gets 403, a log line, and changes nothing.

The organization comes from the number that received a text or a call, or from our own Message/Call row
(named in the callback URL we gave Twilio, else by its SID).
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from duedesk.conversations.delivery import record_delivery
from duedesk.core import language as languages
from duedesk.integrations.twilio import errors as codes
from duedesk.integrations.twilio import signing, twiml
from duedesk.integrations.twilio import transport as twilio
from duedesk.records.models import Call, Message, Organization
from duedesk.records.prepared import Prepared

logger = logging.getLogger("duedesk.webhooks")

# The webhooks' clock; tests replace it with their virtual one.
clock = timezone.now

# Message statuses in the order they happen; a late callback never moves a message backwards.
FINAL_CALL = ("completed", "no-answer", "busy", "failed", "canceled")
# Twilio's AnsweredBy values that mean an answering machine (machine_start: "Enable" detection, before the
# greeting ends; the others: DetectMessageEnd, at the beep, silence or otherwise).
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other")
PERSON = ("human", "unknown")  # "unknown": detection could not tell; the conversation goes on


def _xml(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def signed_url(request) -> str:
    query = request.META.get("QUERY_STRING", "")
    return settings.PUBLIC_URL + request.path + (f"?{query}" if query else "")


def verified(request, org) -> bool:
    token = twilio.auth_token(org) if org is not None else ""
    if not token:
        return False
    return signing.validate(token, signed_url(request), request.POST, request.headers.get("X-Twilio-Signature"))


def twilio_webhook(find, *, in_transaction: bool = False):
    """POST only, CSRF-exempt, signed by the owning organization's token, or 403. `in_transaction`: finding,
    the check and the view run in one transaction, so the row `find` loads under its lock is the one the view
    acts on (a call turn reads its call once, not once for the check and again under the lock)."""

    def decorate(view):
        def checked(request):
            org, found = find(request)
            if not verified(request, org):
                logger.warning(
                    "Twilio webhook %s refused: %s (signature %s)", request.path,
                    "no organization for this request" if org is None else f"bad signature for {org.slug}",
                    "present" if request.headers.get("X-Twilio-Signature") else "missing",
                )
                return HttpResponseForbidden("Signature check failed.")
            return view(request, org, found)

        @csrf_exempt
        @require_POST
        @wraps(view)
        def wrapper(request):
            if not in_transaction:
                return checked(request)
            with transaction.atomic():  # a refused request wrote nothing: its transaction ends empty
                return checked(request)

        return wrapper

    return decorate


# ----------------------------------------------------------------------------- finding the owner


def _by_number(to: str | None = None, service: str | None = None):
    query = Q(sms_from=to) | Q(voice_caller_id=to) if to is not None else Q()
    if service is not None:
        query = query | Q(messaging_service_sid=service) if to is not None else Q(messaging_service_sid=service)
    return Organization.objects.filter(query).order_by("pk")[:1]


# Every text and call the organization's numbers receive asks this: its SQL is built once (records/prepared.py).
_ORG_FOR = {
    (True, False): Prepared(lambda to: _by_number(to=to)),
    (True, True): Prepared(lambda to, service: _by_number(to=to, service=service)),
    (False, True): Prepared(lambda service: _by_number(service=service)),
}


def _org_for_number(request):
    to = request.POST.get("To", "").replace("\x00", "")
    service = request.POST.get("MessagingServiceSid", "").replace("\x00", "")
    if not to and not service:
        return None, None
    found = _ORG_FOR[(bool(to), bool(service))](*(value for value in (to, service) if value))
    return (found[0] if found else None), None


def _message_for_status(request):
    key = request.GET.get("key", "")
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    message = None
    if key:
        message = Message.objects.filter(idempotency_key=key).select_related("organization").first()
    if message is None and sid:
        message = Message.objects.filter(provider_id=sid, direction="out").select_related("organization").first()
    return (message.organization, message) if message else (None, None)


def _calls(*related: str, lock: bool = False):
    calls = Call.objects.select_related(*related)
    return calls.select_for_update(of=("self",)) if lock else calls


# A call's webhooks name it by its key (the callback URLs we gave Twilio): their SQL is built once
# (records/prepared.py), without an ORDER BY (Django builds one per selected column, and these loads are wide).
_CALL_BY_KEY = Prepared(lambda pk: _calls("organization").filter(pk=pk)[:1])
_TURN_CALL_BY_KEY = Prepared(lambda pk: _calls("organization", "contact", "invoice", lock=True).filter(pk=pk)[:1])


def _call(request, calls=lambda: _calls("organization"), by_key=_CALL_BY_KEY):
    """`calls()`: the queryset a call named by its SID is found in (built only then: a key needs none)."""
    call = None
    ref = request.GET.get("call", "")
    sid = request.POST.get("CallSid", "")
    if ref.isascii() and ref.isdigit() and len(ref) < 19:  # a key a bigint holds
        call = next(iter(by_key(int(ref))), None)
        if call is not None and call.provider_id and sid and call.provider_id != sid:
            call = None  # a callback for another call can't speak for this one
    elif sid:
        call = calls().filter(provider_id=sid).first()
    return (call.organization, call) if call else (None, None)


def _call_for_turn(request):
    """The call a turn belongs to, under its row lock, with what the turn reads (its contact, organization
    and invoice) in the same query; run in the turn's transaction (twilio_webhook(in_transaction=True))."""
    org, call = _call(request, lambda: _calls("organization", "contact", "invoice", lock=True), _TURN_CALL_BY_KEY)
    if call is not None and call.contact is not None and call.contact.organization_id == call.organization_id:
        call.contact.organization = call.organization  # the same row: read once
    return org, call


def _remember_sid(model, pk: int, sid: str) -> None:
    if sid:
        model.objects.filter(pk=pk, provider_id="").update(provider_id=sid)


# ----------------------------------------------------------------------------- texts


@twilio_webhook(_org_for_number)
def sms_inbound(request, org, _):
    """Stored and acted on once; the reply (gated, recorded, logged) goes back in this response as TwiML, so
    the webhook waits on neither the rate limiter nor a REST call. A failure answers 500 and keeps nothing:
    Twilio's retry acts on the text. A text is only ever answered by text, so the organization's REST
    transports are not even built here (a connection pool and a TLS context on a process's first text)."""
    from duedesk.channels.registry import Transports
    from duedesk.conversations.texts import receive_text

    post = request.POST
    replies = twilio.TwimlReplies()
    receive_text(org, post.get("From", ""), post.get("To", ""), post.get("Body", ""), clock(),
                 Transports(sms=replies, voice=None, email=None),
                 provider_id=post.get("MessageSid") or post.get("SmsSid") or "")
    return _xml(replies.twiml())


@twilio_webhook(_message_for_status)
def sms_status(request, org, message):
    status = (request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or "").lower()
    code = request.POST.get("ErrorCode", "") or ""
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    failed = code and status in ("undelivered", "failed")
    about = codes.scope(code) if failed else None
    effect = codes.channel_effect(code) if about == codes.NUMBER else None
    now = clock()
    changed = record_delivery(message.pk, status, code, sid, now, error=codes.describe(code) if code else None,
                              unreachable=effect)
    if changed and about == codes.ORGANIZATION:  # our account or sender, not the patient's number
        from duedesk.engine.actions.channels import pause_channel

        pause_channel(org.pk, message.channel, now, code=code, error=codes.describe(code))
    return HttpResponse(status=204)


# ----------------------------------------------------------------------------- calls


def _turn_url(call: Call, n: int) -> str:
    return f"{settings.PUBLIC_URL}/hooks/twilio/voice/turn?call={call.pk}&n={n}"


def _turn_twiml(call: Call, turn, n: int) -> str:
    from duedesk.conversations.hotline import is_incoming

    if n == 1 and turn.listen and settings.VOICE_RELAY_URL:  # streaming voice: the turns go over the WebSocket
        return twiml.relay(f"{settings.VOICE_RELAY_URL}?call={call.pk}", turn.lang,
                           f"{settings.PUBLIC_URL}/hooks/twilio/voice/relay-end?call={call.pk}", {"call": str(call.pk)})
    # A call the patient made is transferred showing their own number (Twilio's default for it).
    caller_id = None if is_incoming(call) else call.sender or None
    return twiml.for_turn(turn.say, turn.lang, listen=turn.listen, transfer_to=turn.transfer_to,
                          action_url=_turn_url(call, n), caller_id=caller_id, parts=turn.parts)


def _voice_lang(call: Call) -> str:
    return "es-US" if languages.for_message(call.contact.language if call.contact else "") == "es" else "en-US"


@twilio_webhook(_call)
def voice_answer(request, org, call):
    from duedesk.conversations import calls as conversation

    _remember_sid(Call, call.pk, request.POST.get("CallSid", ""))
    now = clock()
    answered_by = request.POST.get("AnsweredBy", "")
    try:
        if answered_by in MACHINE:  # synchronous detection: leave the message straight away
            return _xml(twiml.voicemail(conversation.voicemail(call.pk, now), _voice_lang(call)))
        if answered_by == "fax":
            conversation.fax(call.pk, now)
            return _xml(twiml.hangup())
        # Asynchronous detection (no AnsweredBy yet): the script starts, and who answered is logged when the
        # detection's own callback says (voice_amd).
        turn = conversation.answered(call.pk, now, answered_by=answered_by if answered_by in PERSON else None)
    except Exception:
        logger.exception("call %s: the answer webhook failed; hanging up politely", call.pk)
        return _xml(twiml.hangup())
    return _xml(_turn_twiml(call, turn, 1))


@twilio_webhook(_org_for_number)
def voice_incoming(request, org, _):
    """A patient calls the organization's number (the invoice question hotline): the greeting, then the turns
    come back to voice_turn like an outbound call's."""
    from duedesk.conversations import hotline

    post = request.POST
    try:
        call, turn = hotline.incoming(org, post.get("From", "").replace("\x00", ""), post.get("To", "").replace(
            "\x00", ""), post.get("CallSid", ""), clock())
    except Exception:
        logger.exception("incoming call %s: the greeting failed; hanging up politely", post.get("CallSid", ""))
        return _xml(twiml.hangup())
    return _xml(_turn_twiml(call, turn, 1))


@twilio_webhook(_call_for_turn, in_transaction=True)
def voice_turn(request, org, call):
    from duedesk.conversations import calls as conversation
    from duedesk.conversations import hotline

    n = request.GET.get("n", "")
    n = int(n) if n.isdigit() else 0
    post = request.POST
    text = (post.get("SpeechResult") or post.get("Digits") or "").strip() or None
    turn_key = f"{post.get('CallSid') or call.provider_id or call.pk}:{n}"
    try:
        hear = hotline.heard if hotline.is_incoming(call) else conversation.heard
        # The call as loaded (and locked) for the signature check; a failure rolls the turn back whole.
        turn = hear(call, text, clock(), turn_key=turn_key)  # a pay link asked for is sent by the worker
    except Exception:
        logger.exception("call %s: turn %s failed; hanging up politely", call.pk, n)
        return _xml(twiml.hangup())
    return _xml(_turn_twiml(call, turn, n + 1))


@twilio_webhook(_call)
def voice_relay_end(request, org, call):
    """The streaming session ended (<Connect action>): the transfer our last turn asked for (its HandoffData), else
    the call hangs up. The conversation itself was carried out over the WebSocket."""
    from duedesk.conversations.hotline import is_incoming

    try:
        handoff = json.loads(request.POST.get("HandoffData") or "{}")
    except ValueError:
        handoff = {}
    transfer_to = handoff.get("transfer_to") if isinstance(handoff, dict) else None
    if transfer_to and transfer_to == (call.dialog_state.get("last_turn") or {}).get("transfer_to"):
        caller_id = None if is_incoming(call) else call.sender or None
        return _xml(twiml.for_turn("", "", listen=False, transfer_to=transfer_to, action_url="", caller_id=caller_id))
    return _xml(twiml.hangup())


@twilio_webhook(_call)
def voice_amd(request, org, call):
    from duedesk.conversations import calls as conversation

    sid = request.POST.get("CallSid", "")
    _remember_sid(Call, call.pk, sid)
    answered_by = request.POST.get("AnsweredBy", "")
    if answered_by in PERSON:  # the conversation goes on; now the timeline says a person answered
        conversation.person_answered(call.pk, answered_by, clock())
        return HttpResponse(status=204)
    if answered_by not in MACHINE and answered_by != "fax":
        return HttpResponse(status=204)
    if call.outcome in ("voicemail", "unreachable") or call.ended_at is not None:
        return HttpResponse(status=204)  # a repeated callback: the message is already left
    rest = twilio.rest_for(org)
    try:
        if answered_by == "fax":
            conversation.fax(call.pk, clock())
            document = None
        else:
            document = twiml.voicemail(conversation.voicemail(call.pk, clock()), _voice_lang(call))
    except ValueError as problem:  # no callback number, or a name that would say too much
        logger.warning("call %s: no voicemail left: %s", call.pk, problem)
        document = None
    if rest is not None and sid:
        try:
            if document:
                rest.update_call(sid, twiml=document)
            else:
                rest.update_call(sid, status="completed")
        except Exception:
            logger.exception("call %s: could not leave the voicemail", call.pk)
    return HttpResponse(status=204)


@twilio_webhook(_call)
def voice_status(request, org, call):
    from duedesk.conversations import calls as conversation
    from duedesk.conversations import hotline

    post = request.POST
    _remember_sid(Call, call.pk, post.get("CallSid", ""))
    status = (post.get("CallStatus") or "").lower()
    if status not in FINAL_CALL:
        return HttpResponse(status=204)
    duration = post.get("CallDuration") or post.get("Duration") or ""
    end = hotline.ended if hotline.is_incoming(call) else conversation.ended
    end(call.pk, status, clock(), int(duration) if duration.isdigit() else None)
    return HttpResponse(status=204)
