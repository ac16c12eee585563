from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "duedesk.api"
    label = "api"
    verbose_name = "JSON API"
