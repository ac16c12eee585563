"""Transactions that need not wait for the disk.

On PostgreSQL a commit waits for the write-ahead log to reach the disk (synchronous_commit); on a busy disk
that flush is most of a webhook's slowest answers. A transaction whose loss in a database server crash harms
nobody (a call turn that only moves the script on, a HELP text answered with the office's number) can commit
without waiting: `synchronous_commit` off for that transaction only. Should the server crash within the next
fraction of a second, such a transaction is lost whole; one that is not lost is kept exactly as written.

The setting rides on a statement the transaction sends anyway (client-side binding sends several statements
in one round trip), so it costs no query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from duedesk.records.bulk import combines_statements

NO_FLUSH = "SET LOCAL synchronous_commit TO OFF"


def without_flush(sql: str) -> str:
    """`sql` followed by the setting for the rest of its transaction; its result is `sql`'s own (the first).
    Unchanged where one query can't carry two statements (SQLite; parameters bound by the server)."""
    return f"{sql}; {NO_FLUSH}" if combines_statements() else sql


@contextmanager
def next_statement_without_flush() -> Iterator[None]:
    """Inside a transaction: the next statement sent through the ORM carries the setting along."""
    if not connection.in_atomic_block:
        yield
        return
    sent: list[bool] = []

    def carry(execute, sql, params, many, context):
        if not sent and not many:
            sent.append(True)
            sql = without_flush(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(carry):
        yield
