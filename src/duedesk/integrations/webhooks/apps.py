from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "duedesk.integrations.webhooks"
    label = "outbound_webhooks"
    verbose_name = "Outbound webhooks"
