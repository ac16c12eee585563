"""Streaming voice: Twilio ConversationRelay instead of <Gather> turns (on when DUEDESK_VOICE_RELAY_URL is set).

The call's first answer (the greeting's webhook, outbound or incoming) gives Twilio <Connect><ConversationRelay>
(twiml.relay) with our WebSocket's address. Twilio then does the speech recognition and text-to-speech and
talks to us in JSON over that socket: `setup` once (the call's SID and our <Parameter>s), `prompt` with what
the caller said (`voicePrompt`, `last` when the utterance is complete), `dtmf` one key at a time, `interrupt`
when the caller spoke over the assistant (`utteranceUntilInterrupt`: how far it got), `error`. We answer with
`text` tokens (`token`, `last`, and `lang` for a part in another language), `language` to switch recognition
and voice (a caller who chose Spanish), and `end` (with `handoffData`) when the script is done; Twilio then
asks the <Connect action> webhook (webhooks.voice_relay_end) what comes next: a <Dial> to staff, or hanging up.

Each prompt is one turn of the same dialog machine the <Gather> webhook drives (conversations/calls.heard for a
reminder call, conversations/hotline.heard for the hotline), keyed "<CallSid>:<n>" like the webhook's turns, so
a turn delivered twice changes the call once. Keys are gathered until the question's length (8 for a date of
birth, 5 for a ZIP code, else 1) or '#'. A barge-in marks the assistant's last words in the transcript with what
the caller heard of them. Twilio sends nothing while the caller is quiet, so a quiet caller is timed here: after
our words and SILENCE_SECONDS more, the turn is silence, as a <Gather>'s timeout is. The time from a complete prompt reaching us to our answer leaving is recorded per turn
(`call.reply_times` on the timeline, `reply_ms` on the call).

The socket is served by `duedesk relay` (the `websockets` package's threaded server, one thread per call). Why
`websockets` rather than Django Channels: duedesk is a WSGI application (gunicorn) whose shell and engine are
synchronous Django code; a relay turn is one short transaction, as a webhook turn is. The threaded server runs
that same code as it is, with no async/sync bridge, no ASGI server in front of the whole site and no channel
layer (nothing is broadcast between calls); the package has no dependencies of its own and is the reference
implementation of RFC 6455 in Python, maintained since 2013. The handshake is refused (403) unless its
X-Twilio-Signature is the owning organization's signature of DUEDESK_VOICE_RELAY_URL?call=<id>.
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from duedesk.engine.actions import calls as call_actions
from duedesk.integrations.twilio import signing
from duedesk.integrations.twilio import transport as twilio
from duedesk.records.models import Call

logger = logging.getLogger("duedesk.relay")

# The relay's clock; tests replace it with their virtual one.
clock = timezone.now
DIGITS_FOR = {"verify_dob": 8, "verify_zip": 5}  # keys gathered before they make one answer; else 1
# ConversationRelay says nothing while the caller says nothing: after our words (at about this many a second) and
# this many seconds more of quiet, the turn is silence, as a <Gather>'s timeout is ("Are you still there?").
SILENCE_SECONDS = 6.0
WORDS_PER_SECOND = 2.5


class Session:
    """One call's conversation over the socket, apart from the socket: a message in, the messages to send back."""

    def __init__(self, call_id: int) -> None:
        self.call_id = call_id
        self.call_sid = ""
        self.turns = 0  # patient turns taken (the greeting was the first document's)
        self.partial = ""
        self.digits = ""
        self.step = ""
        self.lang = ""
        self.ended = False
        self.reply_ms: list[int] = []
        self.waiting: float | None = None  # seconds of quiet before the caller's silence is a turn; None: not asked

    def silence(self) -> list[dict]:
        """The caller said nothing after our question: a silent turn."""
        self.partial = self.digits = ""
        return self._turn(None)

    def receive(self, message: dict) -> tuple[list[dict], bool]:
        """(messages to send, whether this was a patient turn to time)."""
        kind = message.get("type")
        if self.ended:
            return [], False
        if kind in ("prompt", "dtmf", "interrupt"):
            self.waiting = None  # the caller is speaking or keying: no silence until our next words
        if kind == "setup":
            return self._setup(message), False
        if kind == "prompt":
            self.partial = f"{self.partial} {message.get('voicePrompt') or ''}".strip()
            if message.get("last", True) is False:
                return [], False  # more of the same utterance is coming
            text, self.partial = self.partial, ""
            return self._turn(text or None), True
        if kind == "dtmf":
            digit = str(message.get("digit") or "")
            if digit != "#":
                self.digits += digit
            if digit == "#" or len(self.digits) >= DIGITS_FOR.get(self.step, 1):
                text, self.digits = self.digits, ""
                return self._turn(text or None), True
            return [], False
        if kind == "interrupt":
            call_actions.note_interruption(self.call_id, str(message.get("utteranceUntilInterrupt") or ""),
                                           message.get("durationUntilInterruptMs"))
            return [], False
        if kind == "error":
            logger.warning("call %s: ConversationRelay error: %s", self.call_id, message.get("description"))
        return [], False

    def close(self) -> None:
        """The script is done: the reply times go on the call and its timeline (once)."""
        times, self.reply_ms = self.reply_ms, []
        call_actions.record_reply_times(self.call_id, times, clock())

    # -- pieces -------------------------------------------------------------------------
    def _setup(self, message: dict) -> list[dict]:
        """The greeting the first document prepared (the call's last turn), now spoken over the socket."""
        call = Call.objects.get(pk=self.call_id)
        sid = str(message.get("callSid") or "")
        if call.provider_id and sid and sid != call.provider_id:
            logger.warning("call %s: a relay session for another call (%s) was refused", self.call_id, sid)
            self.ended = True
            return [{"type": "end", "handoffData": json.dumps({"refused": "another call"})}]
        self.call_sid = sid or call.provider_id
        last = call.dialog_state.get("last_turn") or {}
        self.step = call.dialog_state.get("step", "")
        self.lang = last.get("lang", "en-US")
        return self._speak(last.get("say", ""), self.lang, [tuple(p) for p in last.get("parts", ())],
                           done=bool(last.get("done")), transfer_to=last.get("transfer_to"))

    def _turn(self, text: str | None) -> list[dict]:
        from duedesk.conversations import calls as conversation
        from duedesk.conversations import hotline

        self.turns += 1
        call = Call.objects.only("idempotency_key").get(pk=self.call_id)
        hear = hotline.heard if hotline.is_incoming(call) else conversation.heard
        turn = hear(self.call_id, text, clock(), turn_key=f"{self.call_sid or self.call_id}:{self.turns}")
        self.step = turn.state.get("step", "")
        return self._speak(turn.say, turn.lang, list(turn.parts), done=turn.done, transfer_to=turn.transfer_to,
                           outcome=turn.outcome)

    def _speak(self, say: str, lang: str, parts: list, *, done: bool, transfer_to: str | None = None,
               outcome: str | None = None) -> list[dict]:
        out: list[dict] = []
        parts = [(text, part_lang) for text, part_lang in (parts or [(say, lang)]) if text]
        if lang and lang != self.lang:  # the caller chose Spanish: recognition and voice follow
            out.append({"type": "language", "ttsLanguage": lang, "transcriptionLanguage": lang})
            self.lang = lang
        for i, (text, part_lang) in enumerate(parts):
            token = {"type": "text", "token": text, "last": i == len(parts) - 1}
            if part_lang != self.lang:
                token["lang"] = part_lang  # "Para español, oprima dos" in a Spanish voice
            out.append(token)
        words = sum(len(text.split()) for text, _ in parts)
        self.waiting = None if done else words / WORDS_PER_SECOND + SILENCE_SECONDS
        if done:
            self.ended = True
            out.append({"type": "end", "handoffData": json.dumps({"outcome": outcome, "transfer_to": transfer_to})})
        return out


