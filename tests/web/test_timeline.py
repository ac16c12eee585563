"""The contact timeline in the billing office's words: texts quoted, calls with their transcript, and
deferred or blocked steps with the rule that stopped them."""

from __future__ import annotations

import pytest

from duedesk.records.timeline import log
from duedesk.web import timeline

pytestmark = pytest.mark.django_db

TRANSCRIPT = [
    {"speaker": "agent", "text": "Can you pay the balance of $300.00?", "intent": ""},
    {"speaker": "patient", "text": "I can pay on the 18th", "intent": "promise_to_pay"},
]


def _page(login, staff, case):
    return login(staff).get(f"/contacts/{case['contact'].pk}/").content.decode()


def test_a_completed_call_shows_its_transcript_open(login, staff, case, clock):
    log(case["contact"].organization, "call.completed", clock(), contact=case["contact"], invoice=case["invoice"],
        channel="call", outcome="promised", answered_by="human", transcript=TRANSCRIPT,
        collected={"promised_date": "2026-12-18"})
    page = _page(login, staff, case)
    assert "Call completed" in page and "promised a date to pay · will pay on Dec 18, 2026" in page
    assert '<details class="ev-transcript" open>' in page and "Transcript (2 turns)" in page
    assert "Can you pay the balance of $300.00?" in page and "I can pay on the 18th" in page
    assert '<li class="turn turn-patient"><b>Patient</b> <span>I can pay on the 18th</span>' in page
    assert "<b>duedesk</b>" in page
    # What the line was understood as: in words, behind its details toggle, never the code.
    assert '<summary>details</summary>Understood as: Promised a date to pay</details>' in page
    assert "promise_to_pay" not in page


def test_texts_in_and_out_show_what_was_said(login, staff, case, clock):
    org, contact = case["contact"].organization, case["contact"]
    log(org, "sms.sent", clock(), contact=contact, channel="sms", body="Hi Ana, $300.00 is due Dec 1.")
    log(org, "sms.received", clock(), contact=contact, channel="sms", actor="patient", body="Paying Friday")
    page = _page(login, staff, case)
    assert '<blockquote class="ev-text ev-quote">Hi Ana, $300.00 is due Dec 1.</blockquote>' in page
    assert '<blockquote class="ev-text ev-quote">Paying Friday</blockquote>' in page


def test_texts_are_escaped(login, staff, case, clock):
    log(case["contact"].organization, "sms.received", clock(), contact=case["contact"], channel="sms",
        body="<script>alert(1)</script>")
    page = _page(login, staff, case)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_deferred_and_blocked_steps_say_the_rule_in_words(login, staff, case, clock):
    org, contact = case["contact"].organization, case["contact"]
    log(org, "step.deferred", clock(), contact=contact, channel="sms", step="due_today", rule="send_window",
        until=clock().replace(hour=14, day=8))
    log(org, "step.blocked", clock(), contact=contact, channel="sms", step="overdue_text", rule="opted_out")
    log(org, "step.blocked", clock(), contact=contact, channel="call", step="call_1", rule="call_frequency")
    page = _page(login, staff, case)
    assert "Waiting: outside the send window · moved to Dec 8, 9:00 AM EST · “Due today”" in page
    assert "Not sent: opted out of texts · “Overdue text”" in page
    assert "Not sent: 7 call attempts in the last 7 days · “Call 1”" in page
    assert "send_window" not in page.replace("step due_today", "")


@pytest.mark.parametrize("rule, channel, words", [
    ("send_window", "sms", "outside the send window"),
    ("opted_out", "", "opted out"),
    ("opted_out", "call", "opted out of calls"),
    ("outreach_off", "sms", "outreach is switched off for this contact"),
    ("invoice_disputed", "sms", "the invoice is disputed"),
    ("call_after_conversation", "call", "spoke with the patient in the last 7 days"),
    ("some_new_rule", "sms", "some new rule"),
])
def test_rule_words(rule, channel, words):
    assert timeline.rule_words(rule, channel) == words


def test_contact_page_queries_do_not_grow_with_the_timeline(login, staff, case, clock,
                                                            django_assert_max_num_queries):
    org, contact = case["contact"].organization, case["contact"]
    client = login(staff)
    client.get(f"/contacts/{contact.pk}/")
    for _ in range(40):
        log(org, "call.completed", clock(), contact=contact, invoice=case["invoice"], channel="call",
            outcome="promised", transcript=TRANSCRIPT)
        log(org, "handoff.opened", clock(), contact=contact, invoice=case["invoice"], handoff=case["handoff"])
    with django_assert_max_num_queries(13):
        assert client.get(f"/contacts/{contact.pk}/").status_code == 200


