from django.urls import path

from duedesk.integrations.hubspot import webhooks as hubspot

urlpatterns = [
    path("hooks/hubspot/<str:key>/", hubspot.contact_changes, name="hubspot_webhook"),
]
