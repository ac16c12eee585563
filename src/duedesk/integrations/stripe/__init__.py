"""Stripe: real pay links (Checkout Sessions for the current balance) and the payments, refunds and
invoices Stripe reports back through its signed webhook (`POST /hooks/stripe`)."""
