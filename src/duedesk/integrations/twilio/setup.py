"""What the Twilio page in Settings (and `duedesk doctor`) says: what is missing, in words; the webhook
addresses to paste into Twilio's console; and a test text and a test call to a staff member's own phone."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duedesk.channels.base import CallRequest
from duedesk.channels.simulated import SimulatedVoice
from duedesk.integrations.twilio import twiml
from duedesk.integrations.twilio.transport import TwilioVoice, channel_status, rest_for

# (what Twilio's console calls the field, in its own English; our webhook's URL name; where it is set, in the
# pages' language)
_EACH_TEXT = gettext_lazy("sent with each text; nothing to paste")
_EACH_CALL = gettext_lazy("sent with each call; nothing to paste")
WEBHOOKS = [
    ("A message comes in", "twilio-sms", gettext_lazy("the number's (or Messaging Service's) messaging settings")),
    ("A call comes in", "twilio-voice-incoming", gettext_lazy("the number's voice settings: patients calling back")),
    ("Message status", "twilio-sms-status", _EACH_TEXT),
    ("Call answered", "twilio-voice-answer", _EACH_CALL),
    ("Each turn of a call", "twilio-voice-turn", _EACH_CALL),
    ("Answering machine detection", "twilio-voice-amd", _EACH_CALL),
    ("Call status", "twilio-voice-status", _EACH_CALL),
]


def webhook_urls() -> list[dict]:
    return [{"label": label, "url": f"{settings.PUBLIC_URL}{reverse(name)}", "where": where}
            for label, name, where in WEBHOOKS]


def missing(org) -> list[str]:
    """What stops texts and calls going through Twilio for this organization, in words ([] when nothing), in the
    language active (the pages' on the Twilio page; English for `duedesk doctor`)."""
    problems = []
    if not (org.twilio_account_sid or settings.TWILIO_ACCOUNT_SID):
        problems.append(_("no account SID: enter it here, or set DUEDESK_TWILIO_ACCOUNT_SID on the server"))
    name = (org.twilio_auth_token_env or "").strip()
    if not name:
        problems.append(_("no environment variable is named for the auth token"))
    elif not settings.TWILIO_TOKEN_ENV_NAME.match(name):
        problems.append(_("the auth token's variable %(name)s is not allowed: its name must contain TWILIO")
                        % {"name": name})
    elif not settings.TWILIO_AUTH_TOKENS.get(name):
        problems.append(_("the auth token's variable %(name)s is not set in the server's environment") % {"name": name})
    if not (org.sms_from or org.messaging_service_sid):
        problems.append(_("no sender number or Messaging Service: texts are simulated"))
    if not (org.voice_caller_id or org.sms_from):
        problems.append(_("no caller ID: calls are simulated"))
    if not org.callback_number:
        problems.append(_("no callback number: automated texts wait until there is one (a HELP reply must name it)"))
    return problems


def send_test_text(org, to: str) -> str:
    """A test text through the organization's Twilio account; Twilio's message SID. Raises ValueError when
    Twilio is not set up, TransportError with Twilio's own words when it refuses."""
    rest = rest_for(org)
    if rest is None or not (org.sms_from or org.messaging_service_sid):
        raise ValueError(_("Twilio is not set up yet: %(missing)s") % {"missing": "; ".join(missing(org))})
    body = f"{org.name}: this is a test text from duedesk. Texts to patients are set up."
    data = rest.send_message(to=to, body=body, from_=org.sms_from or None,
                             messaging_service_sid=org.messaging_service_sid or None,
                             idempotency_key=f"test-{uuid.uuid4()}")
    return data["sid"]


def test_call_words(org) -> str:
    """What a test call says: the organization and that it is a test; nothing about any patient."""
    return f"This is a test call from duedesk for {org.name}. Calls to patients are set up. Goodbye."


def place_test_call(org, to: str) -> tuple[str, bool]:
    """A short call to `to` that says test_call_words and hangs up, through the organization's call transport:
    Twilio's when it is set up for calls, else the simulated one (no phone rings). (The call's SID, whether it
    was simulated.) Raises TransportError with Twilio's own words when it refuses."""
    simulated = channel_status(org)["call"] != "twilio"
    voice = SimulatedVoice(timezone.now) if simulated else TwilioVoice(rest_for(org), org)
    accepted = voice.place_call(CallRequest(to=to, sender="", idempotency_key=f"test-{uuid.uuid4()}", call_id=0,
                                            twiml=twiml.voicemail(test_call_words(org))))
    return accepted.provider_id, simulated
