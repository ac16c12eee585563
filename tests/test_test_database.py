"""The database the tests run on behaves as a deployment's does when a second thread uses it at the same time
(the live server, the voice relay, a fake provider calling back): another connection reads what was committed
while a transaction is open, and a writer waits its turn instead of failing. An in-memory SQLite database
shared between connections fails at once with "database table is locked" instead, whenever the threads
happen to meet, so a test's outcome would depend on how busy the machine is."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from duedesk.records.models import Organization
from tests.loopback import PATIENCE

pytestmark = pytest.mark.django_db(transaction=True)


def in_another_thread(work):
    """What `work()` returns (or raises) in a thread of its own, with its own database connection."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(PATIENCE)
    assert not thread.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_another_connection_reads_what_was_committed_while_a_write_is_open(org):
    with transaction.atomic():
        Organization.objects.filter(pk=org.pk).update(name="Oak Clinic")
        assert in_another_thread(lambda: Organization.objects.get(pk=org.pk).name) == "Maple Clinic"
    assert in_another_thread(lambda: Organization.objects.get(pk=org.pk).name) == "Oak Clinic"
