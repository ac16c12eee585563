"""Indexes Django makes by itself that no query needs, dropped by migrations (engine 0005, records 0023,
channels 0003): each row a batch of texts writes or moves costs an entry in every index of its table.

- A foreign key's own index (suffix ""), where another index starts with its column. The model says
  db_index=False; the migration drops the index alone (SeparateDatabaseAndState), because Django's AlterField
  would also drop and re-add the foreign key, which re-checks every row of the table.
- The `_like` copy (varchar_pattern_ops) PostgreSQL gets of every CharField with db_index or unique: it serves
  only LIKE 'prefix%' (the database's collation is not C), and nothing asks that of these columns. A later
  AlterField that adds an index or uniqueness to such a column, or changes its collation, makes Django create it
  again.
"""

from __future__ import annotations

LIKE = "_like"


def _name(schema_editor, table: str, column: str, suffix: str) -> str:
    return schema_editor._create_index_name(table, [column], suffix=suffix)  # as Django named them


def dropping(*indexes: tuple[str, str, str]):
    """(code, reverse_code) for migrations.RunPython that drop each (table, column, suffix) index, and make it
    again going backwards. `_like` indexes exist on PostgreSQL only."""

    def concerned(schema_editor):
        postgresql = schema_editor.connection.vendor == "postgresql"
        return [(t, c, s) for t, c, s in indexes if postgresql or s != LIKE]

    def forwards(apps, schema_editor):
        for table, column, suffix in concerned(schema_editor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(_name(schema_editor, table, column, suffix))}",
                                  params=None)

    def backwards(apps, schema_editor):
        for table, column, suffix in concerned(schema_editor):
            q = schema_editor.quote_name
            opclass = " varchar_pattern_ops" if suffix == LIKE else ""
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {q(_name(schema_editor, table, column, suffix))} "
                                  f"ON {q(table)} ({q(column)}{opclass})", params=None)

    return forwards, backwards
