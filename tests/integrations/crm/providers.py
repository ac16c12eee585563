"""Each CRM as the shared end-to-end and fault tests see it: its fake, its connection, a patient in the CRM's
own shape, a change made in the CRM, and how the fake's ledger shows a text, a call and our fields.

The tests in this folder run once per CRM, over HTTP with the real client library against its fake; what
only one CRM has (HubSpot's association types, Pipedrive's text activity type, Salesforce's token refresh)
is checked here too, in that CRM's `check_*` methods, or in its own folder."""

from __future__ import annotations

import json

from duedesk.integrations.crm.connections import connect
from duedesk.integrations.crm.mapping import set_mapping
from duedesk.integrations.crm.models import CrmLink

from ..hubspot import conftest as hubspot_conf
from ..pipedrive import conftest as pipedrive_conf
from ..salesforce import conftest as salesforce_conf


def ledger(fake) -> list[dict]:
    return [json.loads(line) for line in fake.ledger_lines().splitlines()]


class Provider:
    name = ""  # as the clinic sees it, and as error messages begin
    key = ""
    activity_path = ""  # where a text is written (faults are injected there)
    limit_fault: dict = {}  # the CRM's "slow down" answer, asking for 7 s
    phone = "phone"  # the contact field a pull reads the phone from

    def __init__(self):
        self.fake = None
        self.conn = None

    def start(self, settings):
        raise NotImplementedError

    def connect(self, org, clock):
        raise NotImplementedError

    def field(self, ours: str) -> str:
        """The CRM's field holding one of ours (the default mapping), or its phone field."""
        return self.phone if ours == "phone" else "duedesk_" + ours

    def seed(self, items: list[dict]) -> list[str]:
        return self.fake.seed(items)

    # ----------------------------------------------------------- what the ledger shows

    def texts(self) -> list[dict]:
        raise NotImplementedError

    def calls(self) -> list[dict]:
        raise NotImplementedError

    def contact_of(self, entry: dict) -> str:
        return entry["associations"][0]["to"]

    def linked(self, entry: dict):
        return CrmLink.objects.get(connection=self.conn, crm_id=self.contact_of(entry)).contact

    def created_keys(self) -> list[str]:
        """Our event id on every activity the CRM made."""
        raise NotImplementedError

    def expire(self, expired: bool) -> None:
        """The token stops working (and cannot be renewed); False: a new one was set."""
        self.fake.expired = expired


class HubSpot(Provider):
    name, key = "HubSpot", "hubspot"
    activity_path = "/crm/v3/objects/communications"
    limit_fault = {"status": 429, "retry_after": 7}

    def start(self, settings):
        from duedesk.integrations.hubspot.fake import FakeHubSpot

        self.fake = FakeHubSpot(token=hubspot_conf.TOKEN, app_secret=hubspot_conf.APP_SECRET, per_10s=1000).start()
        settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "hubspot": self.fake.url}
        settings.CRM_SECRETS = {"DUEDESK_HUBSPOT_TOKEN": hubspot_conf.TOKEN,
                                "DUEDESK_HUBSPOT_APP_SECRET": hubspot_conf.APP_SECRET}

    def connect(self, org, clock):
        self.conn, _ = connect(org, "hubspot", "DUEDESK_HUBSPOT_TOKEN", clock(),
                               webhook_secret_env="DUEDESK_HUBSPOT_APP_SECRET", owner_id="77")
        return self.conn

    def patient(self, n: int, **ours) -> dict:
        return hubspot_conf.patient(n, **{self.field(k): v for k, v in ours.items()})

    def change(self, crm_id: str, **ours) -> None:
        self.fake.seed([{"id": crm_id, "properties": {"duedesk_" + k: str(v) for k, v in ours.items()}}])

    def value(self, crm_id: str, ours: str):
        return self.fake.contact(crm_id)["properties"].get("duedesk_" + ours)

    def texts(self):
        return [e for e in ledger(self.fake) if e["object"] == "communications"]

    def calls(self):
        return [e for e in ledger(self.fake) if e["object"] == "calls"]

    def text_body(self, entry):
        return entry["properties"]["hs_communication_body"]

    def call_body(self, entry):
        return entry["properties"]["hs_call_body"]

    def check_text(self, entry):
        assert entry["associations"][0]["type"] == 81  # communication -> contact
        assert entry["properties"]["hs_communication_channel_type"] == "SMS"

    def check_call(self, entry):
        assert entry["associations"][0]["type"] == 194  # call -> contact

    def tasks(self):
        """(owner, subject, body) of each task made"""
        return [(e["properties"].get("hubspot_owner_id"), e["properties"]["hs_task_subject"],
                 e["properties"]["hs_task_body"]) for e in ledger(self.fake) if e["object"] == "tasks"]

    def created_keys(self):
        return [e["properties"].get("duedesk_event_id") for e in ledger(self.fake) if e["op"] == "create"]


