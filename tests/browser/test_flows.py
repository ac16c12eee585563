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


def test_invalid_workflow_shows_error_on_its_line(logged_in, live_server, shot):
    from playwright.sync_api import expect

    page = logged_in
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Payment reminders").click()
    page.get_by_role("button", name="Edit as text").click()
    expect(page.get_by_role("button", name="Edit as blocks")).to_be_visible()  # the text view is there
    source = page.locator("#source").input_value()
    broken = source.replace("    at: due_date - 3d", "    at: due_date - soon", 1)
    line = broken.splitlines().index("    at: due_date - soon") + 1
    page.locator("#source").fill(broken)
    page.get_by_role("button", name="Check and publish").click()
    expect(page.locator("#problems")).to_contain_text(f"line {line}:")
    expect(page.locator(f"#L{line}.has-error")).to_have_count(1)
    expect(page.locator(".line-errors")).to_contain_text(f"line {line}:")
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
