"""The JSON API for billing systems and CRMs."""

from django.urls import path

from duedesk.api import v1

urlpatterns = [
    path("api/v1/docs/assets/<str:name>", v1.docs_asset, name="api-v1-docs-asset"),
    path("api/v1/", v1.api.urls),
]
