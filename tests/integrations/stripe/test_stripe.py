"""Stripe over HTTP: the real `stripe` library against the local fake, and the fake's signed webhooks
through our `/hooks/stripe` view."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.engine import actions
from duedesk.engine.models import Step
from duedesk.integrations.stripe import paylinks
from duedesk.integrations.stripe import webhooks as stripe_hooks
from duedesk.integrations.stripe.fake import FakeStripe
from duedesk.integrations.stripe.fake.server import FIXTURES
from duedesk.integrations.stripe.models import CheckoutLink, StripeAccount, StripeEvent, StripePayment
from duedesk.records.models import Event, Handoff, Invoice

pytestmark = pytest.mark.django_db
KEY, SECRET = "sk_test_clinic", "whsec_clinic"


@pytest.fixture
def stripe_fake(client, settings, monkeypatch, clock):
    """The fake Stripe on loopback; its webhooks go to our view through Django's test client."""
    def post(url, payload, headers):
        return client.post("/hooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": headers["Stripe-Signature"]}).status_code

    settings.STRIPE_SECRETS = {"DUEDESK_TEST_STRIPE_KEY": KEY, "DUEDESK_TEST_STRIPE_WEBHOOK": SECRET}
    monkeypatch.setattr(stripe_hooks, "clock", clock)
    with FakeStripe(KEY, SECRET, webhook_url="http://testserver/hooks/stripe", poster=post) as fake:
        settings.STRIPE_BASE_URL = fake.base_url
        paylinks.forget_accounts()
        yield fake
    paylinks.forget_accounts()


@pytest.fixture
def stripe_org(org):
    StripeAccount.objects.create(organization=org, secret_key_env="DUEDESK_TEST_STRIPE_KEY",
                                 webhook_secret_env="DUEDESK_TEST_STRIPE_WEBHOOK")
    return org


def _texted(invoice, clock, worker):
    actions.enroll_invoice(invoice, clock())
    clock.set(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))  # the heads-up, 3 days before Dec 10, 09:00 New York
    worker.run_until_idle()
    return SimulatedSend.objects.filter(channel="sms").order_by("pk").last()


