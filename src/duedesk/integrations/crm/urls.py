from django.urls import path

from duedesk.integrations.hubspot import webhooks as hubspot
from duedesk.integrations.pipedrive import webhooks as pipedrive

urlpatterns = [
    path("hooks/hubspot/<str:key>/", hubspot.contact_changes, name="hubspot_webhook"),
    path("hooks/pipedrive/<str:key>/", pipedrive.person_changes, name="pipedrive_webhook"),
]
