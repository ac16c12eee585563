"""Twilio SMS and voice (and SMTP email) as the engine's transports, per organization.

Configuration, all outside the database's secrets (settings.py reads the environment):
  account SID   Organization.twilio_account_sid, else settings.TWILIO_ACCOUNT_SID
  auth token    the environment variable NAMED by Organization.twilio_auth_token_env
                (default DUEDESK_TWILIO_AUTH_TOKEN), from settings.TWILIO_AUTH_TOKENS; the name
                must contain "TWILIO", so an organization's settings can never point at another
                secret of the process
  base URL      settings.TWILIO_BASE_URL (DUEDESK_TWILIO_BASE_URL, default https://api.twilio.com):
                tests and benchmarks point it at the local fake
  timeout       settings.TWILIO_TIMEOUT seconds per API request (default 10)
  lookups       settings.TWILIO_LOOKUPS_URL (Lookup v2, line types); unset: lookups.twilio.com, or the
                base URL when that points away from Twilio (the fake answers both)
  senders       Organization.sms_from or messaging_service_sid; voice_caller_id (else sms_from)
  email         SMTP when DUEDESK_SMTP_HOST is set (settings.SMTP_CONFIGURED)

`transports_for_org(org)` returns None when nothing is configured, and the process falls back to
the simulated transports (channels/providers.py).
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from duedesk.channels.base import Accepted, CallRequest, Outgoing
from duedesk.channels.errors import CHANNEL_PAUSED, TransportError
from duedesk.channels.registry import Transports
from duedesk.channels.simulated import SimulatedTransport, SimulatedVoice
from duedesk.integrations.twilio import ratelimit
from duedesk.integrations.twilio.rest import TwilioRest

DEFAULT_BASE_URL = "https://api.twilio.com"
DEFAULT_LOOKUPS_URL = "https://lookups.twilio.com"
LIVE_CALL_STATUSES = ("dialing", "ringing", "in-progress")
CAPACITY_RETRY_AFTER = 30.0  # seconds before a call over the organization's cap is tried again
STALE_CALL = timedelta(hours=2)  # a "live" call older than this lost its final callback; don't count it


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    base_url: str
    timeout: float = 10.0
    lookups_url: str = "https://lookups.twilio.com"


def auth_token(org) -> str:
    """The organization's Twilio auth token from the environment ('' when not configured)."""
    # Only variables whose names could hold a Twilio token are in TWILIO_AUTH_TOKENS (settings.py).
    return settings.TWILIO_AUTH_TOKENS.get((org.twilio_auth_token_env or "").strip(), "")


def twilio_config(org) -> TwilioConfig | None:
    sid = org.twilio_account_sid or settings.TWILIO_ACCOUNT_SID
    token = auth_token(org)
    if not sid or not token:
        return None
    base_url = (settings.TWILIO_BASE_URL or DEFAULT_BASE_URL).rstrip("/")
    # Lookup v2 lives on its own host. With the API pointed elsewhere (a local fake, a proxy) and no lookups
    # address of its own, lookups go there too: a test or a bench never reaches the real Twilio by default.
    lookups_url = settings.TWILIO_LOOKUPS_URL or (base_url if base_url != DEFAULT_BASE_URL else DEFAULT_LOOKUPS_URL)
    return TwilioConfig(sid, token, base_url, float(settings.TWILIO_TIMEOUT), lookups_url.rstrip("/"))


def smtp_configured() -> bool:
    return bool(settings.SMTP_CONFIGURED)


def channel_status(org) -> dict[str, str]:
    """Which provider each channel uses for this organization: for the settings page and the CLI."""
    config = twilio_config(org)
    return {
        "sms": "twilio" if config and (org.sms_from or org.messaging_service_sid) else "simulated",
        "call": "twilio" if config and (org.voice_caller_id or org.sms_from) else "simulated",
        "email": "smtp" if smtp_configured() else "simulated",
    }


# One REST client (one connection pool) per account and base URL in this process.
_clients: dict[TwilioConfig, TwilioRest] = {}
_clients_lock = threading.Lock()


def rest_for(org) -> TwilioRest | None:
    config = twilio_config(org)
    if config is None:
        return None
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = TwilioRest(config.account_sid, config.auth_token, base_url=config.base_url,
                                timeout=config.timeout, lookups_url=config.lookups_url)
            _clients[config] = client
        return client


def transports_for_org(org, *, limiter=None) -> Transports | None:
    status = channel_status(org)
    if set(status.values()) == {"simulated"}:
        return None
    rest = rest_for(org)
    sms = voice = email = None
    if status["sms"] == "twilio":
        sms = TwilioSms(rest, org, limiter=limiter)
    if status["call"] == "twilio":
        voice = TwilioVoice(rest, org)
    if status["email"] == "smtp":
        from duedesk.integrations.smtp.transport import SmtpEmail

        email = SmtpEmail.from_settings(org)
    return Transports(
        sms=sms or SimulatedTransport(timezone.now),
        voice=voice or SimulatedVoice(timezone.now),
        email=email or SimulatedTransport(timezone.now),
        lines=TwilioLineTypes(rest) if sms or voice else None,
    )


