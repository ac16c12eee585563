"""The indexes the engine's frequent queries read after Django's unneeded ones were dropped (engine 0005, records
0023, channels 0003): partial indexes serve a query only when its conditions imply the index's, so the queries
are checked against them, with sequential scans off so that the tiny test tables do not hide a missing index."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Q

from duedesk.engine.actions import sends
from duedesk.engine.models import Step
from duedesk.records.models import Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_the_waiting_texts_index_names_the_keys_text_later_writes():
    [index] = [i for i in Message._meta.indexes if i.name == "message_later"]
    assert index.condition == Q(idempotency_key__startswith=sends.LATER)


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _query_plan(queryset) -> str:
    return _plan(*queryset.query.sql_with_params())


@pytest.mark.postgres_only
def test_the_engines_queries_on_the_columns_that_lost_an_index_still_read_one():
    if connection.vendor != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    waiting = _plan(
        "SELECT id FROM records_message WHERE idempotency_key LIKE %(later)s AND status = %(waiting)s"
        " ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED", {"later": sends.LATER + "%", "waiting": sends.WAITING})
    assert "message_later" in waiting
    stranded = Message.objects.filter(idempotency_key__startswith=sends.LATER, status=sends.SENDING,
                                      updated_at__lt=NOW).order_by("pk")
    assert "message_later" in _query_plan(stranded)
    assert "provider_id" in _query_plan(Message.objects.filter(provider_id="SM123", direction="out"))
    assert "idempotency_key_key" in _query_plan(Message.objects.filter(idempotency_key="e1:heads_up:1"))
    for leased in (Step.objects.filter(status="sending", lease_until__lt=NOW),
                   Step.objects.filter(Q(lease_until__lt=NOW) | Q(leased_by__in=["gone"]), status="claimed"),
                   Step.objects.filter(leased_by="w", status__in=("claimed", "sending")),
                   Step.objects.filter(organization_id=1, kind="sms", status="held")):
        assert "step_lease" in _query_plan(leased)
    assert "enrollm" in _query_plan(Step.objects.filter(enrollment_id__any=[1, 2]).values("enrollment_id", "step_id"))
