"""Two API upserts of one new phone at the same moment make one contact (issue 9): each upsert locks the
line (organization + number) before it looks the contact up, so the second waits and then finds the first's.
Real threads against PostgreSQL; on SQLite writes are serialized anyway, so the lock proves nothing there."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

from duedesk.api import auth
from duedesk.channels.models import SimulatedSend
from duedesk.conversations.texts import receive_text
from duedesk.engine.models import Step
from duedesk.records.models import Contact

PHONE = "+12125550161"


@pytest.mark.django_db(transaction=True)
def test_two_upserts_of_one_new_phone_at_once_make_one_contact_and_one_stop_stops_both(org, clock, worker,
                                                                                       transports, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the row lock is what is tested; SQLite serializes writers")
    monday = clock.set(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    monkeypatch.setattr(auth, "clock", clock)
    token = auth.create_key(org, "billing system", clock()).token
    start = threading.Barrier(2)
    statuses, failures = [], []

    def upsert(ref: str) -> None:
        try:
            start.wait(timeout=30)
            response = Client().put(
                f"/api/v1/invoices/{ref}", {"first_name": "Rosa", "phone": PHONE, "amount_due": "90.00",
                                            "due_date": "2026-12-10"},
                content_type="application/json", headers={"Authorization": f"Bearer {token}"})
            statuses.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=upsert, args=(ref,)) for ref in ("INV-A", "INV-B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == [] and sorted(statuses) == [201, 201]
    contact = Contact.objects.get(organization=org, phone=PHONE)  # exactly one
    assert contact.invoices.count() == 2
    # Then the patient texts STOP: nothing but the confirmation goes to the number, for either invoice.
    receive_text(org, PHONE, "+12125550000", "STOP", monday, transports, provider_id="SMconc")
    worker.tick()
    assert [s.body for s in SimulatedSend.objects.filter(to=PHONE)] == [
        "Maple Clinic: You are unsubscribed and will not receive more automated texts or calls. "
        "Reply START to resubscribe."]
    outcomes = Step.objects.filter(enrollment__contact=contact, step_id="heads_up").values_list("outcome", flat=True)
    assert list(outcomes) == ["opted_out", "opted_out"]
