# The overview's funnel asks, per kind, which invoices have an event ("texted", "called"). With this
# index PostgreSQL answers from the index alone (an index-only scan), not by reading every event row:
# at 1,000,000 events the funnel went from 1.4 s to ~0.13 s (bench/pages.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_instalments'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['organization', 'kind', 'invoice', 'at'], name='event_kind_invoice'),
        ),
    ]
