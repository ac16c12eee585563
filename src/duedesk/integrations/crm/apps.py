from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "duedesk.integrations.crm"
    label = "crm"
    verbose_name = "CRM sync"

    def ready(self):
        # Every touch the engine writes on the timeline is queued for the CRM in the same transaction.
        from duedesk.integrations.crm import outbox
        from duedesk.records import timeline

        timeline.on_written(outbox.enqueue_events)
