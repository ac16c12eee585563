"""Inbound webhooks (stable paths: clinics paste them into Twilio's console) and the JSON API."""

from django.urls import path

from duedesk.api import v1, webhooks

urlpatterns = [
    path("hooks/twilio/sms", webhooks.sms_inbound, name="twilio-sms"),
    path("hooks/twilio/sms/status", webhooks.sms_status, name="twilio-sms-status"),
    path("hooks/twilio/voice/answer", webhooks.voice_answer, name="twilio-voice-answer"),
    path("hooks/twilio/voice/turn", webhooks.voice_turn, name="twilio-voice-turn"),
    path("hooks/twilio/voice/amd", webhooks.voice_amd, name="twilio-voice-amd"),
    path("hooks/twilio/voice/status", webhooks.voice_status, name="twilio-voice-status"),
    path("api/v1/docs/assets/<str:name>", v1.docs_asset, name="api-v1-docs-asset"),
    path("api/v1/", v1.api.urls),
]
