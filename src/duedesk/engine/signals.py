"""What the engine announces to the layers above it, after the change is committed.

Listeners (the inbox's notices, outbound webhooks, CRM pushes) connect in their app's `ready()`, so
the engine never imports them."""

from django.dispatch import Signal

# sent with handoff_id=<pk> once the transaction that opened the handoff has committed
handoff_opened = Signal()

# sent with organization_id=<pk>, channel=<"sms"|"call"|"email"> once the transaction that paused the
# organization's channel (the provider refused our account, sender or request) has committed
channel_paused = Signal()
