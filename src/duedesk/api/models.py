"""The JSON API's own rows: an organization's API keys, and payments recorded through the API."""

from django.db import models

from duedesk.records.models import Event, Invoice, Organization


class ApiKey(models.Model):
    """A key a clinic's billing system or CRM sends as `Authorization: Bearer dd_<prefix>_<secret>`.

    Only the prefix (to find the row and to show in lists) and a SHA-256 of the secret are stored; the whole
    key is shown once, when it is made. See duedesk.api.auth for why SHA-256 and not a password hasher.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'billing system'")
    prefix = models.CharField(max_length=8, unique=True)
    hashed_secret = models.CharField(max_length=64, help_text="SHA-256 of the secret, hex")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} (dd_{self.prefix}_…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> str:
        """Who the timeline says did it."""
        return f"api:{self.name}"[:100]


class ApiPayment(models.Model):
    """A payment a connected system reported through the API.

    The billing system's own reference is unique per organization, so the same payment sent twice (a retry
    after a timeout, a re-run sync) is recorded once: the database enforces it, even for two requests at the
    same moment, which a look-up in the timeline's JSON could not.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="api_payments")
    reference = models.CharField(max_length=100, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField(null=True, blank=True, help_text="When the payer paid, as the system said")
    recorded_at = models.DateTimeField()
    event = models.ForeignKey(Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments")

    class Meta:
        verbose_name = "payment received through the API"
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], name="one_api_payment_per_reference"),
        ]


class ApiEvent(models.Model):
    """An event a connected system sent (POST /api/v1/events), once per idempotency key per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_events")
    key = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="api_events")
    workflow = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="one_event_per_key")]
