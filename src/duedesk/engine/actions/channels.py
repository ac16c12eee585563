"""An organization's channels: paused when the provider refuses our account, sender or request (not the
patient's number), and resumed by a person once the cause is fixed."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from duedesk.engine import signals
from duedesk.engine.models import Step
from duedesk.records.models import Organization
from duedesk.records.timeline import log


def pause_channel(organization_id: int, channel: str, now: datetime, *, code: str = "", error: str = "") -> bool:
    """Stop the organization's sends on `channel` (its steps are held, not failed) and tell its owners, once:
    a channel already paused stays as it is. Returns whether it was paused now."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization_id)
        if channel in org.paused_channels:
            return False
        org.paused_channels[channel] = {"at": now.isoformat(), "code": code, "error": error}
        org.save(update_fields=["paused_channels"])
        log(org, "channel.paused", now, channel=channel, code=code, error=error)
        transaction.on_commit(lambda: signals.channel_paused.send(
            sender=Organization, organization_id=org.pk, channel=channel))
        return True


def resume_channel(org: Organization, channel: str, now: datetime, *, actor: str = "staff") -> bool:
    """A person fixed the cause: the channel sends again, and the steps it held are due now."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=org.pk)
        if channel not in org.paused_channels:
            return False
        paused = org.paused_channels.pop(channel)
        org.save(update_fields=["paused_channels"])
        held = list(Step.objects.filter(organization_id=org.pk, kind=channel, status="held",
                                        enrollment__status__in=("active", "waiting")).values_list("pk", flat=True))
        Step.objects.filter(pk__in=held, run_at__lt=now).update(run_at=now)  # overdue: due now; later ones keep their day
        released = Step.objects.filter(pk__in=held).update(status="pending", lease_until=None)
        log(org, "channel.resumed", now, channel=channel, actor=actor, code=paused.get("code", ""),
            steps=released)
        return True


def channel_paused(organization_id: int, channel: str) -> dict | None:
    """Why the organization's channel is paused, read fresh (None: it isn't)."""
    paused = Organization.objects.filter(pk=organization_id).values_list("paused_channels", flat=True).first()
    return (paused or {}).get(channel)


__all__ = ["channel_paused", "pause_channel", "resume_channel"]
