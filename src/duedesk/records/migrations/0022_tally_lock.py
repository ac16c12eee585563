from django.db import migrations

from duedesk.records import tallies


def replace_functions(apps, schema_editor):
    """The handoffs' and promises' trigger functions lock the invoice FOR NO KEY UPDATE (0021: FOR UPDATE,
    which also waited for every transaction that had just written a row pointing at the invoice)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    create, _ = tallies.postgresql()
    for statement in create:
        if statement.startswith(("CREATE OR REPLACE FUNCTION records_handoff_", "CREATE OR REPLACE FUNCTION records_promise_")):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0021_invoice_tallies'),
    ]

    operations = [
        migrations.RunPython(replace_functions, migrations.RunPython.noop),
    ]
