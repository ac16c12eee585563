"""The contacts' search box ignores accents and case ("lucia" finds Lucía, "MUNOZ" finds Muñoz), on names
typed in by staff, imported from a file (one row at a time and in bulk) and changed later; the inbox's search
reads the same column."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from duedesk.core.folding import fold
from duedesk.intake.importer import import_invoices

HEADER = "external_ref,first_name,last_name,phone,email,amount_due,due_date"


def names(client, q: str) -> str:
    return client.get("/contacts/", {"q": q}).content.decode()


def test_search_ignores_accents_and_case(login, staff, make_contact):
    make_contact(first_name="Lucía", last_name="Muñoz", email="lmunoz@example.com")
    make_contact(first_name="José", last_name="Peña")
    make_contact(first_name="Lucas", last_name="Smith")
    client = login(staff)
    for q in ("lucia", "LUCIA", "Lucía", "munoz", "MUÑOZ", "lucia munoz", "munoz lucia", "luc mun", "LMUNOZ@"):
        page = names(client, q)
        assert "Lucía Muñoz" in page, q
        assert "José Peña" not in page and "Lucas Smith" not in page, q
    assert "José Peña" in names(client, "jose pena")
    assert "Lucas Smith" in names(client, "luc") and "Lucía Muñoz" in names(client, "luc")
    assert "No contact matches" in names(client, "lucia pena")
    # A word of one or two letters is the start of a word: "mu" finds Muñoz, "uñ" (inside it) does not.
    assert "Lucía Muñoz" in names(client, "mu") and "No contact matches" in names(client, "uñ")


def test_a_renamed_contact_is_found_by_its_new_name(login, staff, make_contact):
    contact = make_contact(first_name="Ana", last_name="Reyes", phone="+12125550188")
    client = login(staff)
    response = client.post(f"/contacts/{contact.pk}/edit/", {
        "first_name": "Inés", "last_name": "Gómez", "phone": "+12125550188", "email": "", "zip_code": "",
        "timezone": "", "language": "es", "date_of_birth": ""})
    assert response.status_code == 302
    assert "Inés Gómez" in names(client, "ines gomez")
    assert "No contact matches" in names(client, "reyes")


def test_phone_pieces_and_invoice_references_in_any_case(login, staff, make_contact, make_invoice):
    contact = make_contact(first_name="Zoë", last_name="Brontë", phone="+12125550147")
    ref = make_invoice(contact=contact).external_ref
    client = login(staff)
    for q in ("zoe bronte", "555-0147", "(212) 555-0147", ref.lower(), ref):
        assert "Zoë Brontë" in names(client, q), q


@pytest.mark.parametrize("bulk", [False, True], ids=["row by row", "in bulk"])
def test_imported_contacts_are_found_without_accents(login, staff, org, clock, bulk):
    text = "\n".join([HEADER, "INV-1,Begoña,Ibáñez,(212) 555-0101,,120.00,2026-12-20",
                      "INV-2,François,Lefèvre,(212) 555-0102,,80.00,2026-12-20"]) + "\n"
    result = import_invoices(org, io.StringIO(text, newline=""), clock(), bulk=bulk)
    assert result.created == 2 and not result.errors
    client = login(staff)
    assert "Begoña Ibáñez" in names(client, "begona ibanez")
    assert "François Lefèvre" in names(client, "francois lefevre")


def test_the_inbox_search_ignores_accents(login, staff, case, clock):
    from duedesk.engine import actions

    actions.update_contact(case["contact"], {"first_name": "Ángela"}, clock(), actor="staff", source="crm")
    page = login(staff).get("/inbox/", {"q": "angela reyes"}).content.decode()
    assert "Ángela Reyes" in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's unaccent")
@pytest.mark.django_db
def test_folding_agrees_with_postgresql_unaccent():
    """The first fill of the column on PostgreSQL used lower(unaccent(...)); later writes fold in Python."""
    samples = ["Lucía Muñoz", "JOSÉ PEÑA", "Begoña Ibáñez", "François Lefèvre", "Zoë Brontë", "Jürgen Groß",
               "Søren Ærø", "Łukasz Wałęsa", "Nguyễn Văn Đức", "Çağla Şahin", "Ångström", "Œuvre", "São João"]
    with connection.cursor() as cursor:
        for text in samples:
            cursor.execute("SELECT lower(unaccent(%s))", [text])
            assert cursor.fetchone()[0] == fold(text), text
