"""Twilio for SMS and voice: REST client, error codes, webhook signatures, and a local fake."""

from duedesk.channels.errors import TransportError, backoff_delay, retry_delay
from duedesk.integrations.twilio.errors import channel_effect, describe, is_permanent
from duedesk.integrations.twilio.rest import TwilioRest
from duedesk.integrations.twilio.signing import sign, validate

__all__ = [
    "TransportError",
    "TwilioRest",
    "backoff_delay",
    "channel_effect",
    "describe",
    "is_permanent",
    "retry_delay",
    "sign",
    "validate",
]
