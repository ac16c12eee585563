"""The payment-reminder call: a pure state machine behind the voice webhook.

See docs/call-script.md for the script, the state and the effects the shell carries out.
"""

from duedesk.core.dialog.machine import collected, respond, start, transcript
from duedesk.core.dialog.types import CallContext, Effect, Turn

__all__ = ["CallContext", "Effect", "Turn", "collected", "respond", "start", "transcript"]
