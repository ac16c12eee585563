"""Twilio's webhooks at stable paths (clinics paste the incoming text and call ones into Twilio's console)."""

from django.urls import path

from duedesk.integrations.twilio import webhooks

urlpatterns = [
    path("hooks/twilio/sms", webhooks.sms_inbound, name="twilio-sms"),
    path("hooks/twilio/sms/status", webhooks.sms_status, name="twilio-sms-status"),
    path("hooks/twilio/voice/incoming", webhooks.voice_incoming, name="twilio-voice-incoming"),
    path("hooks/twilio/voice/answer", webhooks.voice_answer, name="twilio-voice-answer"),
    path("hooks/twilio/voice/turn", webhooks.voice_turn, name="twilio-voice-turn"),
    path("hooks/twilio/voice/amd", webhooks.voice_amd, name="twilio-voice-amd"),
    path("hooks/twilio/voice/relay-end", webhooks.voice_relay_end, name="twilio-voice-relay-end"),
    path("hooks/twilio/voice/status", webhooks.voice_status, name="twilio-voice-status"),
]
