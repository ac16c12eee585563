"""Pipedrive's side of the field mapping: the person fields every pull reads, the custom person fields made
on connect, and the activity type a text is written as.

Pipedrive names a custom field by a 40-character key (a hash) in the API; the mapping names fields by their
name (`duedesk_due_date`), and the client translates both ways with the account's person fields."""

# Standard person fields every pull reads (the client flattens v2's emails/phones to the primary ones).
STANDARD = {"first_name": "first_name", "last_name": "last_name", "phone": "phone", "email": "email",
            "modified": "update_time"}

# Our field -> the person field holding it, by default. Pipedrive has no standard language, time zone or
# date of birth on a person: map a custom field of the account's own to use them.
DEFAULTS = {
    "due_date": "duedesk_due_date",
    "balance": "duedesk_balance",
    "invoice_ref": "duedesk_invoice_ref",
    "outreach": "duedesk_outreach",
    "last_outcome": "duedesk_last_outcome",
    "promise_date": "duedesk_promise_date",
}

PERSON_FIELDS = [
    {"name": "duedesk_due_date", "field_type": "date"},
    {"name": "duedesk_balance", "field_type": "double"},
    {"name": "duedesk_invoice_ref", "field_type": "varchar"},
    {"name": "duedesk_outreach", "field_type": "enum", "options": [{"label": "on"}, {"label": "off"}]},
    {"name": "duedesk_last_outcome", "field_type": "varchar"},
    {"name": "duedesk_promise_date", "field_type": "date"},
]

# Texts have no activity type of their own in Pipedrive: connect adds one ("Text message", a speech bubble).
TEXT_TYPE = {"name": "Text message", "icon_key": "bubble"}
ACTIVITY_TYPES = {"call": "call", "task": "task"}  # Pipedrive's own types
