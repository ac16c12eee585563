"""A clinic's CRM connection and its durable sync state: field mapping, links between our contacts and the
CRM's records, the pull cursor, the outbox of writes, and the webhook deliveries already handled."""

import secrets

from django.db import models

from duedesk.records.fields import EncryptedTextField
from duedesk.records.models import Contact, Event, Organization

PROVIDERS = [("hubspot", "HubSpot"), ("salesforce", "Salesforce"), ("pipedrive", "Pipedrive")]

# Our side of the mapping: what each field means, and who owns it (docs/integrations.md).
FIELDS = [
    ("due_date", "Due date"),
    ("balance", "Balance"),
    ("invoice_ref", "Invoice reference"),
    ("outreach", "Outreach switch (on/off)"),
    ("language", "Language"),
    ("timezone", "Time zone"),
    ("date_of_birth", "Date of birth"),
    ("last_outcome", "Last outcome (written by duedesk)"),
    ("promise_date", "Promised payment date (written by duedesk)"),
]


def _webhook_key() -> str:
    return secrets.token_urlsafe(16)


class Connection(models.Model):
    STATUSES = [
        ("active", "Syncing"),
        ("auth_failed", "The CRM refused the token"),
        ("disconnected", "Disconnected"),
    ]
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="crm_connections")
    provider = models.CharField(max_length=20, choices=PROVIDERS)
    status = models.CharField(max_length=20, choices=STATUSES, default="active")
    # Secrets never live here in plain text: either the NAMES of the environment variables that hold them
    # (settings.CRM_SECRETS), or the secret itself encrypted with DUEDESK_FIELD_KEYS (records/fields.py).
    token_env = models.CharField(max_length=64, blank=True)
    token_encrypted = EncryptedTextField(blank=True, help_text="the token, encrypted at rest (when no variable)")
    webhook_secret_env = models.CharField(max_length=64, blank=True)
    webhook_secret_encrypted = EncryptedTextField(blank=True)
    webhook_key = models.CharField(max_length=32, unique=True, default=_webhook_key)
    owner_id = models.CharField(max_length=64, blank=True, help_text="CRM owner who gets handoff tasks")
    # OAuth 2 (Salesforce): the connected app's consumer key, the NAMES of the variables holding its secret,
    # the refresh token or the JWT bearer's private key, the user a JWT names, and the access token the
    # token endpoint last gave (kept encrypted: it replaces the expired one until the next refresh).
    client_id = models.CharField(max_length=255, blank=True, help_text="the connected app's consumer key")
    client_secret_env = models.CharField(max_length=64, blank=True)
    refresh_token_env = models.CharField(max_length=64, blank=True)
    refresh_token_encrypted = EncryptedTextField(blank=True, help_text="the refresh token Salesforce gave when an "
                                                 "owner signed in from Settings → Integrations")
    private_key_env = models.CharField(max_length=64, blank=True)
    jwt_username = models.CharField(max_length=255, blank=True)
    session_encrypted = EncryptedTextField(blank=True, help_text="the access token the token endpoint last gave")
    api_usage = models.CharField(max_length=64, blank=True, help_text="the CRM's count of today's API requests")
    write_balance = models.BooleanField(default=True, help_text="A payment in duedesk writes the balance back")
    rate_limit = models.PositiveIntegerField(default=100, help_text="requests per rate window")
    rate_window = models.FloatField(default=10.0, help_text="seconds")
    pull_every = models.PositiveIntegerField(default=300, help_text="seconds between pulls")
    # The pull: an initial full sync page by page (full_sync_after is the next page), then by cursor.
    full_sync_done = models.BooleanField(default=False)
    full_sync_after = models.CharField(max_length=200, blank=True)
    cursor = models.CharField(max_length=64, blank=True, help_text="last modification time seen in the CRM")
    pulled_total = models.PositiveIntegerField(default=0)
    next_pull_at = models.DateTimeField(null=True, blank=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_pull_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="the CRM asked us to slow down")
    alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "provider"], name="one_connection_per_crm")]

    def __str__(self):
        return f"{self.get_provider_display()} for {self.organization}"


class FieldMapping(models.Model):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="mappings")
    field = models.CharField(max_length=20, choices=FIELDS)
    crm_property = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "field"], name="one_property_per_field")]


class CrmLink(models.Model):
    """Our contact is this record in the CRM."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="crm_links")
    crm_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "crm_id"], name="one_contact_per_crm_record"),
            models.UniqueConstraint(fields=["connection", "contact"], name="one_crm_record_per_contact"),
        ]


class OutboxItem(models.Model):
    """One timeline event to write to the CRM. Claimed like the engine's steps; done once."""

    STATUSES = [("pending", "Queued"), ("claimed", "Being written"), ("done", "Written"), ("failed", "Failed")]
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="crm_outbox")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=STATUSES, default="pending")
    attempts = models.PositiveIntegerField(default=0)
    run_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True, help_text="the CRM's answer, in words")
    crm_id = models.CharField(max_length=64, blank=True, help_text="the activity the CRM made")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "event"], name="one_write_per_event")]
        indexes = [models.Index(fields=["connection", "status", "run_at"], name="crm_outbox_due")]


class WebhookReceipt(models.Model):
    """A CRM webhook delivery already applied: a redelivery changes nothing (exactly once)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="receipts")
    delivery_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "delivery_id"], name="one_receipt_per_delivery")]