def test_staff_pages_give_every_time_in_the_offices_zone_with_its_name(login, staff, case, clock):
    """15:00 UTC on Dec 7 is 10:00 AM in New York, where the clinic is: that is what every page says."""
    client = login(staff)
    contact_page = client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    handoff_page = client.get(f"/inbox/{case['handoff'].pk}/").content.decode()
    inbox = client.get("/inbox/").content.decode()
    assert "Dec 7, 2026 10:00 AM EST" in contact_page  # the timeline and the steps table
    assert "Opened Dec 7, 2026 10:00 AM EST" in handoff_page
    assert "Dec 7, 10:00 AM EST" in inbox
    for page in (contact_page, handoff_page, inbox):
        assert "UTC" not in page


def test_a_workflow_notice_says_what_the_other_systems_were_told(login, staff, case, clock):
    log(case["contact"].organization, "workflow.notice", clock(), contact=case["contact"], invoice=case["invoice"],
        actor="workflow", step="to_collections", notice="collections")
    page = _page(login, staff, case)
    assert "Notice sent to your other systems" in page and "Ready for collections · “To collections”" in page


def test_steps_on_the_contact_page_are_named_in_words(login, staff, case):
    """The steps table names each step as the block editor does, its kind and its status in words: no codes."""
    page = _page(login, staff, case)
    table = page[page.index('aria-label="Steps for'):]
    table = table[:table.index("</table>")]
    assert "<td>Past due</td><td>Wait</td>" in table and ">Pending</span>" in table
    assert "past_due" not in table and "<td>wait</td>" not in table


def test_the_handoff_page_speaks_in_words(login, staff, case):
    """Who spoke, what a patient's line was understood as (behind "details"), the planned steps and any other
    answer the call collected: in words, never the codes the software keeps."""
    handoff = case["handoff"]
    handoff.collected = {**handoff.collected, "outcome": "unclear"}  # as a call that could not go on leaves it
    handoff.save(update_fields=["collected"])
    page = login(staff).get(f"/inbox/{handoff.pk}/").content.decode()
    assert '<li class="turn turn-agent"><b>duedesk</b> <span>Can you pay the balance this month?</span>' in page
    assert '<li class="turn turn-patient"><b>Patient</b> <span>I lost my job, I can do 100 a month</span>' in page
    assert "<summary>details</summary>Understood as: Hardship</details>" in page
    assert "<dt>Outcome</dt><dd>Answer not understood</dd>" in page and ">unclear<" not in page
    planned = page[page.index('aria-label="Planned steps"'):]
    planned = planned[:planned.index("</ul>")]
    assert "Past due · Wait · " in planned and "past_due" not in planned


def test_the_handoff_page_in_spanish(login, staff, case):
    client = login(staff)
    client.post("/account/", {"language": "es"})
    page = client.get(f"/inbox/{case['handoff'].pk}/").content.decode()
    assert "<b>Paciente</b>" in page and "<summary>detalles</summary>Se entendió como: Dificultades económicas" in page


def test_the_contact_page_reads_only_what_it_shows_and_says_it_as_before(login, staff, case, clock):
    """A contact's page spent its time on Python, not SQL: each event's invoice and handoff are read for the
    columns the timeline shows (not the handoff's encrypted answers or summary, not the invoice's amounts), the
    organization is the one the page was opened in, and the steps bring no enrollment. Each row still says
    what happened, when, and who did it, in the page's language."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    sql = [q["sql"] for q in queries.captured_queries]
    events = [q for q in sql if 'FROM "records_event"' in q]
    assert events and not any('"records_handoff"."collected"' in q or '"records_handoff"."summary"' in q
                              or '"records_invoice"."amount_due"' in q for q in events)
    assert not any(q.lstrip().startswith('SELECT "records_organization"') for q in sql)
    assert not any('"engine_enrollment"."workflow' in q for q in sql if 'FROM "engine_step"' in q)
    assert '<span class="ev-kind">Handed to a person</span>' in page and "by duedesk" in page
    assert "Transcript (2 turns)" in page and "I lost my job, I can do 100 a month" in page
    assert ('<tr class="step step-pending"><td>Past due</td><td>Wait</td><td>Dec 7, 2026 10:00 AM EST</td>'
            '<td><span class="status status-step-pending">Pending</span></td></tr>') in page
    client.cookies["django_language"] = "es"
    spanish = client.get(f"/contacts/{case['contact'].pk}/").content.decode()
    assert '<span class="ev-kind">Pasado a una persona</span>' in spanish and "por duedesk" in spanish
    assert '<span class="status status-step-pending">Pendiente</span>' in spanish
