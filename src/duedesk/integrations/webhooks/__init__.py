"""Signed outbound webhooks (the Standard Webhooks specification, with the `standardwebhooks` library):
what happens in duedesk — a text sent, a promise, a payment, a handoff — posted to the endpoints an
organization registers, durably and in order, retried for about three days."""
