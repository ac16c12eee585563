"""The transports this process uses: real ones (Twilio, SMTP) for organizations with credentials,
simulated otherwise. One instance per process, so connection pools and rate limiters are shared.

The real transports are found by the dotted path in `settings.TRANSPORTS_FOR_ORG` (as Django finds
its email backend), so the engine and conversations never import a provider's package."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from duedesk.channels.registry import PerOrganization

_instance: PerOrganization | None = None


def _real_transports(org):
    path = getattr(settings, "TRANSPORTS_FOR_ORG", "")
    if not path:
        return None
    return import_string(path)(org)


def preload() -> None:
    """Import the providers' clients (Twilio's, the payment provider's) now, as a worker starts, rather than
    during its first batch."""
    for path in (getattr(settings, "TRANSPORTS_FOR_ORG", ""), getattr(settings, "PAY_LINK_FOR_INVOICE", "")):
        if path:
            import_string(path)


def transports_for_process() -> PerOrganization:
    global _instance
    if _instance is None:
        _instance = PerOrganization(timezone.now, factory=_real_transports)
    return _instance


def use(transports: PerOrganization | None) -> None:
    """Tests and the simulator install their own transports."""
    global _instance
    _instance = transports
