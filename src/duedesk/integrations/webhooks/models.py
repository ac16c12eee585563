"""Endpoints and their deliveries. The timeline is the source: each endpoint keeps a cursor on the Event
table, and the worker turns new events into deliveries (the outbox), so nothing written by the engine,
however it was written (bulk or one by one), is missed, and no hot path waits on a receiver."""

from __future__ import annotations

import secrets

from django.db import models

from duedesk.records.models import Event, Organization


def new_secret() -> str:
    # Standard Webhooks secrets: "whsec_" + base64 of 24 random bytes.
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Endpoint(models.Model):
    KINDS = [("standard", "Signed webhook"), ("chat", "Chat notice (Slack-compatible)")]

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    kind = models.CharField(max_length=10, choices=KINDS, default="standard")
    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=new_secret)
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every type")
    include_transcripts = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    last_event_id = models.BigIntegerField(default=0, help_text="Timeline events up to here are queued")
    created_at = models.DateTimeField()

    def __str__(self):
        return self.url

    def wants(self, webhook_type: str) -> bool:
        return not self.event_types or webhook_type in self.event_types


class Delivery(models.Model):
    """One message for one endpoint; its `message_id` is the `webhook-id` header, the same on every attempt
    and on a replay, so receivers can drop duplicates."""

    STATUSES = [("pending", "Waiting"), ("delivered", "Delivered"), ("failed", "Gave up")]

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.SET_NULL, null=True, blank=True)
    message_id = models.CharField(max_length=60)
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=STATUSES, default="pending")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["endpoint", "status", "id"])]

    @property
    def last_attempt(self):
        attempts = sorted(self.log.all(), key=lambda a: a.pk)  # prefetched on the log page
        return attempts[-1] if attempts else None


class Attempt(models.Model):
    """The delivery log: each try, its answer and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
