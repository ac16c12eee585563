"""An organization's Slack-compatible handoff notice becomes a webhook endpoint of the kind "chat"."""

from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    Organization = apps.get_model("records", "Organization")
    Endpoint = apps.get_model("outbound_webhooks", "Endpoint")
    Event = apps.get_model("records", "Event")
    for org in Organization.objects.exclude(slack_webhook_url=""):
        last = Event.objects.filter(organization=org).order_by("-pk").values_list("pk", flat=True).first() or 0
        Endpoint.objects.create(organization=org, kind="chat", url=org.slack_webhook_url,
                                event_types=["handoff.opened"], description="Handoff notices (chat)",
                                last_event_id=last, created_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("outbound_webhooks", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
