"""A clinic manager builds a workflow from blocks in a real browser, at desk and phone width: moves the call
above the text with the keyboard, changes a wait from 5 to 7 days, adds a Spanish text, previews the unsaved
draft (the real message, local times with the zone), and publishes it, moving running invoices along."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.browser.test_accessibility import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def office(transactional_db, org, make_invoice, clock, monkeypatch):
    from django.contrib.auth import get_user_model

    from duedesk.records.models import Membership

    monkeypatch.setattr("duedesk.web.access.now", clock)
    user = get_user_model().objects.create_user("dana", "dana@mapleclinic.example", PASSWORD)
    Membership.objects.create(user=user, organization=org, role="owner")
    return {"org": org, "user": user, "invoice": make_invoice(), "clock": clock}


def signed_in(context, user, base_url):
    """The owner's session cookie, without typing the password (the login form has its own tests)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": base_url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


@pytest.mark.parametrize("width", [1280, 390])
def test_build_a_workflow_from_blocks_preview_and_publish(browser, live_server, office, width, shot):
    from playwright.sync_api import expect  # here, not at collection: only the process running it pays

    from duedesk.engine import actions, definitions
    from duedesk.engine.models import Enrollment, Workflow

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        signed_in(context, office["user"], live_server.url)
        page.goto(f"{live_server.url}/workflows/")
        page.get_by_label("New workflow's name").fill("Short reminders")
        page.get_by_role("button", name="Start with blocks").click()
        page.wait_for_url("**/workflows/short-reminders/")
        # An invoice already running the first version, to be moved when the next one is published.
        running = actions.enroll_invoice(office["invoice"], office["clock"](),
                                         definitions.current(office["org"], "short-reminders"))
        # Blocks only: a wait of 5 days and a call, added below the text.
        page.get_by_label("Add a block").select_option("wait")
        page.get_by_role("button", name="Add block").click()
        wait = page.locator("li.block-wait")
        wait.get_by_label("How many").fill("5")
        page.get_by_label("Add a block").select_option("call")
        page.get_by_role("button", name="Add block").click()
        # The page comes back with the block added: wait for it (a busy machine may show the one before a while).
        expect(page.locator("li.block h3")).to_have_text(["Reminder", "New wait", "New call"])
        expect(page.locator(":focus")).to_have_value("New call")  # the keyboard goes on from the new block
        assert wait.get_by_label("How many").input_value() == "5"  # kept through the round trip

        # The call above the text, by keyboard only.
        page.get_by_role("button", name="Move up: New call").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        assert [t.strip() for t in page.locator("li.block h3").all_inner_texts()] == [
            "New call", "Reminder", "New wait"]
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move up: New call"
        if width == 1280:  # and by dragging: the text above the call, then back down with the keyboard
            page.locator("li.block-call").evaluate("el => el.scrollIntoView({block: 'start'})")
            handle = page.locator("li.block-sms .drag-handle").bounding_box()
            top = page.locator("li.block-call").bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(top["x"] + 40, top["y"] + 10, steps=5)
            page.mouse.move(top["x"] + 40, top["y"] + 8)
            page.mouse.up()
            assert page.locator("li.block h3").first.inner_text().strip() == "Reminder"
            page.get_by_role("button", name="Move down: Reminder").focus()
            page.keyboard.press("Enter")
            assert [t.strip() for t in page.locator("li.block h3").all_inner_texts()] == [
                "New call", "Reminder", "New wait"]
        expect(wait.locator(".when-words")).to_have_text("for 5 days")
        wait.get_by_label("How many").fill("7")
        text = page.locator("li.block-sms")
        text.locator("summary", has_text="Add a Spanish message").click()
        text.get_by_label("Message in Spanish").fill(
            "Hola, le escribe {{ org.name }}. Su saldo de {{ invoice.amount }} vence el {{ invoice.due_date }}.")
        expect(page.locator("#sample-reminder-es")).to_contain_text("Hola, le escribe Maple Clinic.")  # live

        # A decision at the bottom, its condition picked from lists: finish once nothing is owed.
        page.get_by_label("Add a block").select_option("branch")
        page.get_by_role("button", name="Add block").click()
        decision = page.locator("li.block-branch")
        looks_at = decision.get_by_label("Condition 1: what it looks at")
        looks_at.select_option("written")  # anything the pickers cannot say is written as text
        expect(decision.get_by_label("Condition 1: value")).to_be_hidden()
        expect(decision.get_by_label("Condition 1 as written")).to_be_visible()
        looks_at.select_option(label="Balance still owed")
        expect(decision.get_by_label("Condition 1 as written")).to_be_hidden()
        decision.get_by_label("Condition 1: how it compares").select_option(label="is at most")
        decision.get_by_label("Condition 1: value").fill("0")
        decision.get_by_label("If true, go to (condition 1)").select_option(label="Finish")
        assert wait.get_by_label("How many").input_value() == "7"  # kept through adding the block

        # The preview of the unsaved draft, for a Spanish-speaking patient in Los Angeles.
        page.get_by_label("Due date").fill("2027-03-10")
        page.get_by_label("Patient's time zone").select_option("America/Los_Angeles")
        page.get_by_label("Patient's language").select_option("es")
        page.get_by_label("Enrolled on").fill("2027-02-20")
        page.get_by_role("button", name="Preview this draft").click()
        plan = page.get_by_label("Planned steps for the sample patient")
        expect(plan).to_contain_text("PST")
        rows = plan.locator("li").all_inner_texts()
        assert "New call" in rows[0] and "PST" in rows[0]  # the call runs first now
        assert any("Hola, le escribe Maple Clinic. Su saldo de $250.00 vence el" in r and "Sun, Mar 7" not in r
                   for r in rows)
        assert any("New wait" in r and "Wait for 7 days" in r for r in rows)
        assert "reminder" not in " ".join(rows).replace("Reminder", "")  # names in words, not ids
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(UNLABELLED) == []
        if width == 1280:  # the README's picture: the blocks beside the preview
            page.evaluate("window.scrollTo(0, 0)")
            shot(page, "workflow-blocks", full_page=False)
        else:
            shot(page, "workflow-blocks-phone")

        # A notice for the CRM and the webhooks at the end, its notice chosen from the list, in the preview.
        page.get_by_label("Add a block").select_option("notify")
        page.get_by_role("button", name="Add block").click()
        notice = page.locator("li.block-notify")
        expect(notice.locator("h3")).to_have_text("New notice")
        notice.get_by_label("What they are told").select_option(label="Ready for collections")
        page.get_by_role("button", name="Preview this draft").click()
        expect(page.get_by_label("Planned steps for the sample patient")).to_contain_text(
            "Tell other systems: Ready for collections")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(UNLABELLED) == []

        # Publish, moving the invoice already running to the new version at its next step.
        page.get_by_label("Move to this version at their next step").check()
        page.get_by_role("button", name="Check and publish").click()
        page.wait_for_selector("text=Published as version 2")
        latest = Workflow.objects.filter(slug="short-reminders").order_by("-version").first()
        assert latest.version == 2
        assert [s.split(": ")[1] for s in latest.source.splitlines() if s.startswith("  - id:")] == [
            "new_call", "reminder", "new_wait", "new_decision", "new_notice"]
        assert "notify: collections" in latest.source
        assert "wait: 7d" in latest.source and "Hola, le escribe" in latest.source
        assert "      - if: invoice.balance <= 0\n        goto: end\n" in latest.source
        assert Enrollment.objects.get(pk=running.pk).data["move_to"] == latest.pk
    finally:
        context.close()
