from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "duedesk.engine"
    label = "engine"
    verbose_name = "Outreach engine"
