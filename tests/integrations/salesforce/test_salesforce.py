"""What only Salesforce has: the access token renewed by the OAuth 2 refresh-token flow (or a JWT bearer
grant) when it expires, query batches followed by nextRecordsUrl, a handoff as a Task for the owner, fields
the admin creates. (The end-to-end and fault tests every CRM shares are in tests/integrations/crm/.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from duedesk.engine import actions
from duedesk.integrations.crm.connections import ConnectError, check_connection, connect
from duedesk.integrations.crm.models import Connection, CrmLink, OutboxItem
from duedesk.integrations.crm.sync import sync_connection
from duedesk.records.models import Contact, Invoice

from .conftest import CLIENT_ID, OAUTH, TOKEN, contact, ledger, make_fake

pytestmark = pytest.mark.django_db


def stored(column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {Connection._meta.db_table}")
        return cursor.fetchone()[0]


def tasks(fake) -> list[dict]:
    return [e for e in ledger(fake) if e["object"] == "Task"]


def test_an_expired_access_token_is_renewed_and_the_writes_go_on(salesforce, fake_salesforce, clock, worker):
    fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock(), push_limit=0)
    worker.run_until_idle()
    fake_salesforce.expired = True  # the session timed out; the refresh token still works

    result = sync_connection(salesforce, clock())
    assert result.errors == [] and result.pushed.written == 1
    conn = Connection.objects.get(pk=salesforce.pk)
    assert conn.status == "active" and not mail.outbox  # nobody needs telling
    (task,) = tasks(fake_salesforce)
    assert task["properties"]["Description"].startswith("Hi, this is Maple Clinic. A friendly reminder")
    # The new token is kept encrypted at rest, and used from then on without asking again.
    assert conn.session_encrypted.startswith("00DFAKE!session-1-")
    assert stored("session_encrypted").startswith("gAAAAA") and "session-1" not in stored("session_encrypted")
    sync_connection(conn, clock())
    assert fake_salesforce.issued == 1


def test_query_batches_are_followed_by_next_records_url(salesforce, fake_salesforce, clock):
    ids = fake_salesforce.seed([contact(n) for n in range(1, 451)])
    requests_before = fake_salesforce.request_count
    result = sync_connection(salesforce, clock(), push_limit=0)
    assert (result.pulled.seen, result.pulled.created, result.pulled.errors) == (450, 450, [])
    assert fake_salesforce.request_count - requests_before == 1 + 3  # the newest SystemModstamp, 3 batches of 200
    salesforce.refresh_from_db()
    assert salesforce.full_sync_done and salesforce.pulled_total == 450
    assert salesforce.cursor == fake_salesforce.contact(ids[-1])["SystemModstamp"]
    assert Invoice.objects.count() == 450

    fake_salesforce.seed([{"Id": ids[7], "Duedesk_Due_Date__c": "2026-12-20"}])
    result = sync_connection(salesforce, clock())
    assert result.pulled.changed == 1 and result.pulled.seen == 2  # "at or after" the cursor
    assert Invoice.objects.get(contact__crm_links__crm_id=ids[7]).due_date.isoformat() == "2026-12-20"


def test_a_handoff_is_a_task_for_the_owner(salesforce, fake_salesforce, clock):
    (crm_id,) = fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock())
    person = CrmLink.objects.get(crm_id=crm_id).contact
    actions.open_handoff(person, "dispute", clock(), summary="Says the visit was covered by insurance")
    sync_connection(salesforce, clock(), do_pull=False)
    (task,) = tasks(fake_salesforce)
    props = task["properties"]
    assert (props["OwnerId"], props["Status"], props["Priority"]) == ("005FAKE00000077AAA", "Not Started", "High")
    assert props["Subject"] == "duedesk handoff: Dispute — Maria Lopez1"
    assert "Summary: Says the visit was covered by insurance" in props["Description"]
    assert props["WhoId"] == crm_id
    assert props["ActivityDate"] == "2026-12-07"
    assert fake_salesforce.contact(crm_id)["Duedesk_Last_Outcome__c"] == "Needs a person: Dispute"


def test_a_task_is_dated_on_the_clinics_day(salesforce, fake_salesforce, clock):
    (crm_id,) = fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock())
    person = CrmLink.objects.get(crm_id=crm_id).contact
    late = clock().replace(day=8, hour=2, minute=30)  # 21:30 on the 7th in New York, the 8th in UTC
    actions.open_handoff(person, "hardship", late)
    sync_connection(salesforce, late, do_pull=False)
    (task,) = tasks(fake_salesforce)
    assert task["properties"]["ActivityDate"] == "2026-12-07"


def test_a_payment_in_duedesk_writes_the_balance_back_and_is_not_read_as_a_change(salesforce, fake_salesforce,
                                                                                   clock):
    (crm_id,) = fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock())
    invoice = Invoice.objects.get()
    actions.record_payment(invoice, invoice.balance, clock(), actor="staff")
    sync_connection(salesforce, clock())
    assert fake_salesforce.contact(crm_id)["Duedesk_Balance__c"] == 0.0
    assert fake_salesforce.contact(crm_id)["Duedesk_Last_Outcome__c"] == "Paid in full"
    result = sync_connection(salesforce, clock() + timedelta(minutes=5))
    assert result.pulled.changed == 0


def test_connect_says_what_is_wrong(org, salesforce_env, clock, settings):
    with pytest.raises(ConnectError, match="must be named DUEDESK_SALESFORCE_"):
        connect(org, "salesforce", "DUEDESK_HUBSPOT_TOKEN", clock())
    with pytest.raises(ConnectError, match="consumer key with a refresh token's variable"):
        connect(org, "salesforce", "DUEDESK_SALESFORCE_TOKEN", clock(), oauth={"client_id": CLIENT_ID})
    settings.CRM_SECRETS = {**settings.CRM_SECRETS, "DUEDESK_SALESFORCE_OTHER": "wrong"}
    with pytest.raises(ConnectError, match=r"Salesforce refused to give a new access token \(refresh token\): "
                                           "expired access/refresh token"):
        connect(org, "salesforce", "DUEDESK_SALESFORCE_OTHER", clock(),
                oauth={**OAUTH, "refresh_token_env": "DUEDESK_SALESFORCE_OTHER"})
    with pytest.raises(ConnectError, match=r"Salesforce refused the access token \(INVALID_SESSION_ID\)"):
        connect(org, "salesforce", "DUEDESK_SALESFORCE_OTHER", clock())
    settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "salesforce": ""}
    with pytest.raises(ConnectError, match="DUEDESK_SALESFORCE_BASE_URL is not set"):
        connect(org, "salesforce", "DUEDESK_SALESFORCE_TOKEN", clock())
    assert not Connection.objects.exists()


def test_connect_names_the_task_field_the_admin_must_create(org, settings, clock):
    with make_fake() as fake:
        del fake.fields["Task"]["Duedesk_Event_Id__c"]
        settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "salesforce": fake.url}
        settings.CRM_SECRETS = {"DUEDESK_SALESFORCE_TOKEN": TOKEN}
        with pytest.raises(ConnectError, match="Salesforce's Task has no field Duedesk_Event_Id__c: create it"):
            connect(org, "salesforce", "DUEDESK_SALESFORCE_TOKEN", clock())
    assert not Connection.objects.exists()


def test_a_field_the_mapping_names_but_salesforce_lacks_is_named(salesforce, fake_salesforce, clock):
    from duedesk.integrations.crm.mapping import set_mapping

    set_mapping(salesforce, {"balance": "Balance_Owed__c"})
    fake_salesforce.seed([contact(1)])
    result = sync_connection(salesforce, clock())
    assert result.errors == ["Salesforce refused the request (400 INVALID_FIELD): No such column 'Balance_Owed__c' "
                             "on entity 'Contact'. If you are attempting to use a custom field, be sure to append the "
                             "'__c' after the custom field name."]
    salesforce.refresh_from_db()
    assert salesforce.last_pull_error == result.errors[0] and not Contact.objects.exists()


def test_jwt_bearer_connects_without_a_stored_token(org, settings, clock):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with make_fake(jwt_public_key=public, jwt_username="integration@clinic.example") as fake:
        settings.CRM_BASE_URLS = {**settings.CRM_BASE_URLS, "salesforce": fake.url}
        settings.CRM_SECRETS = {"DUEDESK_SALESFORCE_JWT_KEY": private.replace("\n", "\\n")}  # one line in .env
        conn, _ = connect(org, "salesforce", "", clock(), oauth={
            "client_id": CLIENT_ID, "private_key_env": "DUEDESK_SALESFORCE_JWT_KEY",
            "jwt_username": "integration@clinic.example"})
        assert conn.token_env == "" and conn.session_encrypted.startswith("00DFAKE!session-1-")
        fake.seed([contact(1)])
        fake.expired = True  # the session times out: a new assertion gets a new one
        assert sync_connection(conn, clock()).pulled.created == 1
        assert fake.issued == 2
        assert check_connection(Connection.objects.get(pk=conn.pk), clock()) == ""

        conn.jwt_username = "someone.else@clinic.example"
        fake.expired = True
        assert check_connection(conn, clock()) == ("Salesforce refused to give a new access token (JWT bearer grant): "
                                                   "user hasn't approved this consumer")


def test_the_daily_allowance_is_kept_for_the_status_page(salesforce, fake_salesforce, clock):
    fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock())
    salesforce.refresh_from_db()
    assert salesforce.api_usage == f"api-usage={fake_salesforce.used}/100000"
    assert OutboxItem.objects.count() == 0


def test_a_full_sync_interrupted_past_its_query_locator_starts_again(salesforce, fake_salesforce, clock):
    from duedesk.integrations.crm import providers
    from duedesk.integrations.crm.pull import pull
    from duedesk.integrations.salesforce import mapping

    fake_salesforce.seed([contact(n) for n in range(1, 451)])
    pull(salesforce, providers.client_for(salesforce), clock(), mapping.STANDARD, max_pages=1)
    salesforce.refresh_from_db()
    assert salesforce.full_sync_after.startswith("/services/data/v59.0/query/") and Contact.objects.count() == 200
    fake_salesforce.locators.clear()  # 15 minutes unused: Salesforce forgets the query
    result = sync_connection(salesforce, clock())
    assert result.errors == [] and (result.pulled.seen, result.pulled.created) == (450, 250)
    salesforce.refresh_from_db()
    assert salesforce.full_sync_done and Contact.objects.count() == Invoice.objects.count() == 450


def test_a_429_from_in_front_of_salesforce_waits_for_retry_after(salesforce, fake_salesforce, clock, worker):
    fake_salesforce.seed([contact(1)])
    sync_connection(salesforce, clock(), push_limit=0)
    worker.run_until_idle()
    fake_salesforce.fail_next(method="POST", path="/services/data/v59.0/sobjects/Task", status=429, retry_after=11)
    result = sync_connection(salesforce, clock(), do_pull=False)
    assert result.pushed.waiting_for == 11.0
    item = OutboxItem.objects.get(event__kind="sms.sent")
    assert (item.status, item.attempts, item.run_at) == ("pending", 0, clock() + timedelta(seconds=11))
    assert item.last_error == "Salesforce's API request limit was reached (TotalRequests Limit exceeded.); waiting 11 s"
    assert sync_connection(salesforce, clock() + timedelta(seconds=11), do_pull=False).pushed.written == 1
    assert len(tasks(fake_salesforce)) == 1
