"""Salesforce's side of the field mapping: the Contact fields every pull reads, the custom fields the
default mapping names (the Salesforce admin creates them, or maps fields the org already has), and the
Task field that carries our event id.

Salesforce custom fields end in `__c` and are created by an admin in Setup → Object Manager; duedesk does
not create them (docs/integrations.md lists them with their types)."""

# Standard Contact fields every pull reads. "phone" is the mobile number, else the main one (the client
# reads MobilePhone and Phone and gives the first that is set).
STANDARD = {"first_name": "FirstName", "last_name": "LastName", "phone": "phone", "email": "Email",
            "modified": "SystemModstamp"}
PHONES = ("MobilePhone", "Phone")

# Our field -> the Contact field holding it, by default. Birthdate is Salesforce's own field.
DEFAULTS = {
    "due_date": "Duedesk_Due_Date__c",
    "balance": "Duedesk_Balance__c",
    "invoice_ref": "Duedesk_Invoice_Ref__c",
    "outreach": "Duedesk_Outreach__c",
    "date_of_birth": "Birthdate",
    "last_outcome": "Duedesk_Last_Outcome__c",
    "promise_date": "Duedesk_Promise_Date__c",
}

# The default fields as the admin creates them on Contact: (API name, label, Salesforce type).
CONTACT_FIELDS = [
    ("Duedesk_Due_Date__c", "Invoice due date", "date"),
    ("Duedesk_Balance__c", "Balance owed", "currency"),
    ("Duedesk_Invoice_Ref__c", "Invoice reference", "string"),
    ("Duedesk_Outreach__c", "Payment reminders", "boolean"),
    ("Duedesk_Last_Outcome__c", "Last reminder outcome", "string"),
    ("Duedesk_Promise_Date__c", "Promised payment date", "date"),
]

# On Task (an Activity custom field): our event id, an External ID marked Unique, so a write whose answer
# was lost is found by it (and Salesforce itself refuses a second Task with the same id).
EVENT_ID = "Duedesk_Event_Id__c"

# Each touch becomes a Task: (TaskSubtype, Status). Texts have no subtype of their own in Salesforce.
TASKS = {"text": ("Task", "Completed"), "call": ("Call", "Completed"), "note": ("Task", "Completed"),
         "email": ("Email", "Completed"), "task": ("Task", "Not Started")}
