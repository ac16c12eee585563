"""A billing office's everyday stories in a real browser, at desktop and phone widths: resolve a hardship handoff
with a payment plan that must add up, import a CSV with bad rows and download its problems, export the inbox as
CSV with a filter, record a payment and undo it, and set Twilio up down to a test call to one's own phone. Each
page keeps its fields labelled and nothing scrolls sideways on a phone."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]
FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def office(request, browser, live_server, clinic):
    """The owner, logged in, in a browser as wide as a desk screen or a phone."""
    context = browser.new_context(viewport={"width": request.param, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server.url)
    yield page
    context.close()


def looks_right(page):
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(FITS), ("the page scrolls sideways", page.evaluate(WIDEST))


def test_resolve_a_hardship_handoff_with_a_plan_that_must_add_up(office, live_server, clinic, shot):
    from playwright.sync_api import expect

    page = office
    page.goto(f"{live_server.url}/inbox/")
    page.locator(".filters a", has_text="Hardship").click()
    page.wait_for_url("**/inbox/?filter=hardship")
    page.get_by_role("link", name="Ana Reyes").click()
    transcript = page.locator(".transcript:visible")
    expect(transcript).to_have_count(1)  # once, at either width (when the handoff's page is there)
    assert "I lost my job last month" in transcript.inner_text()
    answers = page.get_by_label("Collected answers").text_content()
    assert "Identity verified" in answers and "$100 a month" in answers
    looks_right(page)
    if page.viewport_size["width"] == 1280:
        shot(page, "handoff")
    page.get_by_label("Outcome").select_option("payment_plan")
    page.get_by_label("Number of instalments").fill("3")
    page.get_by_label("First payment on").fill("2027-01-15")
    page.get_by_role("button", name="Build the instalments").click()
    page.wait_for_selector("#plan-rows tr.instalment-row >> nth=2")  # swapped in by htmx, the page stays
    page.get_by_label("Instalment 1 amount").fill("50.00")  # does not add up to $300.00 any more
    page.get_by_role("button", name="Resolve handoff").click()
    page.wait_for_selector("text=$50.00 short of the balance of $300.00")
    page.get_by_label("Instalment 3 amount").fill("150.00")
    page.get_by_role("button", name="Resolve handoff").click()
    page.wait_for_selector("text=Resolved: Set a payment plan")
    expect(page.locator("tr.instalment")).to_have_count(3)
    assert "Instalment reminder" in page.get_by_label("Planned steps").inner_text()
    looks_right(page)


def test_import_a_csv_with_two_bad_rows_and_download_the_problems(office, live_server, clinic, clock, shot,
                                                                  tmp_path):
    from duedesk.integrations.jobs import Between

    page = office
    file = tmp_path / "december.csv"
    file.write_text("Invoice #,First,Last,Mobile,Balance,Due\n"
                    "DEC-1,Ana,Diaz,212 555 0301,120.00,2026-12-20\n"
                    "DEC-2,Tom,Ruiz,212 555 0302,lots,2026-12-20\n"
                    "DEC-3,Lia,Moss,212 555 0303,80.00,2026-12-21\n"
                    "DEC-4,Kim,Park,no phone,60.00,2026-12-21\n")
    desk = page.viewport_size["width"] == 1280
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("link", name="Import invoices (CSV or Excel)").click()
    page.get_by_label("CSV or Excel file").set_input_files(str(file))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("text=Which column is which?")
    page.get_by_label("First", exact=True).select_option("first_name")
    page.get_by_label("Last", exact=True).select_option("last_name")
    looks_right(page)
    if desk:
        shot(page, "import-columns")
    page.get_by_role("button", name="Import").click()
    page.wait_for_selector("text=Waiting for the worker to start")
    Between(clock, every=0)()  # the worker's turn: the page polls and shows the report
    page.wait_for_selector("text=rows with problems, not imported")
    assert "2 invoices added" in " ".join(page.locator(".facts").inner_text().split())
    looks_right(page)
    if desk:
        shot(page, "import-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the problems (CSV)").click()
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "line,column,reason" and [row.split(",")[:2] for row in lines[1:]] == [
        ["3", "Balance"], ["5", "Mobile"]]  # the columns as the file names them


def test_export_the_inbox_as_csv_with_a_filter(office, live_server):
    page = office
    page.goto(f"{live_server.url}/inbox/")
    page.locator(".filters a", has_text="Hardship").click()
    page.wait_for_url("**filter=hardship**")
    looks_right(page)
    with page.expect_download() as caught:
        page.get_by_role("link", name="Export CSV").click()
    download = caught.value
    assert download.suggested_filename == "handoffs-hardship.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0][:6] == ["opened (America/New_York)", "reason", "status", "patient", "phone", "invoice"]
    [ana] = rows[1:]  # only the hardship handoff: the filter went with the export
    assert ana[1:4] == ["Hardship", "Open", "Ana Reyes"]
    assert ana[7] == "Lost her job last month; asks to pay the balance over three months."


def test_record_a_payment_then_undo_it(office, live_server, clinic):
    from playwright.sync_api import expect

    page = office
    ellen = clinic["contacts"][7]
    page.goto(f"{live_server.url}/contacts/{ellen.pk}/")
    invoice = page.locator(f"#invoice-{clinic['invoices'][7].pk}")
    assert invoice.locator(".invoice-head b").first.inner_text() == "$510.00"
    looks_right(page)

    invoice.get_by_label("Amount paid").fill("200")
    invoice.get_by_label("How").select_option(label="Check")
    invoice.get_by_label("Receipt or check number").fill("CHK-1042")
    invoice.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("balance $310.00", exact=False).first).to_be_visible()  # once the answer is there
    expect(invoice.locator(".invoice-head b").first).to_have_text("$310.00")
    payments = invoice.locator("tr.payment")
    assert "CHK-1042" in payments.inner_text() and "$200.00" in payments.inner_text()
    timeline = page.locator(".timeline")
    assert "$200.00 paid · balance $310.00" in timeline.inner_text()
    looks_right(page)

    invoice.locator("details.payment-undo summary").click()
    invoice.get_by_label("Why").fill("Check bounced")
    invoice.get_by_role("button", name="Undo payment").click()
    expect(page.get_by_text("Reminders are planned again.", exact=False)).to_be_visible()
    expect(invoice.locator(".invoice-head b").first).to_have_text("$510.00")
    expect(invoice.locator("tr.payment-undone")).to_have_count(1)
    assert "$200.00 taken off again · balance $510.00 · Check bounced" in timeline.inner_text()
    looks_right(page)


@pytest.fixture
def twilio(settings):
    from duedesk.integrations.twilio.fake import FakeTwilio

    settings.PUBLIC_URL = "https://billing.mapleclinic.example"
    with FakeTwilio(callbacks=False) as fake:
        settings.TWILIO_BASE_URL = fake.base_url
        settings.TWILIO_AUTH_TOKENS = {"MAPLE_TWILIO_TOKEN": fake.auth_token}
        yield fake


def test_fill_the_twilio_page_see_the_webhooks_and_place_a_test_call(office, live_server, twilio):
    from playwright.sync_api import expect

    page = office
    page.goto(f"{live_server.url}/settings/twilio/")
    expect(page.get_by_role("heading", name="Not ready yet")).to_be_visible()
    looks_right(page)
    page.get_by_label("Account SID").fill(twilio.account_sid)
    page.get_by_label("Auth token's environment variable").fill("MAPLE_TWILIO_TOKEN")
    page.get_by_label("Sender number").fill("(212) 555-0199")
    page.get_by_label("Caller ID for calls").fill("212 555 0155")
    page.get_by_label("Callback number (the office line)").fill("212 555 0100")
    page.get_by_label("Name said in voicemails").fill("Dana")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Twilio settings saved.")).to_be_visible()  # once the saved page is there
    expect(page.get_by_text("Twilio is set up: texts and calls go through your account.")).to_be_visible()
    expect(page.get_by_label("Account SID")).to_have_value(twilio.account_sid)

    hooks = page.locator("input.webhook-url")
    urls = [hooks.nth(i).input_value() for i in range(hooks.count())]
    assert len(urls) >= 6 and all(u.startswith("https://billing.mapleclinic.example/hooks/twilio/") for u in urls)
    assert "https://billing.mapleclinic.example/hooks/twilio/sms" in urls
    assert page.get_by_role("button", name="Copy").count() == len(urls)
    page.get_by_role("button", name="Copy").first.click()
    # The label changes when the clipboard answers, a moment after the click: wait for it.
    expect(page.get_by_role("button", name="Copied")).to_have_count(1)
    looks_right(page)

    page.get_by_label("Your mobile number").fill("646 555 0123")
    page.get_by_role("button", name="Place a test call").click()
    page.get_by_text("Test call placed to +16465550123").wait_for()
    expect(page.get_by_text("your phone should ring now", exact=False)).to_be_visible()
    [call] = twilio.calls
    assert call.params["From"] == "+12125550155"
    assert "This is a test call from duedesk for Maple Clinic." in call.params["Twiml"]
    looks_right(page)
