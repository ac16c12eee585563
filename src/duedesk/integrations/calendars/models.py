"""A staff member's private calendar feed. The feed's address is its secret: only a SHA-256 of the token is
kept (as for API keys), the whole address is shown once, and revoking it makes the old address a 404."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

from duedesk.records.fields import EncryptedJSONField
from duedesk.records.models import Organization


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeed(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calendar_feeds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    hashed_token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def create(cls, organization, user, now) -> tuple[CalendarFeed, str]:
        """A new feed for the user (their earlier one is revoked); returns it with its token, shown once."""
        cls.objects.filter(organization=organization, user=user, revoked_at=None).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        return cls.objects.create(organization=organization, user=user, hashed_token=digest(token),
                                  created_at=now), token


class Connection(models.Model):
    """A staff member's own Google or Outlook calendar, connected by OAuth. Its tokens are kept encrypted
    (records/fields.py). `promises`: the organization's billing calendar, where promises to pay are written;
    `callbacks`: patients' callback requests are booked on this person's calendar."""

    PROVIDERS = [("google", "Google Calendar"), ("microsoft", "Outlook (Microsoft 365)")]
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calendar_connections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections")
    provider = models.CharField(max_length=10, choices=PROVIDERS)
    account = models.CharField(max_length=200, blank=True)  # the calendar's address, as the provider names it
    calendar_id = models.CharField(max_length=200, default="primary")
    tokens = EncryptedJSONField(default=dict, blank=True)  # access_token, refresh_token
    promises = models.BooleanField(default=True)
    callbacks = models.BooleanField(default=False)
    status = models.CharField(max_length=12, default="active")  # active | auth_failed | disconnected
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user", "provider"],
                                               name="one_calendar_per_provider_per_person")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.account or self.user}"


class CalendarItem(models.Model):
    """One event we keep on one connected calendar, and the outbox row that writes it: a change marks it
    pending; the worker claims it (as the CRM outbox does), reads what the event should say now, and writes
    that. The provider's event id is stored once known, and the first write carries our own key (Google's
    event id, Graph's transactionId), so a write whose answer was lost is never made twice."""

    KINDS = [("promise", "Promise to pay"), ("callback", "Callback")]
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calendar_items")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=KINDS)
    promise = models.ForeignKey("records.Promise", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="calendar_items")
    # A callback: the call step planned for it, and the part of the day the patient asked for.
    step = models.ForeignKey("engine.Step", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="calendar_items")
    detail = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=64)  # ours: the event id on Google, the transactionId on Graph
    provider_event_id = models.CharField(max_length=300, blank=True)
    written = models.JSONField(default=dict, blank=True)  # what the calendar holds, as we last wrote it
    status = models.CharField(max_length=10, default="pending")  # pending | claimed | done | failed
    attempts = models.IntegerField(default=0)
    run_at = models.DateTimeField()
    leased_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "key"], name="one_calendar_item_per_key")]
        indexes = [models.Index(fields=["status", "run_at"])]
