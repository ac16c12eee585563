from django.urls import path

from duedesk.integrations.stripe import webhooks

urlpatterns = [path("hooks/stripe", webhooks.stripe_webhook, name="stripe-webhook")]
