"""A text we are unsure about while the provider can't be asked, and retries that wait their turn.

A text the provider may have taken (a timeout after the request left, a worker that died mid-send) is looked
up before anything else happens to it. When that lookup fails for a moment (a 429, a 500, a timeout: what a
busy Twilio answers now and then), the text is asked about again shortly instead of going to a person at once;
it goes to a person only if the provider can't be asked for 15 minutes. And a text retried after a provider
error is taken before texts that became due before the error, rather than after a whole backlog."""

from datetime import timedelta

import pytest

from duedesk.channels.errors import TransportError
from duedesk.channels.models import SimulatedSend
from duedesk.engine.models import Step
from duedesk.engine.runner import GIVE_UP_ASKING
from duedesk.engine.worker import Worker, claim
from duedesk.records.models import Event, Handoff
from tests.engine.test_recovery import OneByOne, _due_texts, _heads_up, _sent_once_each, _strand, _with_sms


class LookupDown(OneByOne):
    """The provider's message list answers with an error `failures` times (then works); `timeout_after_send`:
    the provider takes those texts (by index) but its answer never comes (a timeout after the request left)."""

    def __init__(self, real, failures=1, timeout_after_send=(), permanent=False):
        super().__init__(real)
        self.failures, self.timeout_after_send, self.permanent, self.lookups = failures, timeout_after_send, \
            permanent, 0

    def send(self, msg):
        accepted = super().send(msg)
        if self.sent - 1 in self.timeout_after_send:
            raise TransportError("No answer from Twilio after sending the request (ReadTimeout).",
                                 accepted_unknown=True)
        return accepted

    def lookup(self, *args):
        self.lookups += 1
        if self.failures:
            self.failures -= 1
            raise TransportError("Twilio answered 500.", http_status=500, permanent=self.permanent)
        return super().lookup(*args)


def _no_person_asked():
    assert not Step.objects.filter(status="unknown").exists()
    assert not Event.objects.filter(kind="step.unknown").exists()
    assert not Handoff.objects.filter(reason="unknown_send").exists()


@pytest.mark.django_db
def test_a_stranded_text_whose_lookup_fails_for_a_moment_is_asked_about_again_not_handed_to_a_person(
        make_invoice, clock, transports):
    invoices = _strand(make_invoice, clock, transports, n=4, sent=2)  # a worker died after two reached Twilio
    flaky = LookupDown(transports.sms, failures=1)
    survivor = Worker(lambda org: _with_sms(transports, flaky), clock=clock, worker_id="survivor")
    clock.advance(seconds=21)  # the dead worker's lease ran out
    survivor.tick()
    assert flaky.lookups == 4  # one failed: that text waits for another question, the rest were settled or resent
    assert [s for s in (_heads_up(i) for i in invoices) if s.status == "sending"][0].leased_by == ""
    _no_person_asked()
    clock.advance(seconds=16)
    survivor.run_until_idle()
    _sent_once_each(invoices)
    _no_person_asked()
    assert Event.objects.filter(kind="step.reconciled").count() == 4


@pytest.mark.django_db
def test_a_timeout_after_twilio_took_the_text_and_a_failed_lookup_leave_it_to_recovery_which_settles_it_once(
        make_invoice, clock, transports):
    invoices = _due_texts(make_invoice, clock, 3)
    flaky = LookupDown(transports.sms, failures=1, timeout_after_send=(1,))
    worker = Worker(lambda org: _with_sms(transports, flaky), clock=clock, worker_id="w")
    worker.tick()
    unsure = _heads_up(invoices[1])
    assert unsure.status == "sending" and unsure.leased_by == ""  # not resent, not a person's: asked again soon
    _no_person_asked()
    clock.advance(seconds=16)
    worker.run_until_idle()
    _sent_once_each(invoices)  # the text Twilio took is found there and settled: one text, one sms.sent
    _no_person_asked()


@pytest.mark.django_db
def test_a_provider_that_cannot_be_asked_for_15_minutes_hands_the_text_to_a_person(make_invoice, clock, transports):
    invoices = _due_texts(make_invoice, clock, 1)
    down = LookupDown(transports.sms, failures=10_000, timeout_after_send=(0,))
    worker = Worker(lambda org: _with_sms(transports, down), clock=clock, worker_id="w")
    worker.tick()
    for _ in range(int(GIVE_UP_ASKING / timedelta(seconds=16)) + 2):
        clock.advance(seconds=16)
        worker.run_until_idle()
    assert _heads_up(invoices[0]).status == "unknown"
    assert Handoff.objects.filter(reason="unknown_send").count() == 1
    assert SimulatedSend.objects.count() == 1  # never sent again on a guess
    assert 40 < down.lookups < 70  # asked every 15 s or so, not in a loop


@pytest.mark.django_db
def test_a_lookup_refused_for_good_goes_to_a_person_at_once(make_invoice, clock, transports):
    invoices = _due_texts(make_invoice, clock, 1)
    refused = LookupDown(transports.sms, failures=1, timeout_after_send=(0,), permanent=True)
    Worker(lambda org: _with_sms(transports, refused), clock=clock, worker_id="w").tick()
    assert _heads_up(invoices[0]).status == "unknown"
    assert Handoff.objects.filter(reason="unknown_send").count() == 1


@pytest.mark.django_db
def test_a_retried_text_is_taken_before_texts_that_were_due_before_its_error(make_invoice, clock, transports):
    invoices = _due_texts(make_invoice, clock, 4)
    retried = _heads_up(invoices[3])
    # A 500 a few seconds ago: tried again from now on, later than the three others' due time.
    Step.objects.filter(pk=retried.pk).update(attempts=1, run_at=clock() + timedelta(seconds=2))
    clock.advance(seconds=3)
    assert claim("w", clock(), limit=1) == [retried.pk]
    assert claim("w", clock(), limit=2) == [_heads_up(i).pk for i in invoices[:2]]
