"""Tenants never see each other's rows, and viewers never change anything: every URL, exhaustively."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from duedesk.engine.models import Workflow
from duedesk.intake.models import Upload
from duedesk.integrations.calendars.models import CalendarFeed
from duedesk.integrations.calendars.models import Connection as CalendarConnection
from duedesk.integrations.crm.models import Connection
from duedesk.integrations.webhooks.models import Delivery, Endpoint
from duedesk.records.models import Contact, Event, Handoff, Invoice, Line, LineChange, Membership

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete"}


def _urls(case, staff):
    h, c, i = case["handoff"].pk, case["contact"].pk, case["invoice"].pk
    m = Membership.objects.get(user=staff).pk
    ep, d = _webhook(case)
    crm = _crm(case)
    up = _upload(case)
    paid = _payment(case)
    pay = {f"pay{i}-amount": "10", f"pay{i}-paid_on": "2026-12-07"}
    gets = {
        "overview": "/", "inbox": "/inbox/", "inbox_detail": f"/inbox/{h}/", "contacts": "/contacts/",
        "contact_detail": f"/contacts/{c}/", "contact_consent_history": f"/contacts/{c}/consent/history/",
        "workflows": "/workflows/",
        "workflow_edit": "/workflows/payment-reminders/", "settings": "/settings/",
        "webhooks": "/settings/webhooks/", "webhook_detail": f"/settings/webhooks/{ep}/",
        "calendar_mine": "/calendar/",
        "calendar_connect": "/calendar/connect/google/", "calendar_connected": "/calendar/connected/google/",
        "settings_integrations": "/settings/integrations/",
        "crm_salesforce_callback": "/settings/integrations/salesforce/callback/",
        "inbox_export": "/inbox/export.csv", "contacts_export": "/contacts/export.csv",
        "promises_export": "/promises/export.csv", "payments_export": "/payments/export.csv",
        "attempts_export": "/audit/export.csv",
        "settings_twilio": "/settings/twilio/",
        "import_start": "/contacts/import/", "import_detail": f"/contacts/import/{up}/",
        "import_columns": f"/contacts/import/{up}/columns/", "import_problems_csv": f"/contacts/import/{up}/problems.csv",
        "account": "/account/",
    }
    posts = {
        "inbox_assign": (f"/inbox/{h}/assign/", {"assignee": "me"}),
        "inbox_reply": (f"/inbox/{h}/reply/", {"body": "hello"}),
        "inbox_note": (f"/inbox/{h}/note/", {"text": "a note"}),
        "inbox_call": (f"/inbox/{h}/call/", {"call-text": "called"}),
        "inbox_resolve": (f"/inbox/{h}/resolve/", {"outcome": "paid"}),
        "inbox_reopen": (f"/inbox/{h}/reopen/", {}),
        "inbox_bulk": ("/inbox/bulk/", {"ids": [str(h)], "action": "resolve:paid"}),
        "contact_edit": (f"/contacts/{c}/edit/", {"first_name": "X", "phone": "2125550199", "language": "en"}),
        "contact_outreach": (f"/contacts/{c}/outreach/", {"on": "0"}),
        "contact_consent": (f"/contacts/{c}/consent/", {"consent-action": "withdraw", "consent-line": "phone"}),
        "invoice_paid": (f"/invoices/{i}/paid/", pay),
        "invoice_edit": (f"/invoices/{i}/edit/", {f"inv{i}-due_date": "2027-01-15", f"inv{i}-amount_due": "250.00"}),
        "invoice_remind": (f"/invoices/{i}/remind/", {}),
        "workflow_edit": ("/workflows/payment-reminders/", {"source": "name: x\nsteps: []\n"}),
        "workflow_preview": ("/workflows/payment-reminders/preview/", {"source": "name: x\nsteps: []\n",
                                                                       "due": "2027-03-10"}),
        "workflow_add": ("/workflows/add/", {"name": "rent"}),
        "workflow_new": ("/workflows/new/", {"name": "Dental reminders"}),
        "workflow_use": ("/workflows/payment-reminders/use/", {}),
        "settings": ("/settings/", {"name": "Changed"}),
        "settings_invite": ("/settings/invite/", {"email": "new@example.com", "role": "staff"}),
        "settings_role": (f"/settings/members/{m}/role/", {"role": "viewer"}),
        "settings_channel_resume": ("/settings/channels/sms/resume/", {}),
        "webhooks": ("/settings/webhooks/", {"url": "https://example.org/hook", "kind": "standard"}),
        "calendar_new": ("/calendar/new/", {}),
        "calendar_revoke": ("/calendar/revoke/", {}),
        "calendar_roles": ("/calendar/google/roles/", {"promises": "on"}),
        "calendar_disconnect": ("/calendar/google/disconnect/", {}),
        "webhook_toggle": (f"/settings/webhooks/{ep}/toggle/", {}),
        "webhook_test": (f"/settings/webhooks/{ep}/test/", {}),
        "webhook_replay": (f"/settings/webhooks/deliveries/{d}/replay/", {}),
        "crm_connect": ("/settings/integrations/connect/", {"provider": "hubspot", "token_env": "DUEDESK_HUBSPOT_UNSET"}),
        "crm_salesforce_sign_in": ("/settings/integrations/salesforce/sign-in/",
                                   {"client_id": "3MVG9", "client_secret_env": "DUEDESK_SALESFORCE_UNSET"}),
        "crm_test": (f"/settings/integrations/{crm}/test/", {}),
        "crm_sync_now": (f"/settings/integrations/{crm}/sync/", {}),
        "crm_disconnect": (f"/settings/integrations/{crm}/disconnect/", {}),
        "import_start": ("/contacts/import/", {"file": _csv_file()}),
        "settings_twilio": ("/settings/twilio/", {"sms_from": "2125550188", "twilio_auth_token_env": "X_TWILIO"}),
        "settings_twilio_test": ("/settings/twilio/test/", {"to": "2125550177"}),
        "settings_twilio_call": ("/settings/twilio/test-call/", {"to": "2125550177"}),
        "payment_undo": (f"/payments/{paid}/undo/", {"reason": "check bounced"}),
        "import_columns": (f"/contacts/import/{up}/columns/", {"column-0": "external_ref", "column-1": "amount_due",
                                                               "column-2": "due_date", "column-3": "phone"}),
        "account": ("/account/", {"language": ""}),  # one's own pages' language: every role, no one else's
    }
    return gets, posts


def _webhook(case):
    from django.utils import timezone

    org = case["contact"].organization
    ep, _ = Endpoint.objects.get_or_create(organization=org, url="https://example.org/in",
                                           defaults={"created_at": timezone.now()})
    d, _ = Delivery.objects.get_or_create(endpoint=ep, message_id="msg_1", defaults={
        "type": "sms.sent", "payload": {}, "next_attempt_at": timezone.now(), "created_at": timezone.now()})
    return ep.pk, d.pk


def _upload(case):
    from django.utils import timezone

    upload, _ = Upload.objects.get_or_create(
        organization=case["contact"].organization, filename="pm.csv",
        defaults={"uploaded_at": timezone.now(), "status": "mapping", "headers": ["Ref", "Amt", "Due", "Cell"],
                  "content": "Ref,Amt,Due,Cell\nA-9,10,2026-12-20,2125550109\n", "rows_total": 1})
    return upload.pk


def _payment(case):
    from decimal import Decimal

    from django.utils import timezone

    from duedesk.engine import actions

    invoice = case["invoice"]
    found = Event.objects.filter(invoice=invoice, kind="payment.recorded").first()
    return (found or actions.record_payment(invoice, Decimal("1.00"), timezone.now(), actor="staff:x") and
            Event.objects.get(invoice=invoice, kind="payment.recorded")).pk


def _csv_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.csv", b"external_ref,amount_due,due_date,phone\nB-1,10,2026-12-20,2125550110\n")


def _crm(case):
    from django.utils import timezone

    conn, _ = Connection.objects.get_or_create(organization=case["contact"].organization, provider="hubspot",
                                               defaults={"token_env": "DUEDESK_HUBSPOT_UNSET",
                                                         "created_at": timezone.now()})
    return conn.pk


def test_the_tables_cover_every_named_url(case, staff):
    gets, posts = _urls(case, staff)
    names = {p.name for p in get_resolver().url_patterns[-1].url_patterns if getattr(p, "name", None)}
    assert names - PUBLIC == set(gets) | set(posts)


def _snapshot(org):
    return (
        list(Handoff.objects.filter(organization=org).values()),
        list(Contact.objects.filter(organization=org).values()),
        list(Invoice.objects.filter(organization=org).values()),
        Event.objects.filter(organization=org).count(),
        list(Membership.objects.filter(organization=org).values()),
        Workflow.objects.filter(organization=org).count(),
        list(type(org).objects.filter(pk=org.pk).values()),
        list(Endpoint.objects.filter(organization=org).values()),
        Delivery.objects.filter(endpoint__organization=org).count(),
        list(CalendarFeed.objects.filter(organization=org).values()),
        list(CalendarConnection.objects.filter(organization=org).values()),
        list(Connection.objects.filter(organization=org).values()),
        list(Line.objects.filter(organization=org).values()),
        LineChange.objects.filter(organization=org).count(),
        list(Upload.objects.filter(organization=org).values()),
    )


def test_another_organization_gets_404_on_every_object(login, outsider, case, staff):
    gets, posts = _urls(case, staff)
    client = login(outsider)
    org = case["contact"].organization
    before = _snapshot(org)
    for name in ("inbox_detail", "contact_detail", "contact_consent_history", "workflow_edit", "webhook_detail",
                 "import_detail", "import_columns", "import_problems_csv"):
        assert client.get(gets[name]).status_code == 404, name
    for name, (url, data) in posts.items():
        if name in ("settings", "settings_invite", "webhooks", "workflow_add", "workflow_new", "calendar_new", "calendar_revoke",
                    "crm_connect", "crm_salesforce_sign_in", "settings_channel_resume", "inbox_bulk",
                    "import_start", "settings_twilio", "settings_twilio_test", "settings_twilio_call", "account"):
            continue  # not an object: the outsider acts on their own organization
        assert client.post(url, data).status_code == 404, name
    assert _snapshot(org) == before
    # Ticking another organization's handoffs does nothing to them.
    client.post(*posts["inbox_bulk"])
    assert _snapshot(org) == before


def test_outsider_lists_show_none_of_our_rows(login, outsider, case):
    client = login(outsider)
    for url in ("/inbox/", "/contacts/", "/"):
        assert "Ana Reyes" not in client.get(url).content.decode()
    for url in ("/inbox/export.csv", "/contacts/export.csv", "/promises/export.csv", "/payments/export.csv",
                "/audit/export.csv"):
        assert "Reyes" not in b"".join(client.get(url).streaming_content).decode(), url
    assert list(client.get("/contacts/?q=Ana").context["page"].object_list) == []


def test_viewer_reads_but_every_post_is_403_and_changes_nothing(login, viewer, case, staff):
    gets, posts = _urls(case, staff)
    client = login(viewer)
    org = case["contact"].organization
    for name, url in gets.items():
        expected = 403 if name in ("settings", "webhooks", "webhook_detail", "settings_integrations",
                                   "attempts_export", "calendar_connect", "calendar_connected",
                                   "crm_salesforce_callback", "settings_twilio") else 200
        assert client.get(url).status_code == expected, name
    before = _snapshot(org)
    for name, (url, data) in posts.items():
        assert client.post(url, data).status_code == (302 if name == "account" else 403), name
    assert _snapshot(org) == before


def test_staff_cannot_use_owner_settings(login, staff, case):
    _, posts = _urls(case, staff)
    client = login(staff)
    before = _snapshot(case["contact"].organization)
    for name in ("settings", "settings_twilio", "settings_twilio_test", "settings_twilio_call", "settings_invite",
                 "settings_role",
                 "workflow_use", "webhooks", "webhook_toggle", "webhook_test",
                 "webhook_replay", "crm_connect", "crm_salesforce_sign_in", "crm_test", "crm_sync_now",
                 "crm_disconnect"):
        url, data = posts[name]
        assert client.post(url, data).status_code == 403, name
    assert _snapshot(case["contact"].organization) == before


def test_user_without_membership_is_refused(client, db, case):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user("loner", "l@example.com", "a-long-password-1")
    client.force_login(loner)
    assert client.get("/inbox/").status_code == 403


# Twilio's webhooks belong to no session: each is signed with the owning organization's token, and a request
# that is not (a forged one, another tenant's) is refused before anything is read or written.
TWILIO_WEBHOOKS = {"twilio-sms", "twilio-sms-status", "twilio-voice-incoming", "twilio-voice-answer",
                   "twilio-voice-turn", "twilio-voice-amd", "twilio-voice-status",
                   "twilio-voice-relay-end"}


def test_every_twilio_webhook_refuses_an_unsigned_request(client, case, settings):
    from django.urls import reverse

    from duedesk.integrations.twilio import urls as twilio_urls

    assert {p.name for p in twilio_urls.urlpatterns} == TWILIO_WEBHOOKS
    org = case["contact"].organization
    org.sms_from = org.voice_caller_id = "+12125550199"
    org.twilio_account_sid = "AC" + "0" * 32
    org.save()
    settings.TWILIO_AUTH_TOKENS = {"DUEDESK_TWILIO_AUTH_TOKEN": "test-token"}
    before = _snapshot(org)
    for name in sorted(TWILIO_WEBHOOKS):
        data = {"To": "+12125550199", "From": case["contact"].phone, "CallSid": "CA" + "1" * 32, "Body": "hi"}
        assert client.post(reverse(name), data, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403, name
    assert _snapshot(org) == before
