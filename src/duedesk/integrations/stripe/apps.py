from django.apps import AppConfig


class StripeConfig(AppConfig):
    name = "duedesk.integrations.stripe"
    label = "stripe_payments"
    verbose_name = "Stripe payments"
