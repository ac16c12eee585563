"""What duedesk keeps of an organization's Stripe account. Secrets never live here: the secret key and
the webhook signing secret come from the environment variables the organization names."""

from django.db import models

from duedesk.records.models import Invoice, Organization


class StripeAccount(models.Model):
    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="stripe_account")
    secret_key_env = models.CharField(max_length=64, default="DUEDESK_STRIPE_SECRET_KEY",
                                      help_text="Name of the environment variable holding the secret key (sk_…)")
    webhook_secret_env = models.CharField(max_length=64, default="DUEDESK_STRIPE_WEBHOOK_SECRET",
                                          help_text="Name of the environment variable holding the whsec_… secret")
    success_url = models.URLField(blank=True, help_text="Where the patient lands after paying")

    def __str__(self):
        return f"Stripe for {self.organization}"


class CheckoutLink(models.Model):
    """One Checkout Session made for an invoice's balance. A text reuses it while it is open, for the same
    amount and not about to expire; otherwise a new one is made and the old one expired."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="checkout_links")
    session_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=2000)
    amount = models.BigIntegerField(help_text="In the currency's minor unit, as Stripe counts it")
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, default="open")  # open, complete, expired
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["invoice", "status"])]


class StripePayment(models.Model):
    """A payment Stripe told us about, once per PaymentIntent (Checkout and the PaymentIntent both report it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="stripe_payments")
    payment_intent = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    refunded = models.BigIntegerField(default=0)
    recorded_at = models.DateTimeField()


class StripeEvent(models.Model):
    """Every webhook event is acted on once: its id is stored in the transaction that acts on it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField()


class StripeInvoice(models.Model):
    """An invoice a clinic bills with Stripe Invoicing: its pay link is Stripe's hosted invoice page, where the
    patient can also update the card."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="stripe_invoice")
    stripe_id = models.CharField(max_length=255, unique=True)
    hosted_url = models.URLField(max_length=2000, blank=True)
