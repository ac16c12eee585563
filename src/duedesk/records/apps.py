from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "duedesk.records"
    label = "records"
    verbose_name = "Records"

    def ready(self):
        # The core reads no environment: hand it the language settings read in settings.py.
        from django.conf import settings

        from duedesk.core.nlu import llm, model
        from duedesk.records import (
            adapters,
            bulk,  # noqa: F401 - registers the `__any` lookup
        )

        model.configure(enabled=settings.NLU_MODEL)
        llm.configure(**settings.LLM)
        adapters.install()
