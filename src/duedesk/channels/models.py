from django.db import models


class SimulatedSend(models.Model):
    """What the simulated transports would have sent: the transport's own record, kept apart from
    the engine's rows so tests can check one against the other (no unique key: duplicates must show)."""

    channel = models.CharField(max_length=10)
    to = models.CharField(max_length=254)
    body = models.TextField()
    idempotency_key = models.CharField(max_length=120, db_index=True)
    provider_id = models.CharField(max_length=64)
    at = models.DateTimeField()


class SenderSlot(models.Model):
    """The rate limiter's state for one sender (a number or messaging service): the moment, in
    seconds since the epoch, of the last send slot handed out. All workers share it on PostgreSQL."""

    sender = models.CharField(max_length=80, unique=True)
    last_slot = models.FloatField(default=0.0)
