"""Reading `timestamptz` columns on PostgreSQL without psycopg's pure-Python parser.

Django reads every timestamp through its own loader (a subclass of psycopg's Python one, so psycopg's C
loader is never used): about 6 µs a value, and a batch of texts reads a dozen a text. With the session in UTC,
as Django sets it, PostgreSQL writes each value as `YYYY-MM-DD HH:MM:SS[.ffffff]+00`; that text is parsed by
`datetime.fromisoformat` (in C) and given Django's time zone, as Django's loader does. Anything else (another
offset, `infinity`, a date BC) goes to Django's loader unchanged.
"""

from __future__ import annotations

from datetime import datetime


def quicken(connection) -> None:
    """On a new psycopg 3 connection (records/adapters.py)."""
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    adapters = connection.connection.adapters
    current = adapters.get_loader(connection.Database.postgres.types["timestamptz"].oid,
                                  connection.Database.pq.Format.TEXT)
    if current is None or not issubclass(current, BaseTzLoader) or getattr(current, "quick", False):
        return

    class QuickTzLoader(current):
        quick = True

        def load(self, data):
            if data[-3:] == b"+00":
                try:
                    return datetime.fromisoformat(bytes(data[:-3]).decode()).replace(tzinfo=self.timezone)
                except ValueError:
                    pass
            return super().load(data)

    adapters.register_loader("timestamptz", QuickTzLoader)
