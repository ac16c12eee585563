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
    assert not any("engine_step" in q["sql"] for q in later.captured_queries)


class Lines:
    """A lookup that answers "mobile" for every number and remembers what it was asked."""

    def __init__(self):
        self.asked = []

    def line_type(self, number):
        self.asked.append(number)
        return "mobile", "Carrier"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_worker_makes_the_pass_at_a_time_the_others_go_on_to_their_batch(make_invoice, clock, transports):
    if connection.vendor != "postgresql":
        pytest.skip("workers share the pass only on PostgreSQL")
    import psycopg

    for _ in range(3):
        actions.enroll_invoice(make_invoice(due=date(2026, 12, 10)), clock())
    lines = Lines()
    with_lookups = type(transports)(sms=transports.sms, voice=transports.voice, email=transports.email, lines=lines)
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as peer:
        peer.execute("SELECT pg_advisory_lock(%s)", [line_types.PASS_LOCK])  # another worker is in its pass
        assert line_types.look_up_ahead(clock(), lambda org: with_lookups) == 0
        assert lines.asked == []
        peer.execute("SELECT pg_advisory_unlock(%s)", [line_types.PASS_LOCK])
    assert line_types.look_up_ahead(clock(), lambda org: with_lookups) == 3
    assert len(lines.asked) == 3
