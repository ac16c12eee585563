"""TwiML for our webhooks, built with the twilio package (so text is always escaped).

A turn of the call script becomes: <Gather> around a <Say> when the patient should answer (speech or
keypad; an empty gather still calls the action, so silence is a turn too), else <Say> then <Dial>
to a person or <Hangup/>.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

VOICES = {"en-US": "Polly.Joanna", "es-US": "Polly.Lupe"}
GATHER_TIMEOUT = 6  # seconds of silence before the gather gives up


def empty_messaging() -> str:
    """An answer that says nothing back."""
    return str(MessagingResponse())


def messages(replies: list[tuple[str, str]]) -> str:
    """Replies to an inbound text, each with the URL its statuses are reported to."""
    response = MessagingResponse()
    for body, status_callback in replies:
        response.message(body, status_callback=status_callback)
    return str(response)


def empty_voice() -> str:
    return str(VoiceResponse())


def _say(parent, text: str, lang: str) -> None:
    if text:
        parent.say(text, language=lang, voice=VOICES.get(lang))


def _say_all(parent, say: str, lang: str, parts) -> None:
    """The turn's words; in more than one language, each part in its own voice."""
    for text, part_lang in parts or ((say, lang),):
        _say(parent, text, part_lang)


def for_turn(say: str, lang: str, *, listen: bool, transfer_to: str | None, action_url: str,
             caller_id: str | None = None, parts=()) -> str:
    response = VoiceResponse()
    if listen:
        gather = Gather(
            input="speech dtmf",
            action=action_url,
            method="POST",
            language=lang,
            speech_timeout="auto",
            timeout=GATHER_TIMEOUT,
            action_on_empty_result=True,
        )
        _say_all(gather, say, lang, parts)
        response.append(gather)
        return str(response)
    _say_all(response, say, lang, parts)
    if transfer_to:
        if caller_id:
            response.dial(transfer_to, caller_id=caller_id)
        else:
            response.dial(transfer_to)
    else:
        response.hangup()
    return str(response)


def voicemail(text: str, lang: str = "en-US") -> str:
    """What the answering machine records: the limited-content message, then we hang up."""
    response = VoiceResponse()
    _say(response, text, lang)
    response.hangup()
    return str(response)


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def relay(url: str, lang: str, action_url: str, parameters: dict[str, str]) -> str:
    """Streaming voice: <Connect><ConversationRelay> hands the call's speech to our WebSocket (integrations/
    twilio/relay.py) as text turns; the caller can speak or press keys over the assistant (barge-in), and when we
    end the session Twilio asks `action_url` what comes next (a transfer, or hanging up)."""
    response = VoiceResponse()
    connect = response.connect(action=action_url, method="POST")
    conversation = connect.conversation_relay(url=url, language=lang, interruptible="any", dtmf_detection=True)
    for name, value in parameters.items():
        conversation.parameter(name=name, value=value)
    return str(response)
