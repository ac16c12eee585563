"""What each new PostgreSQL connection gets: psycopg adapters that read timestamps (records/timestamps.py) and
write a batch's id arrays (records/bulk.py) without psycopg's per-value Python."""

from __future__ import annotations

from django.db.backends.signals import connection_created

from duedesk.records import bulk, timestamps


def install() -> None:
    connection_created.connect(_on_connect, dispatch_uid="duedesk.records.adapters")


def _on_connect(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return
    timestamps.quicken(connection)
    bulk.quicken_arrays(connection)
