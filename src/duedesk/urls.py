from django.contrib import admin
from django.urls import include, path

from duedesk.integrations.calendars.views import ics as ics_feed
from duedesk.web import operations

urlpatterns = [
    path("healthz", operations.healthz, name="healthz"),
    path("metrics", operations.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("duedesk.integrations.twilio.urls")),
    path("", include("duedesk.integrations.stripe.urls")),
    path("", include("duedesk.integrations.crm.urls")),
    path("calendar/<str:token>.ics", ics_feed, name="calendar_ics"),
    path("", include("duedesk.api.urls")),
    path("", include("duedesk.web.urls")),
]
