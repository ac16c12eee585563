# Each text writes a message (then its provider id: a new row version) and an event, with an entry in every
# index of their tables. Indexes that no query needs are dropped (records/spare_indexes.py):
# - the events' organization index: every other index of records_event starts with the organization;
# - the LIKE copies (PostgreSQL) of records_message.provider_id (looked up whole: webhooks) and of
#   idempotency_key, whose one prefix search, the texts a webhook left for the worker (keys 'later:…', asked
#   for every tick), reads message_later instead: an index of those rows alone.

import django.db.models.deletion
from django.db import migrations, models

from duedesk.records.spare_indexes import LIKE, dropping


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0022_tally_lock'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='event',
                    name='organization',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='records.organization'),
                ),
            ],
            database_operations=[
                migrations.RunPython(*dropping(('records_event', 'organization_id', ''))),
            ],
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('idempotency_key__startswith', 'later:')), fields=['status', 'id'], name='message_later'),
        ),
        migrations.RunPython(*dropping(('records_message', 'idempotency_key', LIKE),
                                       ('records_message', 'provider_id', LIKE))),
    ]
