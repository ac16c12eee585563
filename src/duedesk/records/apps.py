from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "duedesk.records"
    label = "records"
    verbose_name = "Records"
