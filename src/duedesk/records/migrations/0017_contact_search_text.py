"""Contacts' search column: names, email and phone without accents or case, so "lucia" finds "Lucía".

Filled here for the contacts already kept: on PostgreSQL by lower(unaccent(...)) in one UPDATE (the
`unaccent` extension spells letters as core.folding does; tests/records/test_search.py checks they agree),
then served by a trigram GIN index (`pg_trgm`) that answers LIKE '%lucia%' without reading every contact.
CREATE EXTENSION needs a role allowed to create them (the owner of the database on PostgreSQL 13+ for these
two trusted extensions, or a superuser). Elsewhere (SQLite) the rows are folded in Python, a batch at a time;
the search there reads the column without an index.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

import duedesk.records.fields
from duedesk.core.folding import fold

SOURCES = ("first_name", "last_name", "email", "phone")
BATCH = 2000


def fill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("UPDATE records_contact SET search_text = lower(unaccent(concat_ws(' ', first_name, "
                           "last_name, email, phone)))")
            cursor.execute("CREATE INDEX records_contact_search_trgm ON records_contact "
                           "USING gin (search_text gin_trgm_ops)")
            return
        last = 0
        while True:
            cursor.execute("SELECT id, first_name, last_name, email, phone FROM records_contact WHERE id > %s "
                           "ORDER BY id LIMIT %s", [last, BATCH])
            batch = cursor.fetchall()
            if not batch:
                return
            cursor.executemany("UPDATE records_contact SET search_text = %s WHERE id = %s",
                               [(fold(" ".join(v or "" for v in row[1:])), row[0]) for row in batch])
            last = batch[-1][0]


def unfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS records_contact_search_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("records", "0016_line_type_lookups"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=duedesk.records.fields.FoldedTextField(sources=SOURCES),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
        # An invoice found by its reference in any case ("inv-1042"), as the search box looks it up.
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(Upper("external_ref"), models.F("organization"), name="invoice_ref_any_case"),
        ),
    ]
