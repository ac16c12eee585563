"""The fake's <Connect><ConversationRelay>: it opens the WebSocket named in the TwiML (signed as Twilio signs
the handshake), sends `setup`, hears each of our `text` turns (a token with `last` ends one) and answers it with
the callee's next line: speech as a `prompt`, keys as `dtmf` one at a time, a BargeIn as an `interrupt` (after
its first words of our turn) then the prompt. Silence leaves the app's silence timer to speak next. When the
script has run out, the caller waits for what the app does next, however long a busy machine takes: our `end`
closes the session and its `handoffData` goes to the <Connect action> URL, whose TwiML the call follows; our
going on instead (more words) is the caller hanging up, having nothing more to say."""

from __future__ import annotations

import json

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from duedesk.integrations.twilio.fake.callee import HANGUP, SILENCE, BargeIn, Press
from duedesk.integrations.twilio.signing import sign

TIMEOUT = 60.0  # seconds to wait for the app's next message (a bound, never reached by a working app)
_WORDS_PER_SECOND = 2.5


def converse(runner, verb) -> dict[str, str]:
    """Run the session; the parameters for the action URL (raises voice.HangUp when the caller hangs up)."""
    from duedesk.integrations.twilio.fake.voice import HangUp

    call = runner.call
    relay = verb.find("ConversationRelay")
    url = relay.get("url")
    lang = relay.get("language") or "en-US"
    custom = {p.get("name"): p.get("value") for p in relay.findall("Parameter")}
    session = f"VX{call.sid[2:]}"
    try:
        return _session(runner, url, lang, custom, session)
    except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as problem:
        call.errors.append(f"64101 ConversationRelay WebSocket failure: {url} ({problem})")
        raise HangUp from None


def _session(runner, url: str, lang: str, custom: dict, session: str) -> dict[str, str]:
    from duedesk.integrations.twilio.fake.voice import HangUp

    call, fake = runner.call, runner.fake
    with connect(url, additional_headers={"X-Twilio-Signature": sign(fake.auth_token, url, {})},
                 open_timeout=TIMEOUT) as ws:
        ws.send(json.dumps({"type": "setup", "sessionId": session, "accountSid": fake.account_sid, "callSid": call.sid,
                            "from": call["From"], "to": call["To"], "direction": call.direction.split("-")[0],
                            "callType": "PSTN", "callStatus": "IN-PROGRESS", "customParameters": custom}))
        said: list[str] = []  # our current turn's words, as heard
        done = False  # the caller has said all they had to say
        while True:
            message = json.loads(ws.recv(timeout=TIMEOUT))
            kind = message.get("type")
            if kind == "language":
                lang = message.get("ttsLanguage") or lang
            elif kind == "text":
                if done:
                    raise HangUp  # the app goes on, and the caller has nothing more to say
                text = " ".join(str(message.get("token") or "").split())
                call.heard.append({"verb": "ConversationRelay", "text": text,
                                   "language": message.get("lang") or lang, "voice": None})
                call.seconds += len(text.split()) / _WORDS_PER_SECOND
                said.append(text)
                if message.get("last"):
                    done = not _answer(ws, runner, " ".join(said), lang)
                    said = []
            elif kind == "end":
                return {"AccountSid": fake.account_sid, "CallSid": call.sid, "SessionId": session,
                        "SessionStatus": "ended", "HandoffData": message.get("handoffData") or ""}
            elif kind is None:
                raise HangUp


def _answer(ws, runner, turn: str, lang: str) -> bool:
    """Answer our turn with the caller's next line; False when they say nothing (the session may be ending)."""
    from duedesk.integrations.twilio.fake.voice import HangUp

    if runner.cursor >= len(runner.call.callee.lines):
        return False  # nothing more to say: the caller waits for the app to end, or hangs up when it goes on
    answer = runner._next_line()
    if answer is HANGUP:
        raise HangUp
    if answer is SILENCE:
        return True  # on the line and quiet: the app's silence timer speaks next
    call = runner.call
    if isinstance(answer, BargeIn):
        heard = turn.split()[: answer.after_words]
        ws.send(json.dumps({"type": "interrupt", "utteranceUntilInterrupt": " ".join(heard),
                            "durationUntilInterruptMs": int(len(heard) / _WORDS_PER_SECOND * 1000)}))
        answer = answer.text
    if isinstance(answer, Press):
        for digit in answer.digits:
            ws.send(json.dumps({"type": "dtmf", "digit": digit}))
        call.said.append(answer.digits)
        return True
    call.said.append(answer)
    call.seconds += 1 + len(answer.split()) / _WORDS_PER_SECOND
    ws.send(json.dumps({"type": "prompt", "voicePrompt": answer, "lang": lang, "last": True}))
    return True
