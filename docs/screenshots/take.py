"""Take the README's screenshots from a running demo: `make run`, then
`.venv/bin/python docs/screenshots/take.py http://127.0.0.1:8000 USER PASSWORD` (the login `make run` printed).

Needs the dev extra (Playwright) and Chromium (Debian's `chromium`, or PLAYWRIGHT_CHROMIUM).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def chromium() -> str:
    path = os.environ.get("PLAYWRIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        sys.exit("Chromium not found: install Debian's `chromium` or set PLAYWRIGHT_CHROMIUM")
    return path


def log_in(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def save(page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(HERE / f"{name}.png"), full_page=full_page)
    print(f"docs/screenshots/{name}.png")


def wide_pages(page, base: str) -> None:
    save(page, "overview")
    page.goto(f"{base}/inbox/")
    save(page, "inbox")
    page.goto(f"{base}/inbox/?filter=hardship")  # a call with its transcript and collected answers
    page.locator("table a[href^='/inbox/']").first.click()
    page.wait_for_selector(".transcript")
    save(page, "handoff", full_page=False)
    page.get_by_role("link", name="Contact page").click()
    save(page, "contact", full_page=False)
    page.goto(f"{base}/workflows/")
    page.locator("section.card h2 a[href^='/workflows/']").first.click()
    page.get_by_role("button", name="Preview this draft").click()
    page.wait_for_selector("#preview .plan-row")
    save(page, "workflow-blocks", full_page=False)
    page.goto(f"{base}/settings/twilio/")
    save(page, "twilio", full_page=False)


def import_report(page, base: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "december.csv"
        file.write_text("Invoice #,First,Last,Mobile,Balance,Due\n"
                        "DEC-101,Ana,Diaz,212 555 0301,120.00,2027-01-20\n"
                        "DEC-102,Tom,Ruiz,212 555 0302,lots,2027-01-20\n"
                        "DEC-103,Lia,Moss,212 555 0303,80.00,2027-01-21\n"
                        "DEC-104,Kim,Park,no phone,60.00,2027-01-21\n")
        page.goto(f"{base}/contacts/import/")
        page.get_by_label("CSV or Excel file").set_input_files(str(file))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_selector("text=Which column is which?")
        page.get_by_label("First", exact=True).select_option("first_name")
        page.get_by_label("Last", exact=True).select_option("last_name")
        page.get_by_role("button", name="Import").click()
        page.wait_for_selector(".facts", timeout=120_000)  # the running worker takes the import
        save(page, "import-report", full_page=False)


def main() -> None:
    base, user, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport=WIDE).new_page()
        log_in(page, base, user, password)
        wide_pages(page, base)
        import_report(page, base)
        phone = browser.new_context(viewport=PHONE).new_page()
        log_in(phone, base, user, password)
        save(phone, "overview-phone")
        browser.close()


if __name__ == "__main__":
    main()
