from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "duedesk.integrations.calendars"
    label = "calendars"
    verbose_name = "Calendars"
