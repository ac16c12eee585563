"""Each page renders for a member, and each action changes what it should, through the engine."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.records.models import Event, Handoff, Instalment, Membership

pytestmark = pytest.mark.django_db


def test_login_page_and_login(client, staff):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": staff.username, "password": "a-long-password-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_pages_need_login(client):
    for url in ("/", "/inbox/", "/contacts/", "/workflows/", "/settings/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_logout_is_a_post(login, staff):
    client = login(staff)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_reset_sends_an_email(client, staff):
    response = client.post("/password-reset/", {"email": staff.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/reset/" in mail.outbox[0].body


def test_inbox_lists_with_counts_and_filters(login, staff, case, org, make_contact, clock):
    from duedesk.engine import actions

    other = make_contact()
    actions.open_handoff(other, "dispute", clock() + timedelta(hours=1), summary="Says the bill is wrong")
    client = login(staff)
    page = client.get("/inbox/").content.decode()
    assert page.index(other.full_name) < page.index("Ana Reyes")  # newest first
    hardship = client.get("/inbox/?filter=hardship").content.decode()
    assert "Ana Reyes" in hardship and other.full_name not in hardship
    assert client.get("/inbox/?filter=mine").context["filters"][1][:3] == ("mine", "Mine", 0)
    counts = {k: n for k, _, n, _ in client.get("/inbox/").context["filters"]}
    assert counts["all"] == 2 and counts["unassigned"] == 2 and counts["dispute"] == 1 and counts["hardship"] == 1


def test_inbox_counts_are_one_query(login, staff, case, django_assert_max_num_queries):
    client = login(staff)
    client.get("/inbox/")  # warm the session
    with django_assert_max_num_queries(6):
        client.get("/inbox/")


def test_handoff_detail_shows_why_answers_transcript_timeline(login, staff, case):
    page = login(staff).get(f"/inbox/{case['handoff'].pk}/").content.decode()
    for text in ("Lost her job", "Identity verified", "lost job", "100 a month", "I lost my job",
                 case["invoice"].external_ref, "Reminders started", "Handed to a person"):
        assert text in page


def test_assign_to_me_and_to_a_teammate(login, staff, owner, case):
    client = login(staff)
    url = f"/inbox/{case['handoff'].pk}/assign/"
    client.post(url, {"assignee": "me"})
    case["handoff"].refresh_from_db()
    assert case["handoff"].assignee == staff
    client.post(url, {"assignee": owner.pk})
    case["handoff"].refresh_from_db()
    assert case["handoff"].assignee == owner
    event = Event.objects.filter(kind="handoff.assigned").last()
    assert event.actor == f"staff:{staff.username}" and event.detail["to"] == owner.username


def test_reply_by_text_passes_the_gate_and_sends(login, staff, case, clock):
    clock.set(clock().replace(hour=16))  # 11:00 in New York: inside the window
    login(staff).post(f"/inbox/{case['handoff'].pk}/reply/", {"body": "Hi Ana, we can set up a plan."})
    sent = Event.objects.get(kind="sms.sent", actor=f"staff:{staff.username}")
    assert "we can set up a plan" in sent.detail["body"] and "STOP" in sent.detail["body"]
    from duedesk.records.models import Message

    assert Message.objects.get(contact=case["contact"], direction="out").status == "sent"


def test_reply_outside_the_window_is_deferred_and_says_why(login, staff, case, clock):
    clock.set(clock().replace(hour=3))  # 22:00 in New York the night before
    response = login(staff).post(f"/inbox/{case['handoff'].pk}/reply/", {"body": "Hello"}, follow=True)
    assert "Not sent now: outside the send window. Allowed from Dec 7, " in response.content.decode()  # not the code
    assert Event.objects.filter(kind="sms.deferred", detail__rule="send_window").exists()
    assert not Event.objects.filter(kind="sms.sent").exists()


def test_reply_to_an_opted_out_contact_is_blocked(login, staff, case, clock):
    from duedesk.engine import actions

    actions.opt_out(case["contact"], ("sms",), clock())
    clock.set(clock().replace(hour=16))
    response = login(staff).post(f"/inbox/{case['handoff'].pk}/reply/", {"body": "Hello"}, follow=True)
    assert "Not sent: opted out of texts." in response.content.decode()
    assert Event.objects.filter(kind="sms.blocked").exists()


def test_note_and_call_back_land_on_the_timeline(login, staff, case):
    client = login(staff)
    client.post(f"/inbox/{case['handoff'].pk}/note/", {"text": "Prefers mornings"})
    client.post(f"/inbox/{case['handoff'].pk}/call/", {"call-text": "Called back, left a message"})
    kinds = set(Event.objects.filter(actor=f"staff:{staff.username}").values_list("kind", flat=True))
    assert {"staff.note", "staff.call_logged"} <= kinds


def _resolve(client, handoff, **data):
    return client.post(f"/inbox/{handoff.pk}/resolve/", data)


def test_resolve_with_a_payment_plan(login, staff, case):
    response = _resolve(login(staff), case["handoff"], outcome="payment_plan",
                        plan="2027-01-15 100.00\n2027-02-15 100.00\n2027-03-15 100.00")
    assert response.status_code == 302
    invoice = case["invoice"]
    invoice.refresh_from_db()
    assert invoice.status == "in_plan"
    assert list(Instalment.objects.filter(invoice=invoice).values_list("amount", flat=True)) == [Decimal("100")] * 3
    live = Enrollment.objects.get(invoice=invoice, status__in=Enrollment.LIVE)
    assert live.workflow.slug == "payment-plan"
    step = Step.objects.get(enrollment=live, status="pending")
    assert step.step_id == "instalment_reminder" and step.run_at.date() == date(2027, 1, 14)
    handoff = Handoff.objects.get(pk=case["handoff"].pk)
    assert handoff.status == "resolved" and handoff.resolution == "payment_plan" and handoff.resolved_at
    assert Event.objects.filter(kind="handoff.resolved", actor=f"staff:{staff.username}").exists()


def test_payment_plan_form_errors_name_the_line(login, staff, case):
    response = _resolve(login(staff), case["handoff"], outcome="payment_plan", plan="2027-01-15 100\nsoon 50")
    assert response.status_code == 400 and "Line 2" in response.content.decode()
    assert Handoff.objects.get(pk=case["handoff"].pk).status == "open"


def test_resolve_pause_until_a_date(login, staff, case):
    _resolve(login(staff), case["handoff"], outcome="pause", until="2027-01-05")
    case["invoice"].refresh_from_db()
    assert case["invoice"].paused_until.date() == date(2027, 1, 5)


@pytest.mark.parametrize("outcome,status", [("disputed", "disputed"), ("written_off", "written_off"),
                                            ("paid", "paid")])
def test_resolve_closing_outcomes_stop_reminders(login, staff, case, outcome, status):
    _resolve(login(staff), case["handoff"], outcome=outcome, note="checked")
    case["invoice"].refresh_from_db()
    assert case["invoice"].status == status
    assert not Enrollment.objects.filter(invoice=case["invoice"], status__in=Enrollment.LIVE).exists()
    assert not Step.objects.filter(enrollment__invoice=case["invoice"], status="pending").exists()


def test_resolve_resume_reenrolls(login, staff, case, clock):
    from duedesk.engine import actions

    actions.set_invoice_status(case["invoice"], "hardship", clock())
    actions.exit_invoice_enrollments(case["invoice"], "handoff", clock())
    _resolve(login(staff), case["handoff"], outcome="resume")
    case["invoice"].refresh_from_db()
    assert case["invoice"].status == "open"
    assert Enrollment.objects.filter(invoice=case["invoice"], status__in=Enrollment.LIVE).exists()


def test_contact_search_by_name_phone_and_reference(login, staff, case, make_contact):
    for n in range(30):
        make_contact(first_name="Zed", last_name=f"Other{n}")
    client = login(staff)
    assert "Ana Reyes" in client.get("/contacts/?q=Reyes").content.decode()
    assert "Ana Reyes" in client.get("/contacts/?q=Ana Reyes").content.decode()
    assert "Ana Reyes" in client.get(f"/contacts/?q={case['contact'].phone}").content.decode()
    assert "Ana Reyes" in client.get(f"/contacts/?q={case['invoice'].external_ref}").content.decode()
    assert "Ana Reyes" not in client.get("/contacts/?q=Zed").content.decode()
    first = client.get("/contacts/")
    assert first.context["page"].paginator.num_pages == 2
    assert client.get("/contacts/?page=2").status_code == 200


def test_contact_page_shows_invoices_consent_and_timeline(login, staff, case, clock):
    from duedesk.engine import actions

    actions.opt_out(case["contact"], ("call",), clock())
    page = login(staff).get(f"/contacts/{case['contact'].pk}/").content.decode()
    assert case["invoice"].external_ref in page and "Opted out" in page and "Reminders started" in page


def test_mark_paid_cancels_pending_steps(login, staff, case):
    invoice = case["invoice"]
    assert Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()
    client = login(staff)
    client.post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": "300.00",
                                                  f"pay{invoice.pk}-paid_on": "2026-12-06"})
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance == 0
    assert not Step.objects.filter(enrollment__invoice=invoice, status="pending").exists()
    page = client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    assert "status-step-cancelled" in page
    assert Event.objects.get(kind="payment.recorded").actor == f"staff:{staff.username}"


def test_record_a_payment_taken_at_the_desk_with_how_and_the_receipt(login, staff, case, clock):
    invoice = case["invoice"]
    client = login(staff)
    page = client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    today = clock().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    assert f'name="pay{invoice.pk}-paid_on" value="{today}"' in page  # "Paid on" is the office's today
    assert "Record payment" in page
    client.post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": "120.00",
                                                  f"pay{invoice.pk}-paid_on": today,
                                                  f"pay{invoice.pk}-method": "check",
                                                  f"pay{invoice.pk}-reference": "Check 1042"})
    event = Event.objects.get(kind="payment.recorded")
    assert event.detail["method"] == "check" and event.detail["reference"] == "Check 1042"
    assert event.detail["paid_on"] == today and event.detail["amount"] == "120.00"
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("180.00") and invoice.status == "open"


def test_partial_payment_settles_covered_instalments(login, staff, case, clock):
    from duedesk.inbox import actions

    invoice = case["invoice"]
    actions.set_payment_plan(invoice, [(date(2027, 1, 15), Decimal("100")), (date(2027, 2, 15), Decimal("200"))],
                             clock(), actor="staff:x")
    login(staff).post(f"/invoices/{invoice.pk}/paid/", {f"pay{invoice.pk}-amount": "100",
                                                        f"pay{invoice.pk}-paid_on": "2026-12-07"})
    assert list(Instalment.objects.filter(invoice=invoice).values_list("status", flat=True)) == ["paid", "pending"]


def test_pause_and_resume_outreach(login, staff, case):
    client = login(staff)
    client.post(f"/contacts/{case['contact'].pk}/outreach/", {"on": "0"})
    case["contact"].refresh_from_db()
    assert not case["contact"].outreach_on
    assert Step.objects.filter(enrollment__invoice=case["invoice"], status="held").exists()
    client.post(f"/contacts/{case['contact'].pk}/outreach/", {"on": "1"})
    case["contact"].refresh_from_db()
    assert case["contact"].outreach_on


def test_remind_now_sends_a_gated_text(login, staff, case, clock):
    clock.set(clock().replace(hour=16))
    login(staff).post(f"/invoices/{case['invoice'].pk}/remind/")
    sent = Event.objects.get(kind="sms.sent")
    assert "$300.00" in sent.detail["body"] and sent.actor == f"staff:{staff.username}"
    assert "Ana" not in sent.detail["body"]  # texts never name the patient


def test_edit_contact_normalizes_phone_and_names_the_field(login, staff, case):
    client = login(staff)
    data = {"first_name": "Ana", "last_name": "Reyes", "phone": "(212) 555-0199", "email": "ana@example.com",
            "zip_code": "", "timezone": "", "language": "en", "date_of_birth": "1980-03-03"}
    assert client.post(f"/contacts/{case['contact'].pk}/edit/", data).status_code == 302
    case["contact"].refresh_from_db()
    assert case["contact"].phone == "+12125550199"
    bad = client.post(f"/contacts/{case['contact'].pk}/edit/", {**data, "phone": "12"})
    assert bad.status_code == 400 and "Phone: &#x27;12&#x27; is not a valid phone number" in bad.content.decode()


def test_workflow_list_shows_versions_and_enrollments(login, staff, case, make_invoice, clock):
    from duedesk.engine import actions

    settled = make_invoice()
    actions.enroll_invoice(settled, clock())
    actions.mark_invoice_paid(settled, clock())  # its enrollment ends: counted in the total only
    page = login(staff).get("/workflows/")
    rows = dict(page.context["workflows"])
    assert (rows["payment-reminders"][0].live, rows["payment-reminders"][0].total) == (1, 2)
    assert '<td class="num">1</td><td class="num">2</td>' in page.content.decode()


def test_invalid_workflow_shows_the_line_and_saves_nothing(login, staff, org):
    client = login(staff)
    source = Workflow.objects.get(organization=org).source
    broken = source.replace("    at: due_date - 3d", "    at: due_date - soon", 1)
    line = broken.splitlines().index("    at: due_date - soon") + 1
    response = client.post("/workflows/payment-reminders/", {"source": broken})
    assert response.status_code == 400
    assert f"line {line}:" in response.content.decode()
    assert Workflow.objects.filter(organization=org).count() == 1


def test_valid_workflow_saves_a_new_version(login, staff, org):
    client = login(staff)
    source = Workflow.objects.get(organization=org).source.replace("due_date - 3d", "due_date - 4d")
    assert client.post("/workflows/payment-reminders/", {"source": source}).status_code == 302
    latest = Workflow.objects.filter(organization=org).order_by("-version").first()
    assert latest.version == 2 and "due_date - 4d" in latest.source and latest.created_by == staff


def test_workflow_preview_uses_the_planner(login, staff, org):
    page = login(staff).get("/workflows/payment-reminders/", {"due": "2027-03-10", "tz": "America/Chicago",
                                                              "start": "2027-02-20"})
    rows = page.context["preview_rows"]
    first = rows[0]
    assert first.step == "heads_up" and first.when.isoformat() == "2027-03-08T15:00:00+00:00"  # the 7th is a Sunday: Monday 09:00 Chicago
    call = next(r for r in rows if r.step == "late_call")
    assert call.when.date() == date(2027, 3, 15)
    assert "If the patient promises a date" in page.content.decode()
    assert any(r.step == "promise_reminder" for r in page.context["promise_rows"])


def test_overview_renders_figures_and_svg(login, staff, case, clock):
    from duedesk.engine import actions

    actions.record_payment(case["invoice"], Decimal("50"), clock())
    page = login(staff).get("/").content.decode()
    assert "$250.00" in page and "$50.00" in page and page.count("<svg") >= 3


def test_settings_for_owner(login, owner, org):
    client = login(owner)
    page = client.get("/settings/").content.decode()
    assert "Simulated" in page
    data = {"name": "Maple Clinic East", "timezone": "America/Chicago", "window_start": "09:00",
            "window_end": "18:00", "window_days": ["mon", "tue", "wed", "thu", "fri"], "callback_number": "212 555 0100",
            "voicemail_name": "Dana", "billing_email": "billing@example.com"}
    assert client.post("/settings/", data).status_code == 302
    org.refresh_from_db()
    assert org.name == "Maple Clinic East" and org.callback_number == "+12125550100"


def test_settings_keep_the_offices_holidays_and_closed_days(login, owner, org):
    client = login(owner)
    data = {"name": "Maple Clinic", "timezone": "America/New_York", "window_start": "09:00", "window_end": "18:00",
            "window_days": ["mon", "tue", "wed", "thu", "fri"], "voicemail_name": "Dana", "holiday_calendar": "US",
            "closed_dates": "2026-12-24, 2026-12-31",
            "open_dates": "2026-11-11"}
    assert client.post("/settings/", {**data, "closed_dates": "Dec 24"}).status_code == 400
    assert client.post("/settings/", data).status_code == 302
    org.refresh_from_db()
    assert org.closed_dates == ["2026-12-24", "2026-12-31"] and org.open_dates == ["2026-11-11"]
    holidays, closed = org.days_closed(2026)
    assert date(2026, 12, 25) in holidays and date(2026, 11, 11) not in holidays and date(2026, 12, 24) in closed
    assert "2026-12-24, 2026-12-31" in client.get("/settings/").content.decode()


def test_twilio_configured_when_sid_and_token_env(org, settings):
    from duedesk.web.settings_views import channel_status

    assert channel_status(org)[0]["state"] == "Simulated"
    org.twilio_account_sid = "AC123"
    org.twilio_auth_token_env = "CLINIC_TWILIO_TOKEN"
    settings.TWILIO_AUTH_TOKENS = {"CLINIC_TWILIO_TOKEN": "secret"}
    assert channel_status(org)[0]["state"] == "Configured"


def test_settings_is_for_owners_only(login, staff):
    assert login(staff).get("/settings/").status_code == 403


def test_invite_a_teammate(login, owner, org):
    client = login(owner)
    response = client.post("/settings/invite/", {"email": "Sam@Example.com", "role": "viewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(organization=org, user__email="sam@example.com")
    assert membership.role == "viewer"
    assert len(mail.outbox) == 1 and "/reset/" in mail.outbox[0].body and "Maple Clinic" in mail.outbox[0].subject


def test_change_role(login, owner, staff, org):
    membership = Membership.objects.get(user=staff)
    login(owner).post(f"/settings/members/{membership.pk}/role/", {"role": "viewer"})
    membership.refresh_from_db()
    assert membership.role == "viewer"


def test_settings_offer_common_zones_first_without_aliases_and_send_days_as_boxes(login, owner, org):
    client = login(owner)
    page = client.get("/settings/").content.decode()
    assert page.index("Eastern time (New York)") < page.index("Africa/Abidjan".replace("_", " "))
    assert "US/Eastern" not in page and "EST5EDT" not in page
    assert 'type="checkbox" name="window_days" value="sat"' in page.replace(" checked", "").replace("\n", "")
    data = {"name": "Maple Clinic", "timezone": "America/Chicago", "window_start": "09:00", "window_end": "18:00",
            "window_days": ["tue", "mon", "sat"], "voicemail_name": "Dana"}
    assert client.post("/settings/", data).status_code == 302
    org.refresh_from_db()
    assert org.window_days == "mon,tue,sat" and org.timezone == "America/Chicago"
    refused = client.post("/settings/", {**data, "window_days": []})
    assert refused.status_code == 400 and "Pick at least one send day." in refused.content.decode()
    assert client.post("/settings/", {**data, "timezone": "US/Eastern"}).status_code == 400


def test_the_settings_and_a_contacts_page_write_their_fields_without_a_template_each(login, owner, org, case):
    """The settings' four hundred time zones took a Django template each (and one more for each option's
    attributes): most of the page's time. Inputs and selects are written out directly, the same markup: the
    groups, the saved zone chosen, a contact's payment method and language."""
    org.timezone = "America/Chicago"
    org.save()
    client = login(owner)
    settings = client.get("/settings/")
    html = settings.content.decode()
    assert not [t.name for t in settings.templates if t.name.startswith("django/forms/widgets/select")]
    assert '<optgroup label="Common in the US"><option value="America/New_York">Eastern time (New York)</option>' in html
    assert '<option value="America/Chicago" selected>Central time (Chicago)</option>' in html
    assert re.search(r'<input type="time" name="window_start" value="[0-9:]+" required id="id_window_start">', html)
    contact = client.get(f"/contacts/{case['contact'].pk}/")
    assert len(contact.templates) < 20, [t.name for t in contact.templates]
    html = contact.content.decode()
    assert f'<select id="id_pay{case["invoice"].pk}-method" name="pay{case["invoice"].pk}-method">' in html
    assert '<option value="card" selected>Card</option>' in html and '<option value="en" selected>English</option>' in html


def test_amounts_are_written_one_way_on_the_staff_pages(login, staff, case, make_invoice, make_contact, clock):
    from duedesk.engine import actions

    big = make_invoice(contact=case["contact"], amount="1250.00", due=date(2026, 12, 20))
    handoff = actions.open_handoff(case["contact"], "dispute", clock(), invoice=big, summary="Says it is wrong")
    client = login(staff)
    for url in (f"/contacts/{case['contact'].pk}/", f"/inbox/{handoff.pk}/", "/inbox/"):
        page = client.get(url).content.decode()
        assert "$1,250.00" in page and "$1250.00" not in page, url
    assert "$1,550.00" in client.get("/contacts/").content.decode()  # what Ana owes in all


def test_the_overview_writes_amounts_in_the_offices_currency(login, staff, org, make_invoice, clock):
    from duedesk.engine import actions

    org.default_currency = "EUR"
    org.save()
    actions.enroll_invoice(make_invoice(amount="1250.00", due=date(2026, 11, 20), currency="EUR"), clock())
    overview = login(staff).get("/").content.decode()
    assert "€1,250.00" in overview and "€1,250<" in overview and "$" not in overview
