from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "duedesk.integrations.calendars"
    label = "calendars"
    verbose_name = "Calendars"

    def ready(self):
        # A promise's change, or a callback asked for, is queued for the connected calendars in the same
        # transaction as the change.
        from duedesk.integrations.calendars import outbox
        from duedesk.records import timeline

        timeline.on_written(outbox.enqueue_events)
