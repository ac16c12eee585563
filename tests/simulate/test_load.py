"""The bulk loader behind the multi-worker test and the throughput benchmark leaves the planner statistics of
what it wrote: right after a load of thousands of due texts, the workers' claims use the indexes."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from duedesk.engine.models import Step
from duedesk.simulate.load import seed_due_texts


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_the_due_texts_loaded_in_bulk_are_known_to_the_planner():
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    seed_due_texts(300, datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    assert Step.objects.filter(status="pending").count() == 300
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname IN ('engine_step', 'engine_enrollment')")
        counted = dict(cursor.fetchall())
    assert counted == {"engine_step": 300, "engine_enrollment": 300}