class TwilioLineTypes:
    """Lookup v2's line type intelligence: the engine asks it once per number (engine/line_types.py)."""

    def __init__(self, rest: TwilioRest) -> None:
        self.rest = rest

    def line_type(self, number: str) -> tuple[str, str]:
        found = self.rest.line_type(number)  # {} for a number Twilio doesn't know: no type to give
        return found.get("type") or "unknown", found.get("carrier_name") or ""


def with_query(url: str, **params) -> str:
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


def refuse_if_paused(organization_id: int, channel: str) -> None:
    """A channel paused after Twilio refused our account or sender sends nothing until a person resumes it."""
    from duedesk.engine.actions.channels import channel_paused

    paused = channel_paused(organization_id, channel)
    if paused is not None:
        raise TransportError(
            f"The organization's {'texts' if channel == 'sms' else 'calls'} are paused since Twilio refused our "
            f"account or sender ({paused.get('error') or paused.get('code') or 'no details'}).",
            permanent=True, code=CHANNEL_PAUSED, scope="organization",
        )


class TwilioSms:
    """Texts through Twilio's Messages API, paced per sender number."""

    name = "twilio"

    def __init__(self, rest: TwilioRest, org, *, limiter=None) -> None:
        self.rest = rest
        self.organization_id = org.pk
        self.sender = org.sms_from
        self.messaging_service_sid = "" if org.sms_from else org.messaging_service_sid
        self.rate = org.sms_per_second
        self.limiter = limiter or ratelimit.for_database()

    @property
    def sender_key(self) -> str:
        return self.sender or self.messaging_service_sid

    def send(self, msg: Outgoing) -> Accepted:
        refuse_if_paused(self.organization_id, "sms")
        callback = msg.status_callback or f"{settings.PUBLIC_URL}/hooks/twilio/sms/status"
        # Our key in the callback URL: a status that arrives before we saved Twilio's SID still
        # finds its message.
        callback = with_query(callback, key=msg.idempotency_key)
        bound = ratelimit.bounded_wait(msg.max_wait) if msg.max_wait is not None else contextlib.nullcontext()
        with bound, self.limiter.pace(self.sender_key, self.rate):
            data = self.rest.send_message(
                to=msg.to,
                body=msg.body,
                from_=self.sender or None,
                messaging_service_sid=self.messaging_service_sid or None,
                status_callback=callback,
                idempotency_key=msg.idempotency_key,
            )
        return Accepted(data["sid"], data.get("status") or "queued")

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        """Did Twilio take the text with this key? Found by recipient, time and exact body."""
        from duedesk.records.models import Message

        ours = Message.objects.filter(idempotency_key=idempotency_key).values_list("body", flat=True).first()
        if ours is None:
            return None
        taken = set(
            Message.objects.filter(organization_id=self.organization_id, to=to)
            .exclude(idempotency_key=idempotency_key)
            .exclude(provider_id="")
            .values_list("provider_id", flat=True)
        )
        candidates = [
            m for m in self.rest.find_messages(to=to, date_sent_after=since)
            if m.get("sid") not in taken and _same_body(m.get("body") or "", ours)
        ]
        if not candidates:
            return None
        found = candidates[-1]  # Twilio lists newest first: the earliest match is ours
        return Accepted(found["sid"], found.get("status") or "queued")


class TwimlReplies:
    """The answer to an inbound text, given back to Twilio in the webhook's response (TwiML <Message>) instead
    of a REST call: the webhook never waits on the rate limiter or the network. The reply is gated, recorded
    and logged as any text is (send_text_now); Twilio sends it once the webhook's transaction has committed,
    and reports its statuses to our status callback, which finds the message by the key in that URL."""

    name = "twilio"
    in_response = True  # send() only collects: the text leaves with the webhook's answer, after our commit

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []  # (body, status callback URL)

    def send(self, msg: Outgoing) -> Accepted:
        callback = msg.status_callback or f"{settings.PUBLIC_URL}/hooks/twilio/sms/status"
        self.replies.append((msg.body, with_query(callback, key=msg.idempotency_key)))
        return Accepted("", "queued")

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        return None  # nothing is handed to Twilio before the webhook answers

    def twiml(self) -> str:
        from duedesk.integrations.twilio import twiml

        return twiml.messages(self.replies)


def _same_body(theirs: str, ours: str) -> bool:
    # Trial accounts prefix "Sent from your Twilio trial account - ".
    return theirs == ours or theirs.endswith(ours)


