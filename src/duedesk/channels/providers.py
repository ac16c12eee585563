"""The transports this process uses: Twilio/SMTP for organizations with credentials, simulated otherwise.
One instance per process, so connection pools and rate limiters are shared."""

from __future__ import annotations

from django.utils import timezone

from duedesk.channels.registry import PerOrganization

_instance: PerOrganization | None = None


def _real_transports(org):
    try:
        from duedesk.channels.twilio.transport import transports_for_org
    except ImportError:
        return None
    return transports_for_org(org)


def transports_for_process() -> PerOrganization:
    global _instance
    if _instance is None:
        _instance = PerOrganization(timezone.now, factory=_real_transports)
    return _instance


def use(transports: PerOrganization | None) -> None:
    """Tests and the simulator install their own transports."""
    global _instance
    _instance = transports
