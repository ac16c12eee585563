from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "duedesk.inbox"
    label = "inbox"
    verbose_name = "Handoff inbox"
