"""The per-sender rate limit: slots spaced (1 + GUARD)/rate apart, late sends push later slots back, one
budget shared by every worker on PostgreSQL, and never more than `rate` arrivals at Twilio in any second."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from duedesk.channels.base import Outgoing
from duedesk.channels.models import SenderSlot
from duedesk.integrations.twilio import ratelimit
from duedesk.integrations.twilio.transport import TwilioSms


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
    step = (1 + ratelimit.GUARD) / 4
    assert [s - t.now for s in slots] == pytest.approx([0.0, step, 2 * step, 3 * step, 4 * step])


def test_acquire_sleeps_until_the_slot_and_senders_are_independent():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    start = t.now
    for _ in range(3):
        limiter.acquire("A", Decimal("2.00"))
    step = (1 + ratelimit.GUARD) / 2
    assert t.now - start == pytest.approx(2 * step)  # 3 sends at 2/s: 0, 0.515, 1.03
    assert limiter.acquire("B", 2) == 0.0  # another number has its own budget
    t.now += 10  # idle time is not banked into a burst
    assert limiter.acquire("A", 2) == 0.0
    assert limiter.acquire("A", 2) == pytest.approx(step)


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
    step = (1 + ratelimit.GUARD) / 10
    assert [s - t.now for s in slots] == pytest.approx([0.0, step, 2 * step, 3 * step])
    assert SenderSlot.objects.get(sender="+12125550199").last_slot == pytest.approx(t.now + 3 * step)
    # A second process (a new limiter) continues from the same row.
    other = ratelimit.DatabaseLimiter(clock=t, sleep=t.sleep)
    assert other.reserve("+12125550199", 10) == pytest.approx(t.now + 4 * step)
    other.push_back("+12125550199", t.now + 4 * step + 0.25)  # a late send pushes everyone's next slot back
    assert limiter.reserve("+12125550199", 10) == pytest.approx(t.now + 5 * step + 0.25)
    other.push_back("+12125550199", t.now)  # a push to before the last slot changes nothing
    assert limiter.reserve("+12125550199", 10) == pytest.approx(t.now + 6 * step + 0.25)


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
    assert min(gaps) == pytest.approx(1.03 / 50)  # never two sends closer than the interval, across workers


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


@pytest.mark.django_db  # the transport reads whether the organization's texts are paused
def test_the_sms_transport_paces_each_send():
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    rest = RecordingRest()
    sms = TwilioSms(rest, Org(), limiter=limiter)
    start = t.now
    for i in range(6):
        sms.send(Outgoing(channel="sms", to="+12125550001", body="hi", idempotency_key=f"k{i}"))
    assert len(rest.sent) == 6
    assert t.now - start == pytest.approx(1.03)  # 6 texts at 5/s, 5 intervals of (1 + GUARD)/5
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
    assert limiter.acquire("A", 1) == pytest.approx(6 * 1.03 - 1)  # the worker waits its turn


def test_a_late_send_pushes_the_later_slots_back():
    """A send that reached Twilio long after its slot keeps `rate` slots between itself and the next
    second's sends; an on-time one changes nothing; a hung one pushes at most MAX_PUSH."""
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    step = (1 + ratelimit.GUARD) / 10
    with limiter.pace("A", 10):
        t.now += 0.01  # on time
    first = t.now
    with limiter.pace("A", 10):
        t.now += 0.2  # 0.2 s from slot to answer: it may have arrived 0.17 s past the guard
    assert limiter.reserve("A", 10) == pytest.approx(first - 0.01 + 2 * step + 0.2 - ratelimit.GUARD)
    before = limiter._last["A"]
    with pytest.raises(TimeoutError):
        with limiter.pace("A", 10):
            t.now += 30
            raise TimeoutError
    assert limiter._last["A"] == pytest.approx(before + step + ratelimit.MAX_PUSH)


def test_sends_late_at_the_same_time_push_back_to_the_latest_not_one_after_the_other():
    """Four workers whose requests each take 0.2 s: the sender's slots move past the latest of them, as
    for one late send, so together they still send at the rate (a sum of the four pushes held them to
    a few texts a second)."""
    t = FakeTime()
    limiter = ratelimit.InProcessLimiter(clock=t, sleep=t.sleep)
    step = (1 + ratelimit.GUARD) / 10
    slots = [limiter.reserve("A", 10) for _ in range(4)]  # four sends in flight at once
    t.now = slots[-1] + 0.2  # every answer came 0.2 s after the last slot
    for slot in slots:
        limiter.push_back("A", slot + min(t.now - slot - ratelimit.GUARD, ratelimit.MAX_PUSH))
    assert limiter.reserve("A", 10) == pytest.approx(slots[-1] + 0.2 - ratelimit.GUARD + step)


# The same promise with real time, real HTTP and real arrivals at the fake is a speed figure, measured by
# bench/twilio_throughput.py (it prints the most texts that arrived in any one-second window): a test that
# depends on the machine's load does not belong in the suite.
