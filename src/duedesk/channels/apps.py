from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "duedesk.channels"
    label = "channels"
    verbose_name = "Channels"
