"""duedesk's URLs plus a signed webhook that does nothing: found, verified and answered exactly as an inbound
text is (the owner by the number, the signature with its token, empty TwiML), so the bench can report each
webhook against what the server and the machine cost at that moment anyway."""

from django.urls import path

from duedesk.integrations.twilio.webhooks import _org_for_number, _xml, twilio_webhook
from duedesk.urls import urlpatterns as duedesk_urlpatterns


@twilio_webhook(_org_for_number)
def floor(request, org, _):
    return _xml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


urlpatterns = [*duedesk_urlpatterns, path("hooks/bench/floor", floor)]
