# The simulated transport's records are looked up by their whole key: the LIKE copy of its index
# (PostgreSQL) is written for every simulated text and never read. See records/spare_indexes.py.

from django.db import migrations

from duedesk.records.spare_indexes import LIKE, dropping


class Migration(migrations.Migration):

    dependencies = [
        ('channels', '0002_senderslot'),
    ]

    operations = [
        migrations.RunPython(*dropping(('channels_simulatedsend', 'idempotency_key', LIKE))),
    ]
