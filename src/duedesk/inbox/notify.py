"""Telling a person that a handoff is waiting: email to the assignee or the billing address. Runs after the
handoff is committed; a failure is logged, never raised. (A Slack-compatible chat notice is a webhook
endpoint of the kind "chat": integrations/webhooks.)"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from duedesk.records.models import Handoff

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
