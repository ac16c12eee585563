from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "duedesk.intake"
    label = "intake"
    verbose_name = "Imports"
    default_auto_field = "django.db.models.BigAutoField"
