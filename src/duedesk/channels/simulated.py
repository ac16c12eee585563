"""Simulated transports: they record what they would send in their own table and answer lookups
from it, so the engine cannot tell them from a real provider. Calls are answered later by whoever
registered a callee (the simulator's patients); with none, nobody picks up."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import datetime

from duedesk.channels.base import Accepted, CallRequest, Outgoing
from duedesk.channels.models import SimulatedSend
from duedesk.records import bulk

_COLUMNS = ("channel", "to", "body", "idempotency_key", "provider_id", "at")  # a SimulatedSend's, as send_many writes


class SimulatedTransport:
    name = "simulated"

    def __init__(self, clock: Callable[[], datetime]):
        self.clock = clock
        self._ids = itertools.count(1)

    def _provider_id(self, prefix: str) -> str:
        return prefix + os.urandom(16).hex()  # as random as uuid4's hex (Twilio's length), without building a UUID

    def send(self, msg: Outgoing) -> Accepted:
        pid = self._provider_id("SM" if msg.channel == "sms" else "EM")
        SimulatedSend.objects.create(
            channel=msg.channel, to=msg.to, body=msg.body, idempotency_key=msg.idempotency_key,
            provider_id=pid, at=self.clock(),
        )
        return Accepted(pid, "sent")

    def send_many(self, msgs: list[Outgoing]) -> list[Accepted]:
        """A batch in one write: all recorded or none (a crash before it returns is reconciled by lookup)."""
        rows = [(m.channel, m.to, m.body, m.idempotency_key, self._provider_id("SM" if m.channel == "sms" else "EM"),
                 self.clock()) for m in msgs]
        bulk.insert_values(SimulatedSend, _COLUMNS, rows)
        return [Accepted(provider_id, "sent") for _, _, _, _, provider_id, _ in rows]

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        row = SimulatedSend.objects.filter(idempotency_key=idempotency_key).first()
        return Accepted(row.provider_id, "sent") if row else None


class SimulatedVoice(SimulatedTransport):
    """Places calls into a queue; `answer_pending` lets the registered callee pick them up."""

    def __init__(self, clock: Callable[[], datetime]):
        super().__init__(clock)
        self.placed: list[int] = []

    def place_call(self, req: CallRequest) -> Accepted:
        pid = self._provider_id("CA")
        SimulatedSend.objects.create(
            channel="call", to=req.to, body=req.twiml, idempotency_key=req.idempotency_key, provider_id=pid,
            at=self.clock(),
        )
        self.placed.append(req.call_id)
        return Accepted(pid, "queued")

    def take_placed(self) -> list[int]:
        placed, self.placed = self.placed, []
        return placed


class SimulatedLineTypes:
    """Line types as a scenario sets them (number -> "landline"); any other number is a mobile."""

    def __init__(self, types: dict[str, str] | None = None):
        self.types = dict(types or {})
        self.asked: list[str] = []

    def line_type(self, number: str) -> tuple[str, str]:
        self.asked.append(number)
        return self.types.get(number, "mobile"), "simulated"
