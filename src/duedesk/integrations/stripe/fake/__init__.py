"""A local fake Stripe: the endpoints duedesk uses, objects shaped like Stripe's own examples, and signed
webhooks sent the way Stripe signs them.

with FakeStripe(webhook_url=".../hooks/stripe") as fake:
    url = <a pay link made through the real `stripe` library against fake.base_url>
    fake.pay(session_id)        # checkout.session.completed + payment_intent.succeeded, signed
"""

from duedesk.integrations.stripe.fake.server import FakeStripe, serve

__all__ = ["FakeStripe", "serve"]
