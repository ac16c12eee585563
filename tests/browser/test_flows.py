"""The staff workspace in a real browser: the flows a billing office relies on."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_overview_charts(logged_in, live_server, shot):
    page = logged_in
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("svg.chart rect.bar").count() >= 5
    shot(page, "overview")


def test_hardship_handoff_transcript_answers_and_payment_plan(logged_in, live_server, clinic, shot):
    page = logged_in
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="Hardship").first.click()
    page.wait_for_url("**/inbox/?filter=hardship")
    shot(page, "inbox")
    page.get_by_role("link", name="Ana Reyes").click()
    assert "I lost my job last month" in page.locator(".transcript").first.inner_text()
    answers = page.get_by_label("Collected answers").text_content()
    assert "Identity verified" in answers and "$100 a month" in answers
    shot(page, "handoff")
    page.get_by_label("Outcome").select_option("payment_plan")
    page.get_by_label("Number of instalments").fill("3")
    page.get_by_label("First payment on").fill("2027-01-15")
    page.get_by_role("button", name="Build the instalments").click()
    page.wait_for_selector("#plan-rows tr.plan-row >> nth=2")  # swapped in by htmx, the page stays
    page.get_by_label("Instalment 1 amount").fill("50.00")  # does not add up to $300.00 any more
    page.get_by_role("button", name="Resolve handoff").click()
    page.wait_for_selector("text=$50.00 short of the balance of $300.00")
    page.get_by_label("Instalment 3 amount").fill("150.00")
    page.get_by_role("button", name="Resolve handoff").click()
    page.wait_for_selector("text=Resolved: Set a payment plan")
    assert page.locator("tr.instalment").count() == 3
    assert "Instalment reminder" in page.get_by_label("Planned steps").inner_text()


def test_invalid_workflow_shows_error_on_its_line(logged_in, live_server, shot):
    page = logged_in
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Payment reminders").click()
    page.get_by_role("button", name="Edit as text").click()
    source = page.locator("#source").input_value()
    broken = source.replace("    at: due_date - 3d", "    at: due_date - soon", 1)
    line = broken.splitlines().index("    at: due_date - soon") + 1
    page.locator("#source").fill(broken)
    page.get_by_role("button", name="Check and publish").click()
    page.wait_for_selector("#problems")
    assert f"line {line}:" in page.locator("#problems").inner_text()
    assert page.locator(f"#L{line}.has-error").count() == 1
    assert f"line {line}:" in page.locator(".line-errors").inner_text()
    page.locator(f"#L{line}").scroll_into_view_if_needed()
    shot(page, "workflow-error", full_page=False)


def test_workflow_preview(logged_in, live_server, shot):
    page = logged_in
    page.goto(f"{live_server.url}/workflows/payment-reminders/")
    page.get_by_label("Due date").fill("2027-03-10")
    page.get_by_label("Enrolled on").fill("2027-02-20")
    page.get_by_role("button", name="Preview this draft").click()
    page.wait_for_selector("#preview .plan-row")
    assert "Heads up" in page.locator("#preview").inner_text() and "heads_up" not in page.locator("#preview").inner_text()
    shot(page, "workflow")


def test_mark_paid_cancels_pending_steps(logged_in, live_server, clinic, shot):
    page = logged_in
    invoice = clinic["invoices"][1]
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_label("Search by name, phone or invoice reference").fill("Carter")
    page.get_by_role("link", name="James Carter").click()
    from playwright.sync_api import expect

    box = page.locator(f"#invoice-{invoice.pk}")
    expect(box.locator(".status-step-pending").first).to_be_visible()  # once the contact's page is there
    box.get_by_label("Paid on").fill("2026-12-06")
    box.get_by_role("button", name="Record payment").click()
    page.wait_for_selector("text=Payment recorded")
    box = page.locator(f"#invoice-{invoice.pk}")
    expect(box.locator(".status-step-pending")).to_have_count(0)
    expect(box.locator(".status-step-cancelled").first).to_be_visible()
    shot(page, "contact")


def test_phone_width_and_settings(browser, live_server, clinic, shot):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url)
    shot(page, "overview-phone")
    page.goto(f"{live_server.url}/settings/")
    assert "Simulated" in page.content()
    context.close()


def test_import_a_csv_with_two_bad_rows_and_download_the_problems(logged_in, live_server, clinic, clock, shot,
                                                                  tmp_path):
    from duedesk.integrations.jobs import Between

    page = logged_in
    file = tmp_path / "december.csv"
    file.write_text("Invoice #,First,Last,Mobile,Balance,Due\n"
                    "DEC-1,Ana,Diaz,212 555 0301,120.00,2026-12-20\n"
                    "DEC-2,Tom,Ruiz,212 555 0302,lots,2026-12-20\n"
                    "DEC-3,Lia,Moss,212 555 0303,80.00,2026-12-21\n"
                    "DEC-4,Kim,Park,no phone,60.00,2026-12-21\n")
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("link", name="Import invoices (CSV or Excel)").click()
    page.get_by_label("CSV or Excel file").set_input_files(str(file))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("text=Which column is which?")
    page.get_by_label("First", exact=True).select_option("first_name")
    page.get_by_label("Last", exact=True).select_option("last_name")
    shot(page, "import-columns")
    page.get_by_role("button", name="Import").click()
    page.wait_for_selector("text=Waiting for the worker to start")
    Between(clock, every=0)()  # the worker's turn: the page polls and shows the report
    page.wait_for_selector("text=rows with problems, not imported")
    assert "2 invoices added" in " ".join(page.locator(".facts").inner_text().split())
    shot(page, "import-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the problems (CSV)").click()
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "line,column,reason" and [row.split(",")[:2] for row in lines[1:]] == [
        ["3", "Balance"], ["5", "Mobile"]]  # the columns as the file names them
