"""Which transport each organization's messages go through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from duedesk.channels.simulated import SimulatedTransport, SimulatedVoice


@dataclass
class Transports:
    sms: Any
    voice: Any
    email: Any
    lines: Any = None  # a LineTypes lookup (channels/base.py), or None where there is none to ask

    def for_channel(self, channel: str):
        return {"sms": self.sms, "call": self.voice, "email": self.email}[channel]


def simulated(clock: Callable[[], datetime]) -> Transports:
    return Transports(sms=SimulatedTransport(clock), voice=SimulatedVoice(clock), email=SimulatedTransport(clock))


class PerOrganization:
    """Real transports for organizations with credentials, the simulated ones for the rest."""

    def __init__(self, clock: Callable[[], datetime], factory: Callable | None = None):
        self.fallback = simulated(clock)
        self.factory = factory
        self._cache: dict[int, Transports] = {}

    def __call__(self, org) -> Transports:
        if self.factory is None:
            return self.fallback
        if org.pk not in self._cache:
            self._cache[org.pk] = self.factory(org) or self.fallback
        return self._cache[org.pk]
