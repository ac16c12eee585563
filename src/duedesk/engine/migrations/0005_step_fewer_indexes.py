# A step's status changes three times on the way to a text (claimed, sending, done), each a new row version
# with an entry in every index of engine_step. Three indexes that no query needs are dropped:
# - the enrollment's own index: (enrollment, status) starts with it and serves every lookup by enrollment;
# - idempotency_key's LIKE copy (PostgreSQL): the key is only ever looked up whole (the unique index);
# - step_lease over every row: it now holds only the claimed, sending and held steps, the ones its queries
#   ask for (recovery, the heartbeat, a worker's own rows, a channel resumed), not the pending and finished.
# See records/spare_indexes.py.

import django.db.models.deletion
from django.db import migrations, models

from duedesk.records.spare_indexes import LIKE, dropping


class Migration(migrations.Migration):

    dependencies = [
        ('engine', '0004_live_enrollments_by_workflow'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='step',
                    name='enrollment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='engine.enrollment'),
                ),
            ],
            database_operations=[
                migrations.RunPython(*dropping(('engine_step', 'enrollment_id', ''))),
            ],
        ),
        migrations.RunPython(*dropping(('engine_step', 'idempotency_key', LIKE))),
        migrations.RemoveIndex(
            model_name='step',
            name='step_lease',
        ),
        migrations.AddIndex(
            model_name='step',
            index=models.Index(condition=models.Q(('status__in', ('claimed', 'sending', 'held'))), fields=['status', 'lease_until'], name='step_lease'),
        ),
    ]
