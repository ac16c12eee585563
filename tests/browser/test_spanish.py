"""A person switches their own pages to Spanish on their account page, at desktop and phone widths, and reads
times in Spanish order; the contact search finds an accented name typed without its accent."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in


@pytest.mark.parametrize("width", [1280, 390])
def test_switch_the_pages_to_spanish(browser, live_server, clinic, shot, width):
    from playwright.sync_api import expect

    from duedesk.engine import actions

    actions.update_contact(clinic["contacts"][4], {"first_name": "Lucía", "last_name": "Muñoz"},
                           clinic["invoices"][4].created_at, actor="staff:dana", source="ui")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/account/")
        page.get_by_label("Language of these pages").select_option("es")
        page.get_by_role("button", name="Save").click()
        # The page was /account/ before the click too: wait for what the answer says, not for the address.
        expect(page.get_by_role("heading", name="Tu cuenta")).to_be_visible()
        expect(page.get_by_text("Tus páginas están ahora en Español.")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.get_by_role("link", name="Contactos").first.click()
        expect(page.get_by_role("heading", name="Contactos")).to_be_visible()
        page.get_by_label("Buscar por nombre, teléfono o referencia de factura").fill("lucia munoz")
        page.get_by_role("button", name="Buscar").click()
        # The list before the search shows her too: wait for the searched page's count, not for her link.
        expect(page.get_by_text("Página 1 de 1 · 1 contacto")).to_be_visible()
        expect(page.get_by_role("link", name="Lucía Muñoz")).to_be_visible()
        page.goto(f"{live_server.url}/inbox/")
        expect(page.get_by_role("heading", name="Casos para el equipo")).to_be_visible()
        # Each handoff's time in Spanish order ("7 dic, 10:00 a.m. EST"), not "Dec 7, 10:00 AM EST".
        expect(page.locator("td time").first).to_have_text(re.compile(
            r"^\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic), \d{1,2}:\d\d [ap]\.m\. [A-Z]{3,4}$"))
        if width == 1280:
            shot(page, "inbox-es")
        # Back to English for this person only.
        page.goto(f"{live_server.url}/account/")
        page.get_by_label("Idioma de estas páginas").select_option("en")
        page.get_by_role("button", name="Guardar").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    finally:
        context.close()
