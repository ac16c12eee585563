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
        self._cache: dict[int, tuple[str, Transports]] = {}

    def __call__(self, org) -> Transports:
        if self.factory is None:
            return self.fallback
        built_from = _settings_of(org)
        cached = self._cache.get(org.pk)
        if cached is None or cached[0] != built_from:
            cached = self._cache[org.pk] = (built_from, self.factory(org) or self.fallback)
        return cached[1]


def _settings_of(org) -> str:
    """What an organization's transports are built from: its columns as loaded. Settings an office saves (a new
    sender, account or caller ID) reach every running process at its next send, without a restart. Only the
    loaded columns: reading a deferred one would cost a query."""
    return repr([(f.attname, org.__dict__[f.attname]) for f in org._meta.concrete_fields if f.attname in org.__dict__])