class TwilioVoice:
    """Calls through Twilio's Calls API with answering-machine detection, capped per organization."""

    name = "twilio"

    def __init__(self, rest: TwilioRest, org) -> None:
        self.rest = rest
        self.organization_id = org.pk
        self.caller_id = org.voice_caller_id or org.sms_from
        self.max_concurrent = org.max_concurrent_calls

    def _check_capacity(self, req: CallRequest) -> None:
        from duedesk.records.models import Call

        if not self.max_concurrent:
            return
        ours = Call.objects.filter(pk=req.call_id).values_list("created_at", flat=True).first()
        live = Call.objects.filter(organization_id=self.organization_id, status__in=LIVE_CALL_STATUSES,
                                   ended_at__isnull=True).exclude(pk=req.call_id)
        if ours is not None:
            live = live.filter(created_at__gte=ours - STALE_CALL)
        if live.count() >= self.max_concurrent:
            raise TransportError(
                f"The organization already has {self.max_concurrent} calls in progress; trying again shortly.",
                code="capacity", retry_after=CAPACITY_RETRY_AFTER,
            )

    def place_call(self, req: CallRequest) -> Accepted:
        refuse_if_paused(self.organization_id, "call")
        self._check_capacity(req)
        if req.twiml:  # a test call says its words and hangs up: no Call row, so no webhooks to find one
            data = self.rest.create_call(to=req.to, from_=req.sender or self.caller_id, twiml=req.twiml,
                                         machine_detection=None, idempotency_key=req.idempotency_key)
            return Accepted(data["sid"], data.get("status") or "queued")
        base = settings.PUBLIC_URL
        ref = {"call": str(req.call_id)}
        data = self.rest.create_call(
            to=req.to,
            from_=req.sender or self.caller_id,
            url=with_query(req.answer_url or f"{base}/hooks/twilio/voice/answer", **ref),
            status_callback=with_query(req.status_callback or f"{base}/hooks/twilio/voice/status", **ref),
            async_amd_status_callback=with_query(req.amd_callback or f"{base}/hooks/twilio/voice/amd", **ref),
            machine_detection="DetectMessageEnd",
            async_amd=True,
            record=req.record,
            idempotency_key=req.idempotency_key,
        )
        return Accepted(data["sid"], data.get("status") or "queued")

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        """Did Twilio take the call request with this key? (Twilio has no idempotency key for calls.)

        First our own row: any webhook for the call (they carry ?call=<our id>) wrote its CallSid.
        Else Twilio's Calls list for the number since `since` (started, or still queued), from our
        caller ID, leaving out calls another of our Call rows already owns. Twilio's Call resource
        doesn't show the Url it was given, so our id can't be read back from it: when another of our
        calls to the same number is just as unsure, the match would be a guess and this raises
        TransportError (a person checks) rather than answer for the wrong call.
        """
        from duedesk.records.models import Call

        ours = (Call.objects.filter(idempotency_key=idempotency_key)
                .values("pk", "provider_id", "sender", "created_at").first())
        if ours is None:
            return None
        if ours["provider_id"]:
            return Accepted(ours["provider_id"], "queued")
        caller = ours["sender"] or self.caller_id
        window_start = min(since, ours["created_at"]) if ours["created_at"] else since
        siblings = Call.objects.filter(organization_id=self.organization_id, to=to).exclude(pk=ours["pk"])
        taken = set(siblings.exclude(provider_id="").values_list("provider_id", flat=True))
        listed = {c["sid"]: c for c in self.rest.find_calls(to=to, started_after=window_start)}
        for c in self.rest.find_calls(to=to, status="queued"):
            listed.setdefault(c["sid"], c)
        candidates = [
            c for c in listed.values()
            if c.get("sid") not in taken
            and (not caller or c.get("from") in (None, "", caller))
            and _created_since(c, window_start)
        ]
        if not candidates:
            return None
        # Another of our calls to this number, in flight or unresolved, could own the same candidate.
        unsure = siblings.filter(provider_id="", status__in=("dialing", "unknown"),
                                 created_at__gte=window_start).exists()
        if len(candidates) > 1 or unsure:
            raise TransportError(
                f"Cannot confirm which call to {to} is ours: {len(candidates)} unclaimed calls at Twilio "
                "and other calls to the number awaiting their SID.",
            )
        found = candidates[0]
        return Accepted(found["sid"], found.get("status") or "queued")


def _created_since(call: dict, since: datetime) -> bool:
    """Twilio's StartTime filter may round to the day; check the creation time ourselves."""
    raw = call.get("date_created")
    if not raw:
        return True
    try:
        created = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return True
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # Twilio's dates have whole seconds: don't drop a call created in the same second.
    return created >= since.replace(microsecond=0)
