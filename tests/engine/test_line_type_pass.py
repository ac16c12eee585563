"""The line type pass each worker tick makes (engine/line_types.py) costs next to nothing for organizations
whose transports have no lookup (the simulated ones): their due steps are read once a minute at most, not on
every tick, so a backlog of thousands of due texts doesn't slow every batch."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.engine import actions, line_types


@pytest.mark.django_db
def test_a_worker_without_lookups_reads_the_due_steps_once_not_every_tick(make_invoice, clock, transports):
    for _ in range(3):
        actions.enroll_invoice(make_invoice(due=date(2026, 12, 10)), clock())

    def transports_for(org):
        return transports

    assert transports.lines is None
    with CaptureQueriesContext(connection) as first:
        assert line_types.look_up_ahead(clock(), transports_for) == 0
    with CaptureQueriesContext(connection) as later:
        assert line_types.look_up_ahead(clock(), transports_for) == 0
    assert any("engine_step" in q["sql"] for q in first.captured_queries)  # learned it has no lookup
    assert len(later.captured_queries) == 1 and "engine_step" not in later.captured_queries[0]["sql"]
