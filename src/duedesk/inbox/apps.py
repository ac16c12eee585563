from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "duedesk.inbox"
    label = "inbox"
    verbose_name = "Handoff inbox"

    def ready(self):
        from duedesk.engine.signals import channel_paused, handoff_opened
        from duedesk.inbox import notify

        handoff_opened.connect(notify.on_handoff_opened, dispatch_uid="inbox.notify")
        channel_paused.connect(notify.on_channel_paused, dispatch_uid="inbox.notify.channel_paused")
