"""A staff member's private calendar feed. The feed's address is its secret: only a SHA-256 of the token is
kept (as for API keys), the whole address is shown once, and revoking it makes the old address a 404."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

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
