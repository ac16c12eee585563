from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "duedesk.web"
    label = "web"
    verbose_name = "Staff workspace"