class Pipedrive(Provider):
    name, key = "Pipedrive", "pipedrive"
    activity_path = "/api/v2/activities"
    limit_fault = {"status": 429, "retry_after": 7}

    def start(self, settings):
        from duedesk.integrations.pipedrive.fake import FakePipedrive

        self.fake = FakePipedrive(token=pipedrive_conf.TOKEN, per_2s=1000).start()
        settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "pipedrive": self.fake.url}
        settings.CRM_SECRETS = {"DUEDESK_PIPEDRIVE_TOKEN": pipedrive_conf.TOKEN,
                                "DUEDESK_PIPEDRIVE_WEBHOOK_PASSWORD": pipedrive_conf.WEBHOOK_PASSWORD}

    def connect(self, org, clock):
        self.conn, _ = connect(org, "pipedrive", "DUEDESK_PIPEDRIVE_TOKEN", clock(),
                               webhook_secret_env="DUEDESK_PIPEDRIVE_WEBHOOK_PASSWORD", owner_id="7")
        # The clinic keeps dates of birth in a person field of its own (the call checks identity with it).
        self.fake._new_field({"name": "Date of birth", "field_type": "date"})
        set_mapping(self.conn, {"date_of_birth": "Date of birth"})
        return self.conn

    def patient(self, n: int, **ours) -> dict:
        fields = {"Date of birth": "1980-03-03", **{self.field(k): v for k, v in ours.items()}}
        return pipedrive_conf.person(n, **fields)

    def change(self, crm_id: str, **ours) -> None:
        self.fake.seed([{"id": crm_id, **{"duedesk_" + k: v for k, v in ours.items()}}])

    def value(self, crm_id: str, ours: str):
        return self.fake.custom(crm_id, "duedesk_" + ours)

    def _activities(self):
        return [e for e in ledger(self.fake) if e["object"] == "activity"]

    def texts(self):
        return [e for e in self._activities() if e["properties"]["type"] == "text_message"]

    def calls(self):
        return [e for e in self._activities() if e["properties"]["type"] == "call"]

    def text_body(self, entry):
        return entry["properties"]["note"].split("\n\nduedesk ref: ")[0]

    def call_body(self, entry):
        return entry["properties"]["note"]

    def check_text(self, entry):
        assert entry["properties"]["done"] is True
        assert entry["properties"]["note"].rsplit("\n\nduedesk ref: ", 1)[1].startswith("duedesk-event-")

    def check_call(self, entry):
        assert entry["properties"]["done"] is True

    def tasks(self):
        return [(str(e["properties"].get("owner_id")), e["properties"]["subject"],
                 e["properties"]["note"].split("\n\nduedesk ref: ")[0])
                for e in self._activities() if e["properties"]["type"] == "task"]

    def created_keys(self):
        return [e["properties"]["note"].rsplit("duedesk ref: ", 1)[1] for e in self._activities()]


class Salesforce(Provider):
    name, key = "Salesforce", "salesforce"
    activity_path = "/services/data/v59.0/sobjects/Task"
    limit_fault = {"status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED", "retry_after": 7}
    phone = "MobilePhone"
    FIELDS = {"due_date": "Duedesk_Due_Date__c", "balance": "Duedesk_Balance__c", "outreach": "Duedesk_Outreach__c",
              "last_outcome": "Duedesk_Last_Outcome__c", "promise_date": "Duedesk_Promise_Date__c",
              "invoice_ref": "Duedesk_Invoice_Ref__c"}

    def start(self, settings):
        self.fake = salesforce_conf.make_fake().start()
        settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "salesforce": self.fake.url}
        settings.CRM_SECRETS = dict(salesforce_conf.SECRETS)

    def connect(self, org, clock):
        self.conn, _ = connect(org, "salesforce", "DUEDESK_SALESFORCE_TOKEN", clock(), owner_id="005FAKE00000077AAA",
                               oauth=salesforce_conf.OAUTH)
        return self.conn

    def patient(self, n: int, **ours) -> dict:
        return salesforce_conf.contact(n, **{self.field(k): v for k, v in ours.items()})

    def field(self, ours: str) -> str:
        return self.phone if ours == "phone" else self.FIELDS[ours]

    def change(self, crm_id: str, **ours) -> None:
        values = {self.FIELDS[k]: v for k, v in ours.items()}
        if "Duedesk_Outreach__c" in values:
            values["Duedesk_Outreach__c"] = values["Duedesk_Outreach__c"] == "on"  # a checkbox
        self.fake.seed([{"Id": crm_id, **values}])

    def value(self, crm_id: str, ours: str):
        return self.fake.contact(crm_id)[self.FIELDS[ours]]

    def _tasks(self):
        return [e for e in ledger(self.fake) if e["object"] == "Task"]

    def texts(self):
        return [e for e in self._tasks() if e["properties"]["Subject"].startswith("Text ")]

    def calls(self):
        return [e for e in self._tasks() if e["properties"]["TaskSubtype"] == "Call"]

    def text_body(self, entry):
        return entry["properties"]["Description"]

    def call_body(self, entry):
        return entry["properties"]["Description"]

    def check_text(self, entry):
        props = entry["properties"]
        assert entry["associations"][0]["type"] == "WhoId"
        assert (props["TaskSubtype"], props["Status"]) == ("Task", "Completed")
        assert props["Duedesk_Event_Id__c"].startswith("duedesk-event-")

    def check_call(self, entry):
        props = entry["properties"]
        assert (props["TaskSubtype"], props["CallType"], props["Status"]) == ("Call", "Outbound", "Completed")

    def created_keys(self):
        return [e["properties"]["Duedesk_Event_Id__c"] for e in self._tasks()]

    def tasks(self):
        return [(e["properties"].get("OwnerId"), e["properties"]["Subject"], e["properties"]["Description"])
                for e in self._tasks() if e["properties"]["Status"] == "Not Started"]

    def expire(self, expired: bool) -> None:
        # The access token expired and the refresh token was revoked: no new token can be had.
        self.fake.expired = expired
        self.fake.revoked = expired


ALL = {p.key: p for p in (HubSpot, Salesforce, Pipedrive)}
