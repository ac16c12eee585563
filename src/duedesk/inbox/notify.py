"""Telling a person that a handoff is waiting: email to the assignee or the billing address. Runs after the
handoff is committed; a failure is logged, never raised. (A Slack-compatible chat notice is a webhook
endpoint of the kind "chat": integrations/webhooks.)"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from duedesk.records.models import Handoff, Membership, Organization

logger = logging.getLogger("duedesk.inbox")


def on_handoff_opened(sender, handoff_id: int, **_) -> None:
    handoff_opened(handoff_id)


def handoff_opened(handoff_id: int) -> None:
    handoff = Handoff.objects.select_related("organization", "contact", "assignee").filter(pk=handoff_id).first()
    if handoff is None:
        return
    org = handoff.organization
    # The minimum: the reason and a link. Patient details stay behind the login.
    link = f"{settings.PUBLIC_URL}/inbox/{handoff.pk}/"
    subject = f"[{org.name}] New handoff: {handoff.reason_label()}"
    body = f"A conversation needs a person ({handoff.reason_label()}).\n\nOpen it: {link}\n"
    recipient = handoff.assignee.email if handoff.assignee and handoff.assignee.email else org.billing_email
    if recipient:
        try:
            send_mail(subject, body, org.email_from or settings.DEFAULT_FROM_EMAIL, [recipient])
        except Exception:
            logger.exception("could not email handoff %s", handoff.pk)


CHANNEL_NAMES = {"sms": "Texts", "call": "Calls", "email": "Email"}


def on_channel_paused(sender, organization_id: int, channel: str, **_) -> None:
    channel_paused(organization_id, channel)


def channel_paused(organization_id: int, channel: str) -> None:
    """The organization's owners (else its billing address) learn, once per pause, that a channel stopped
    because the provider refused our account or sender, and where to resume it."""
    org = Organization.objects.filter(pk=organization_id).first()
    if org is None or channel not in org.paused_channels:
        return
    why = org.paused_channels[channel]
    owners = sorted(set(Membership.objects.filter(organization=org, role="owner")
                        .exclude(user__email="").values_list("user__email", flat=True)))
    recipients = owners or ([org.billing_email] if org.billing_email else [])
    if not recipients:
        logger.warning("%s: %s paused and nobody to tell", org.slug, channel)
        return
    name = CHANNEL_NAMES.get(channel, channel)
    subject = f"[{org.name}] {name} are paused: the provider refused our account or sender"
    body = (f"{name} to patients are paused for {org.name}: the provider refused our account, sender number or "
            f"request, so nothing about any patient was changed.\n\n"
            f"What it said: {why.get('error') or 'no details'} (error {why.get('code') or 'without a code'})\n\n"
            f"Waiting reminders are held, not lost. Fix the account or sender, then resume {name.lower()} under "
            f"Settings: {settings.PUBLIC_URL}/settings/\n")
    try:
        send_mail(subject, body, org.email_from or settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("could not email the owners of %s about the paused %s channel", org.slug, channel)
