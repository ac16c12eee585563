"""The transport interface every channel implements (simulated, Twilio, SMTP).

The engine calls `send` after it has committed the message row as `sending`; it never calls it twice
for one idempotency key unless `lookup` said the provider has no such message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from duedesk.channels.errors import TransportError  # noqa: F401  (re-exported for callers)


@dataclass(frozen=True)
class Outgoing:
    channel: str  # "sms" | "email"
    to: str
    body: str
    idempotency_key: str
    sender: str = ""
    subject: str = ""
    html: str = ""
    status_callback: str = ""
    organization_id: int | None = None
    # Seconds the text may wait for its sender's slot under the rate limit before it goes to the provider's own
    # queue (None: as long as the pace needs). A reply decided in a conversation is bounded, so how long its
    # send can take is known (its lease, engine/actions/sends.py).
    max_wait: float | None = None


@dataclass(frozen=True)
class CallRequest:
    to: str
    sender: str
    idempotency_key: str
    call_id: int  # our Call row, so answer/status webhooks find it
    answer_url: str = ""
    status_callback: str = ""
    amd_callback: str = ""
    record: bool = False
    organization_id: int | None = None
    twiml: str = ""  # what the call says, inline instead of answer_url (a test call, with no Call row)


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    status: str = "queued"
    extra: dict = field(default_factory=dict)


class Transport(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Accepted: ...

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        """The provider's record of a send we are unsure about, or None if it has none."""
        ...


class VoiceTransport(Protocol):
    name: str

    def place_call(self, req: CallRequest) -> Accepted: ...

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None: ...


class LineTypes(Protocol):
    """Which kind of line a number is (a provider's lookup, e.g. Twilio Lookup v2's line type intelligence)."""

    def line_type(self, number: str) -> tuple[str, str]:
        """(type, carrier): "landline", "mobile", "fixedVoip", ... or "unknown" when the provider has none for
        the number. Raises TransportError when it could not be asked."""
        ...
