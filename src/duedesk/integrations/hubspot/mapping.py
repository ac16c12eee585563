"""HubSpot's side of the field mapping: default properties, the custom ones made on connect, and the
association types that tie an activity to its contact."""

# Standard contact properties every pull reads.
STANDARD = {"first_name": "firstname", "last_name": "lastname", "phone": "phone", "email": "email",
            "modified": "lastmodifieddate"}

# Our field -> the contact property it lives in, by default. duedesk_* are created on connect.
DEFAULTS = {
    "due_date": "duedesk_due_date",
    "balance": "duedesk_balance",
    "invoice_ref": "duedesk_invoice_ref",
    "outreach": "duedesk_outreach",
    "language": "hs_language",
    "timezone": "hs_timezone",
    "date_of_birth": "date_of_birth",
    "last_outcome": "duedesk_last_outcome",
    "promise_date": "duedesk_promise_date",
}

GROUP = "duedesk"
CONTACT_PROPERTIES = [
    {"name": "duedesk_due_date", "label": "Invoice due date", "type": "date", "fieldType": "date"},
    {"name": "duedesk_balance", "label": "Balance owed", "type": "number", "fieldType": "number"},
    {"name": "duedesk_invoice_ref", "label": "Invoice reference", "type": "string", "fieldType": "text"},
    {"name": "duedesk_outreach", "label": "Payment reminders", "type": "enumeration", "fieldType": "select",
     "options": [{"label": "On", "value": "on", "display_order": 0},
                 {"label": "Off", "value": "off", "display_order": 1}]},
    {"name": "duedesk_last_outcome", "label": "Last reminder outcome", "type": "string", "fieldType": "text"},
    {"name": "duedesk_promise_date", "label": "Promised payment date", "type": "date", "fieldType": "date"},
]
# On each activity: our event id, so a write whose answer was lost is found instead of made twice.
EVENT_ID = "duedesk_event_id"
ACTIVITY_OBJECTS = {"text": "communications", "call": "calls", "note": "notes", "task": "tasks"}
# HUBSPOT_DEFINED association type ids, activity -> contact.
TO_CONTACT = {"communications": 81, "calls": 194, "notes": 202, "tasks": 204}