# ---- the socket ---------------------------------------------------------------------------------


def _call_id(path: str) -> int | None:
    value = (parse_qs(urlsplit(path).query).get("call") or [""])[0]
    return int(value) if value.isdigit() else None


def check_handshake(ws, request):
    """Before the upgrade: the call named in the address exists and the request is signed by its organization."""
    try:
        call_id = _call_id(request.path)
        call = Call.objects.select_related("organization").filter(pk=call_id).first() if call_id else None
        token = twilio.auth_token(call.organization) if call is not None else ""
        query = urlsplit(request.path).query
        url = f"{settings.VOICE_RELAY_URL}?{query}"
        if not token or not signing.validate(token, url, {}, request.headers.get("X-Twilio-Signature")):
            logger.warning("relay handshake refused for %s", request.path)
            return ws.respond(HTTPStatus.FORBIDDEN, "Signature check failed.\n")
        return None
    finally:
        connection.close()  # this thread's; the conversation opens its own


def handle(ws) -> None:
    """One call: messages until the script ends (we send `end`) or Twilio closes the socket."""
    close_old_connections()
    session = Session(_call_id(ws.request.path))
    try:
        while True:
            try:
                raw = ws.recv(timeout=session.waiting)
            except TimeoutError:
                raw = None
            started = time.perf_counter()
            if raw is None:
                out, timed = session.silence(), True
            else:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                out, timed = session.receive(message if isinstance(message, dict) else {})
            for item in out:
                if item["type"] == "end":  # the words are out: the times are kept before Twilio moves on
                    break
                ws.send(json.dumps(item))
            if timed:
                session.reply_ms.append(round((time.perf_counter() - started) * 1000))
            if session.ended:
                session.close()
                ws.send(json.dumps(out[-1]))
                return
    except ConnectionClosed:
        pass  # the caller hung up: the status callback ends the call
    except Exception:
        logger.exception("call %s: the relay session failed", session.call_id)
        try:
            ws.send(json.dumps({"type": "end", "handoffData": json.dumps({"outcome": "error"})}))
        except Exception:
            pass  # the socket is gone: the call's status callback ends it
    finally:
        try:
            if session.reply_ms:  # the caller hung up mid-call: the turns they had still count
                session.close()
        except Exception:
            logger.exception("call %s: the reply times could not be kept", session.call_id)
        connection.close()


def server(host: str = "127.0.0.1", port: int = 8765):
    """The threaded WebSocket server (`duedesk relay`); port 0 picks a free one (tests)."""
    from websockets.sync.server import serve

    return serve(handle, host, port, process_request=check_handshake)
