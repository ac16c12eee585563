# The overview's funnel (texted -> paid, called -> promised -> paid) asked the timeline, per kind, which
# invoices have an event: two index scans over a million events on every cold overview. Each invoice now
# carries when its first text (sms.sent) and first call (call.placed) went out, set by whoever writes that
# event; this migration fills them in from the events already written.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

FIRST = {"first_texted_at": "sms.sent", "first_called_at": "call.placed"}


def backfill(apps, schema_editor):
    """One UPDATE per column: each invoice with such an event gets the earliest one's time (a lookup on the
    event_kind_invoice index: organization, kind, invoice, at)."""
    Invoice = apps.get_model("records", "Invoice")
    Event = apps.get_model("records", "Event")
    for field, kind in FIRST.items():
        events = Event.objects.filter(kind=kind, invoice__isnull=False)
        first = (events.filter(organization_id=OuterRef("organization_id"), invoice_id=OuterRef("pk"))
                 .order_by("at").values("at")[:1])
        Invoice.objects.filter(pk__in=events.values("invoice_id")).update(**{field: Subquery(first)})


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0003_event_kind_invoice_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='first_called_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='invoice',
            name='first_texted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