def test_a_texts_pay_link_is_a_checkout_session_for_the_balance(stripe_fake, stripe_org, make_invoice, clock, worker):
    invoice = make_invoice(amount="1250.00", due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    sent = _texted(invoice, clock, worker)
    [session] = stripe_fake.sessions.values()
    assert session["url"] in sent.body and "pay.example.com" not in sent.body
    assert session["amount_total"] == 125000 and session["currency"] == "usd"
    assert session["metadata"] == {"duedesk_org": str(stripe_org.pk), "duedesk_invoice": invoice.external_ref}
    # Nothing clinical on Stripe's page: the organization and the reference.
    assert session["client_reference_id"] == invoice.external_ref


def test_paying_stops_outreach_before_the_next_tick(stripe_fake, stripe_org, make_invoice, clock, worker):
    invoice = make_invoice(amount="120.00", due=date(2026, 12, 10))
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    _texted(invoice, clock, worker)
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()
    [session_id] = stripe_fake.sessions
    checkout, intent = stripe_fake.pay(session_id)
    assert stripe_fake.deliveries == [(checkout["id"], 200), (intent["id"], 200)]
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance == Decimal("0")
    assert not Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()
    # Checkout and the PaymentIntent both reported it: one payment.
    assert Event.objects.filter(invoice=invoice, kind="payment.recorded").count() == 1
    texts = SimulatedSend.objects.count()
    clock.advance(days=30)
    worker.run_until_idle()
    assert SimulatedSend.objects.count() == texts


def test_the_same_event_twice_records_one_payment(stripe_fake, stripe_org, make_invoice, clock):
    invoice = make_invoice(amount="80.00")
    url = paylinks.pay_link_for(invoice, clock())
    session_id = url.rsplit("/", 1)[1]
    checkout, _ = stripe_fake.pay(session_id)
    assert stripe_fake.deliver(checkout) == 200  # Stripe retries with the same event id
    assert Event.objects.filter(invoice=invoice, kind="payment.recorded").count() == 1
    assert StripeEvent.objects.filter(event_id=checkout["id"]).count() == 1


def test_a_forged_signature_is_refused_and_changes_nothing(stripe_fake, stripe_org, make_invoice, clock):
    invoice = make_invoice(amount="80.00")
    session_id = paylinks.pay_link_for(invoice, clock()).rsplit("/", 1)[1]
    stripe_fake.webhook_url = ""  # hold the real deliveries back
    checkout, _ = stripe_fake.pay(session_id)
    stripe_fake.webhook_url = "http://testserver/hooks/stripe"
    assert stripe_fake.deliver(checkout, secret="whsec_someone_else") == 400
    invoice.refresh_from_db()
    assert invoice.status == "open" and invoice.balance == Decimal("80.00")
    assert not StripeEvent.objects.exists() and not Event.objects.filter(kind="payment.recorded").exists()


def test_a_refund_reopens_the_balance_with_a_handoff(stripe_fake, stripe_org, make_invoice, clock):
    invoice = make_invoice(amount="200.00")
    session_id = paylinks.pay_link_for(invoice, clock()).rsplit("/", 1)[1]
    _, intent = stripe_fake.pay(session_id)
    stripe_fake.refund(intent["data"]["object"]["id"], amount=5000)
    invoice.refresh_from_db()
    assert invoice.status == "open" and invoice.balance == Decimal("50.00")
    handoff = Handoff.objects.get(invoice=invoice, reason="refund")
    assert handoff.status == "open" and "50.00" in handoff.summary
    assert Event.objects.filter(invoice=invoice, kind="payment.refunded").count() == 1
    # A second refund on the same charge reopens only the new part.
    stripe_fake.refund(intent["data"]["object"]["id"], amount=5000)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert StripePayment.objects.get().refunded == 10000


def test_the_link_is_reused_then_remade_when_the_balance_changes(stripe_fake, stripe_org, make_invoice, clock):
    invoice = make_invoice(amount="300.00")
    first = paylinks.pay_link_for(invoice, clock())
    assert paylinks.pay_link_for(invoice, clock()) == first
    actions.record_payment(invoice, Decimal("100.00"), clock())
    invoice = Invoice.objects.get(pk=invoice.pk)
    second = paylinks.pay_link_for(invoice, clock())
    assert second != first
    old, new = CheckoutLink.objects.order_by("pk")
    assert (old.status, new.status, new.amount) == ("expired", "open", 20000)
    assert stripe_fake.sessions[old.session_id]["status"] == "expired"  # the old amount can't be paid any more


def test_a_lost_answer_is_retried_with_the_same_key_and_makes_one_session(stripe_fake, stripe_org, make_invoice,
                                                                         clock):
    invoice = make_invoice(amount="45.00")
    stripe_fake.fail_after_next(500)
    url = paylinks.pay_link_for(invoice, clock())
    assert len(stripe_fake.sessions) == 1 and url == next(iter(stripe_fake.sessions.values()))["url"]


def test_when_stripe_is_down_the_text_carries_the_invoices_own_link(stripe_fake, stripe_org, make_invoice, clock):
    invoice = make_invoice(amount="45.00")
    stripe_fake.fail_next(500, times=5)
    from duedesk.channels.paylinks import pay_link_for

    assert pay_link_for(invoice, clock()) == invoice.pay_link


def test_organizations_without_stripe_keep_their_own_link(stripe_fake, make_invoice, clock):
    from duedesk.channels.paylinks import pay_link_for

    invoice = make_invoice(amount="45.00")
    assert pay_link_for(invoice, clock()) == invoice.pay_link
    assert stripe_fake.requests == []


@pytest.mark.skipif(not FIXTURES.exists(), reason="Stripe's example objects (shared/vendor-specs/stripe) are absent")
def test_the_fakes_objects_have_stripes_own_shape():
    import json

    examples = json.loads(FIXTURES.read_text())["resources"]
    fake = FakeStripe()
    session = fake.create_session({"line_items": {"0": {"quantity": "1", "price_data": {
        "currency": "usd", "unit_amount": "100", "product_data": {"name": "x"}}}}})
    assert set(examples["checkout.session"]) <= set(session)


def test_a_failed_stripe_invoice_becomes_ours_and_starts_recovery_then_paid_stops_it(stripe_fake, stripe_org, clock):
    from datetime import timedelta

    from duedesk.engine.models import Enrollment

    failed_at = int(clock().timestamp())
    event = stripe_fake.invoice_event(
        "invoice.payment_failed", number="MPT-0042", customer_email="grace@example.com",
        customer_phone="+12125550301", customer_name="Grace Ellis", amount_due=8900, currency="usd",
        due_date=failed_at, created=failed_at, next_payment_attempt=int((clock() + timedelta(days=3)).timestamp()))
    assert stripe_fake.deliveries[-1] == (event["id"], 200)
    invoice = Invoice.objects.get(organization=stripe_org, external_ref="MPT-0042")
    assert invoice.balance == Decimal("89.00") and invoice.contact.phone == "+12125550301"
    enrollment = Enrollment.objects.get(invoice=invoice, status__in=Enrollment.LIVE)
    assert enrollment.workflow.name == "Failed payment recovery"
    assert enrollment.data["event"]["next_billing_date"] == "2026-12-10"
    # The pay link is Stripe's hosted invoice page, where the card can be updated.
    hosted = event["data"]["object"]["hosted_invoice_url"]
    assert paylinks.pay_link_for(invoice, clock()) == hosted and not stripe_fake.sessions
    stripe_fake.invoice_event("invoice.paid", id=event["data"]["object"]["id"], number="MPT-0042", amount_paid=8900,
                              currency="usd", payment_intent="pi_retry_1", status="paid")
    invoice.refresh_from_db()
    enrollment.refresh_from_db()
    assert invoice.status == "paid" and enrollment.status == "exited" and enrollment.exit_reason == "paid"
