"""The inbox of a busy office: every reason a filter, open / resolved / all, search, pages, bulk actions,
reopen, and the patient's phone one tap away."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from duedesk.engine import actions
from duedesk.records.models import Event, Handoff

pytestmark = pytest.mark.django_db


def _open(make_contact, make_invoice, clock, reason, first, last, hours=0, invoice=True):
    contact = make_contact(first_name=first, last_name=last)
    inv = make_invoice(contact=contact, amount="120.00", due=date(2026, 12, 1)) if invoice else None
    return actions.open_handoff(contact, reason, clock() + timedelta(hours=hours), invoice=inv,
                                summary=f"{first} {reason}")


def test_no_response_is_a_filter_with_its_count_and_resolved_ones_have_their_own_view(
        login, staff, make_contact, make_invoice, clock):
    quiet = _open(make_contact, make_invoice, clock, "no_response", "Omar", "Haddad")
    _open(make_contact, make_invoice, clock, "no_response", "Ellen", "Park", hours=1)
    done = _open(make_contact, make_invoice, clock, "dispute", "Sam", "Okafor", hours=2)
    actions.close_handoff(done, "disputed", clock(), actor="staff:x")
    client = login(staff)

    counts = {key: n for key, _, n, _ in client.get("/inbox/").context["filters"]}
    assert counts["no_response"] == 2 and counts["all"] == 2
    page = client.get("/inbox/?filter=no_response").content.decode()
    assert "Omar Haddad" in page and "Ellen Park" in page and "Sam Okafor" not in page
    resolved = client.get("/inbox/?status=resolved").content.decode()
    assert "Sam Okafor" in resolved and "Omar Haddad" not in resolved
    everything = client.get("/inbox/?status=all")
    assert [h.contact.first_name for h in everything.context["handoffs"]] == ["Sam", "Ellen", "Omar"]
    assert quiet.pk in [h.pk for h in everything.context["handoffs"]]


def test_search_by_name_phone_or_invoice_and_pages_of_fifty(login, staff, make_contact, make_invoice, clock):
    ana = _open(make_contact, make_invoice, clock, "hardship", "Ana", "Reyes")
    for n in range(55):
        _open(make_contact, make_invoice, clock, "no_response", "Pat", f"Number{n}", hours=1, invoice=False)
    client = login(staff)
    assert [h.pk for h in client.get("/inbox/?q=ana reyes").context["handoffs"]] == [ana.pk]
    assert [h.pk for h in client.get(f"/inbox/?q={ana.invoice.external_ref}").context["handoffs"]] == [ana.pk]
    assert [h.pk for h in client.get(f"/inbox/?q={ana.contact.phone}").context["handoffs"]] == [ana.pk]
    first = client.get("/inbox/")
    assert len(first.context["handoffs"]) == 50 and first.context["page"].paginator.num_pages == 2
    second = client.get("/inbox/?page=2")
    assert [h.pk for h in second.context["handoffs"]][-1] == ana.pk  # the oldest, on the last page
    assert client.get("/inbox/?q=%00").status_code == 400


def test_a_search_reads_the_contacts_once_for_its_counts_pages_and_rows(login, staff, make_contact, make_invoice,
                                                                          clock):
    """Each filter's count, the number of pages and the page's rows come from the handoffs the search found
    once: at 100,000 contacts, reading the matching contacts three times was most of the page's SQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(3):
        _open(make_contact, make_invoice, clock, "hardship", "Lucía", f"Muñoz{n}", hours=n)
    _open(make_contact, make_invoice, clock, "dispute", "Ben", "Smith")
    client = login(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/inbox/?status=all&q=lucia")
    assert [h.contact.last_name for h in page.context["handoffs"]] == ["Muñoz2", "Muñoz1", "Muñoz0"]
    assert {key: n for key, _, n, _ in page.context["filters"]}["hardship"] == 3
    assert sum(" LIKE " in q["sql"].upper() for q in queries.captured_queries) == 1  # the contacts, matched


def test_a_page_of_the_inbox_counts_once_and_reads_only_what_its_rows_show(login, staff, make_contact, make_invoice,
                                                                             clock):
    """At 100,000 contacts the list's time went on Python, not SQL: the filter's count (already read with the
    others) gives the number of pages, and the rows read neither the transcripts nor the contacts' and invoices'
    other columns. What a row shows stays: the name, the summary, the reason, the invoice with its balance,
    who has it and when it was opened."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = _open(make_contact, make_invoice, clock, "hardship", "Ana", "Reyes")
    for n in range(52):
        _open(make_contact, make_invoice, clock, "no_response", "Pat", f"Number{n}", hours=1, invoice=False)
    client = login(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/inbox/?page=2")
    sql = [q["sql"] for q in queries.captured_queries]
    assert page.context["page"].paginator.num_pages == 2 and len(page.context["handoffs"]) == 3
    assert sum("COUNT(" in q.upper() for q in sql) == 1  # every filter's count, in one query
    assert not any('"transcript"' in q or '"legal_holds"' in q or '"amount_due"' in q for q in sql)
    html = page.content.decode()
    assert f'<a href="/inbox/{first.pk}/">Ana Reyes</a>' in html and "Ana hardship" in html
    assert f"{first.invoice.external_ref} <span class=\"muted\">$120.00</span>" in html
    assert 'aria-label="Pick Ana Reyes"' in html and ">Hardship</span>" in html and ">Unassigned</td>" in html
    client.cookies["django_language"] = "es"
    spanish = client.get("/inbox/?page=2").content.decode()
    assert ">Dificultades económicas</span>" in spanish and "Sin asignar" in spanish


def test_bulk_assign_then_resolve_names_the_one_that_cannot_be(login, staff, make_contact, make_invoice, clock):
    a = _open(make_contact, make_invoice, clock, "no_response", "Omar", "Haddad")
    b = _open(make_contact, make_invoice, clock, "no_response", "Ellen", "Park")
    lonely = _open(make_contact, make_invoice, clock, "request_human", "Will", "Turner", invoice=False)
    client = login(staff)
    ids = [str(a.pk), str(b.pk), str(lonely.pk)]

    client.post("/inbox/bulk/", {"ids": ids, "action": "assign_me", "query": "filter=no_response"})
    assert set(Handoff.objects.filter(assignee=staff).values_list("pk", flat=True)) == {a.pk, b.pk, lonely.pk}

    response = client.post("/inbox/bulk/", {"ids": ids, "action": "resolve:paid", "query": "filter=no_response"},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/inbox/?filter=no_response"
    said = [str(m) for m in response.context["messages"]]
    assert "2 resolved: Mark paid." in said
    assert any(m.startswith("Not resolved — Will Turner") for m in said)
    assert Handoff.objects.get(pk=a.pk).status == "resolved" and Handoff.objects.get(pk=lonely.pk).status == "open"
    assert client.post("/inbox/bulk/", {"ids": ids, "action": "resolve:nonsense"}).status_code == 400


def test_reopen_a_resolved_handoff_and_call_the_patient_from_it(login, staff, make_contact, make_invoice, clock):
    h = _open(make_contact, make_invoice, clock, "dispute", "Grace", "Kim")
    actions.close_handoff(h, "disputed", clock(), actor="staff:x")
    client = login(staff)
    page = client.get(f"/inbox/{h.pk}/").content.decode()
    assert "Resolved: Mark disputed" in page
    assert f'href="tel:{h.contact.phone}"' in page

    client.post(f"/inbox/{h.pk}/reopen/")
    h.refresh_from_db()
    assert h.status == "open" and h.resolution == "" and h.resolved_at is None
    assert Event.objects.filter(kind="handoff.reopened", handoff=h, actor=f"staff:{staff.username}").count() == 1
    assert "Handoff reopened" in client.get(f"/inbox/{h.pk}/").content.decode()


def test_after_a_bulk_action_the_inbox_returns_to_its_own_view_only(login, staff, make_contact, make_invoice, clock):
    a = _open(make_contact, make_invoice, clock, "no_response", "Omar", "Haddad")
    client = login(staff)
    back = client.post("/inbox/bulk/", {"ids": [str(a.pk)], "action": "assign_me",
                                        "query": "filter=no_response&next=https://evil.example&q=omar\r\nX: y"})
    assert back.status_code == 302
    assert back["Location"] == "/inbox/?filter=no_response&q=omar%0D%0AX%3A+y"
