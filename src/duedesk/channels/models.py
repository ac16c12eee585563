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
