"""Timestamps read on PostgreSQL (records/timestamps.py): the values Django's own loader gives, faster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

pytestmark = pytest.mark.django_db


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    connection.ensure_connection()
    return connection.connection


def _loaders(pg):
    oid = connection.Database.postgres.types["timestamptz"].oid
    quick = pg.adapters.get_loader(oid, connection.Database.pq.Format.TEXT)
    django = next(c for c in quick.__mro__[1:] if issubclass(c, BaseTzLoader) and not getattr(c, "quick", False))
    return quick(oid, pg), django(oid, pg)


def test_the_connection_reads_timestamps_with_the_quick_loader(pg):
    quick, _ = _loaders(pg)
    assert getattr(quick, "quick", False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-12-07 15:00:00.12+00'::timestamptz, '2026-12-07 15:00:00+05:30'::timestamptz")
        assert cursor.fetchone() == (datetime(2026, 12, 7, 15, 0, 0, 120000, tzinfo=UTC),
                                     datetime(2026, 12, 7, 9, 30, tzinfo=UTC))


@pytest.mark.parametrize("text", [
    b"2026-12-07 15:00:00+00", b"2026-12-07 15:00:00.5+00", b"2026-12-07 15:00:00.123456+00",
    b"0001-01-01 00:00:00+00", b"9999-12-31 23:59:59.999999+00",
    b"2026-12-07 20:30:00+05:30",  # another session zone: Django's loader, as before
])
def test_each_value_is_the_one_djangos_loader_gives(pg, text):
    quick, django = _loaders(pg)
    got, expected = quick.load(text), django.load(text)
    assert got == expected and got.tzinfo is expected.tzinfo and got.isoformat() == expected.isoformat()
    assert quick.load(memoryview(text)) == expected
