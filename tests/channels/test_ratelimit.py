"""The per-sender rate limit: slots spaced 1/rate apart, shared by every worker on PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from duedesk.channels.base import Outgoing
from duedesk.channels.models import SenderSlot
from duedesk.channels.twilio import ratelimit
from duedesk.channels.twilio.transport import TwilioSms


class FakeTime:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_in_process_slots_are_spaced_by_the_rate():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    slots = [limiter.reserve("+12125550199", 4) for _ in range(5)]
    assert [round(s - t.now, 3) for s in slots] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_acquire_sleeps_until_the_slot_and_senders_are_independent():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    start = t.now
    for _ in range(3):
        limiter.acquire("A", Decimal("2.00"))
    assert t.now - start == pytest.approx(1.0)  # 3 sends at 2/s: 0, 0.5, 1.0
    assert limiter.acquire("B", 2) == 0.0  # another number has its own budget
    t.now += 10  # idle time is not banked into a burst
    assert limiter.acquire("A", 2) == 0.0
    assert limiter.acquire("A", 2) == pytest.approx(0.5)


@pytest.mark.parametrize("rate", [None, 0, Decimal("0.00")])
def test_no_rate_means_no_limit(rate):
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    assert [limiter.acquire("A", rate) for _ in range(100)] == [0.0] * 100
    assert t.slept == []


@pytest.mark.django_db
def test_database_limiter_keeps_the_slot_in_a_row():
    t = FakeTime()
    limiter = ratelimit.DatabaseLimiter(clock=t, sleep=t.sleep)
    slots = [limiter.reserve("+12125550199", 10) for _ in range(4)]
    assert [round(s - t.now, 3) for s in slots] == [0.0, 0.1, 0.2, 0.3]
    assert SenderSlot.objects.get(sender="+12125550199").last_slot == pytest.approx(t.now + 0.3)
    # A second process (a new limiter) continues from the same row.
    other = ratelimit.DatabaseLimiter(clock=t, sleep=t.sleep)
    assert other.reserve("+12125550199", 10) == pytest.approx(t.now + 0.4)


@pytest.mark.django_db
def test_the_database_decides_which_limiter():
    expected = ratelimit.DatabaseLimiter if connection.vendor == "postgresql" else ratelimit.InProcessLimiter
    assert isinstance(ratelimit.for_database(), expected)


@pytest.mark.django_db(transaction=True)
def test_workers_on_postgresql_share_one_budget():
    if connection.vendor != "postgresql":
        pytest.skip("many workers share a budget only on PostgreSQL")
    t = FakeTime()
    lock = threading.Lock()
    slots: list[float] = []

    def worker():
        limiter = ratelimit.DatabaseLimiter(clock=t, sleep=t.sleep)
        try:
            for _ in range(25):
                slot = limiter.reserve("+12125550199", 50)
                with lock:
                    slots.append(slot)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots.sort()
    assert len(slots) == 100
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) == pytest.approx(0.02)  # never two sends closer than 1/rate, across workers


class RecordingRest:
    def __init__(self):
        self.sent = []

    def send_message(self, **kw):
        self.sent.append(kw)
        return {"sid": f"SM{len(self.sent):032d}", "status": "queued"}


class Org:
    pk = 1
    sms_from = "+12125550199"
    messaging_service_sid = ""
    sms_per_second = Decimal("5.00")


def test_the_sms_transport_paces_each_send():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    rest = RecordingRest()
    sms = TwilioSms(rest, Org(), limiter=limiter)
    start = t.now
    for i in range(6):
        sms.send(Outgoing(channel="sms", to="+12125550001", body="hi", idempotency_key=f"k{i}"))
    assert len(rest.sent) == 6
    assert t.now - start == pytest.approx(1.0)  # 6 texts at 5/s
    assert rest.sent[0]["from_"] == "+12125550199" and rest.sent[0]["messaging_service_sid"] is None
    assert rest.sent[0]["idempotency_key"] == "k0"
    assert rest.sent[0]["status_callback"].endswith("/hooks/twilio/sms/status?key=k0")


def test_texts_sent_from_a_webhook_wait_a_bounded_time():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    for _ in range(5):
        limiter.reserve("A", 1)  # a busy number: the next slot is 5 s away
    with ratelimit.bounded_wait(1.0):
        assert limiter.acquire("A", 1) == 1.0
    assert limiter.acquire("A", 1) == pytest.approx(5.0)  # the worker waits its turn
