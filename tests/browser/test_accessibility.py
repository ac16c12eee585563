"""Keyboard only, labelled fields, and no sideways scrolling at phone width."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every visible field must have a name a screen reader can say: a <label>, aria-label or aria-labelledby.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""


def test_log_in_with_the_keyboard_alone(page, live_server, clinic):
    page.goto(f"{live_server.url}/login/")
    # Tab until the username field has focus, type, Tab to the password, Enter: no mouse.
    for _ in range(5):
        if page.evaluate("document.activeElement.name") == "username":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-password-1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Overview"
    page.keyboard.press("Tab")  # on every staff page the skip link comes first
    assert "skip" in page.evaluate("document.activeElement.textContent").lower()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


@pytest.mark.parametrize("path", ["/", "/inbox/", "/contacts/", "/contacts/import/", "/workflows/", "/settings/",
                                  "/settings/twilio/"])
def test_every_field_is_labelled_and_nothing_scrolls_sideways_on_a_phone(browser, live_server, clinic, path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}{path}")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_detail_pages_label_every_field(logged_in, live_server, clinic):
    page = logged_in
    for section, links in (("Inbox", "table a, .handoff a"), ("Contacts", "table a, .contact a")):
        page.get_by_role("link", name=section).click()
        page.wait_for_url(f"{live_server.url}/{section.lower()}/")  # the list's page, not the one before it
        detail = page.locator(links).first
        address = detail.get_attribute("href")
        detail.click()
        page.wait_for_url(f"{live_server.url}{address}")  # looked at once the detail page has loaded
        assert page.evaluate(UNLABELLED) == []

