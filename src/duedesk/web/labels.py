"""The vocabulary's words the inbox and the contact page show (core/vocabulary.py imports no Django, so its
labels are plain English): listed here for the translation catalogue, which `makemessages` reads from these
literals; templates translate the label they are given with {% translate label context "state" %} (the
context keeps "Open", a state, apart from "Open", a button). The inbox's own tab
and filter words are here too. tests/web/test_translations.py checks that every label of the vocabularies in
SHOWN is listed.
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

SHOWN = ("HANDOFF_REASONS", "HANDOFF_STATUSES", "INVOICE_STATUSES", "INSTALMENT_STATUSES")

LABELS = (
    pgettext_lazy("state", "Dispute"),
    pgettext_lazy("state", "Hardship"),
    pgettext_lazy("state", "Payment plan"),
    pgettext_lazy("state", "Asked for a person"),
    pgettext_lazy("state", "Verify payment"),
    pgettext_lazy("state", "Reply needs reading"),
    pgettext_lazy("state", "Unknown send"),
    pgettext_lazy("state", "Broken promise"),
    pgettext_lazy("state", "No response"),
    pgettext_lazy("state", "Identity not confirmed"),
    pgettext_lazy("state", "Missed instalment"),
    pgettext_lazy("state", "Payment refunded"),
    pgettext_lazy("state", "Represented by an attorney"),
    pgettext_lazy("state", "Bankruptcy"),
    pgettext_lazy("state", "Asked us to stop contacting them"),
    pgettext_lazy("state", "Overpaid"),
    pgettext_lazy("state", "Call from an unknown number"),
    pgettext_lazy("state", "Open"),
    pgettext_lazy("state", "Resolved"),
    pgettext_lazy("state", "Paid"),
    pgettext_lazy("state", "Disputed"),
    pgettext_lazy("state", "In a payment plan"),
    pgettext_lazy("state", "Written off"),
    pgettext_lazy("state", "Pending"),
    pgettext_lazy("state", "Missed"),
    pgettext_lazy("state", "All"),
    pgettext_lazy("state", "All open"),
    pgettext_lazy("state", "Mine"),
    pgettext_lazy("state", "Unassigned"),
)
