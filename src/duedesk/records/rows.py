"""New rows by the thousand: COPY on PostgreSQL, one INSERT run elsewhere, ids taken first.

For the bulk paths that land many new records at once (an import's chunk, a CRM page of new contacts): ids
are taken from the tables' sequences first, so rows can refer to each other without a round trip, and
each row is a plain list in the table's column order, with no model instance per row. The engine's verbs
(engine/actions/imports.py) decide what the rows are; this module only writes them.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

from django.db import connection, models

_SEQUENCES: dict[str, str] = {}


def take_ids(cursor, wanted: list[tuple[type[models.Model], int]]) -> list[list[int] | None]:
    """n new ids for each table, ascending (None when n is 0): from the sequences on PostgreSQL; on SQLite
    past the table's highest id and its AUTOINCREMENT counter, which is safe only while the transaction
    holds the write lock (settings: SQLite transactions BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        return _next_ids(cursor, wanted)
    out: list[list[int] | None] = []
    for model, n in wanted:
        if not n:
            out.append(None)
            continue
        table, pk = model._meta.db_table, model._meta.pk.column
        cursor.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                       f"COALESCE((SELECT MAX({pk}) FROM {table}), 0))", [table])
        start = cursor.fetchone()[0] + 1
        out.append(list(range(start, start + n)))
    return out


def _next_ids(cursor, wanted: list[tuple[type[models.Model], int]]) -> list[list[int] | None]:
    """Take n ids from each table's sequence, ascending, in one round trip (None when n is 0)."""
    parts, params = [], []
    for model, n in wanted:
        table = model._meta.db_table
        if table not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            _SEQUENCES[table] = cursor.fetchone()[0]
        parts.append("(SELECT array_agg(v ORDER BY v) FROM (SELECT nextval(%s::regclass) AS v "
                     "FROM generate_series(1, %s)) AS ids)")
        params += [_SEQUENCES[table], n]
    cursor.execute("SELECT " + ", ".join(parts), params)
    return list(cursor.fetchone())


class CopyTable:
    """The columns COPY writes for a model: the values given per row, every other column at its default.

    Defaults come from the model (Django keeps them in Python, not in the table), so a field added later
    with a default needs no change here; a column with a database default is left to the database.
    """

    def __init__(self, model: type[models.Model]):
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if not f.has_db_default()]
        self.defaults = {}
        self.per_row: dict[str, models.Field] = {}
        self.wall = set()
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.wall.add(f.attname)
            elif f.has_default() and callable(f.default) and f.default not in (dict, list):
                self.per_row[f.attname] = f  # a default made per row (a uuid, a token)
            else:
                self.defaults[f.attname] = _db_default(f)  # "" for a blank text field, None for a nullable one
        self.sql = f"COPY {self.table} ({', '.join(connection.ops.quote_name(f.column) for f in self.fields)}) " \
                   "FROM STDIN"
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        self.template = [self.defaults.get(f.attname) for f in self.fields]
        self.wall_positions = [self.position[name] for name in self.wall]
        self.per_row_positions = [(self.position[name], f) for name, f in self.per_row.items()]
        # Health information (the date of birth) is encrypted here too: COPY bypasses the model's fields.
        self.encrypted = {f.attname: f for f in self.fields if getattr(f, "encrypted", False)}
        # Columns made from others (the contacts' search text: records.fields.FoldedTextField), as save() would.
        self.folded = [(self.position[f.attname], f) for f in self.fields if hasattr(f, "folded")]

    def row(self, wall: datetime, **values) -> list:
        out = self.template.copy()
        for i in self.wall_positions:
            out[i] = wall
        for i, f in self.per_row_positions:
            out[i] = _db_default(f)
        position = self.position
        encrypted = self.encrypted
        for name, value in values.items():
            out[position[name]] = encrypted[name].get_prep_value(value) if name in encrypted else value
        for i, f in self.folded:
            out[i] = f.folded(values)
        return out

    def copy(self, cursor, rows: list[list]) -> None:
        with cursor.copy(self.sql) as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, cursor, rows: list[list]) -> None:
        """The rows, in the caller's transaction: COPY on PostgreSQL, else one INSERT run for every row
        (dates, moments and amounts adapted as the model's fields adapt them; JSON is already text)."""
        if not rows:
            return
        if connection.vendor == "postgresql":
            self.copy(cursor, rows)
            return
        if not hasattr(self, "_adapters"):
            kinds = (models.DateTimeField, models.DateField, models.TimeField, models.DecimalField, models.UUIDField)
            self._adapters = [(i, f) for i, f in enumerate(self.fields)
                              if isinstance(f, kinds) and not getattr(f, "encrypted", False)]
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            self._insert = f"INSERT INTO {self.table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"
        adapters = self._adapters
        seen: dict = {}  # most rows share their moments (now, the wall clock) and many their dates
        for row in rows:
            for i, f in adapters:
                value = row[i]
                if value is not None:
                    key = (i, value)
                    if key not in seen:
                        seen[key] = f.get_db_prep_value(value, connection, prepared=False)
                    row[i] = seen[key]
        cursor.executemany(self._insert, rows)


def _db_default(f: models.Field):
    value = f.get_default()
    return json.dumps(value) if isinstance(f, models.JSONField) and value is not None else value


_TABLES: dict = {}


def table(model: type[models.Model]) -> CopyTable:
    """The model's CopyTable, made once per process."""
    found = _TABLES.get(model)
    if found is None:
        found = _TABLES[model] = CopyTable(model)
    return found


# ----------------------------------------------------------------------------- COPY in the background


class CopyInBackground:
    """One chunk's COPYs and its commit, on the caller's own connection, in a thread.

    The chunk is its own transaction (a savepoint when the import runs inside one), so it lands whole or
    not at all; the deferred foreign-key checks run at its commit, in the thread too. The calling thread
    does not use the connection until `wait()` returns: meanwhile it only reads and checks rows.
    """

    def __init__(self, batches: list[tuple[CopyTable, list]]):
        self.error: BaseException | None = None
        self._raw = connection.connection  # psycopg's connection under Django's
        self._nested = connection.in_atomic_block
        self._thread = threading.Thread(target=self._run, args=(batches,), name="duedesk-import-copy",
                                        daemon=True)
        self._thread.start()

    def _run(self, batches) -> None:
        begin, end, undo = ((["SAVEPOINT duedesk_chunk"], ["RELEASE SAVEPOINT duedesk_chunk"],
                             ["ROLLBACK TO SAVEPOINT duedesk_chunk", "RELEASE SAVEPOINT duedesk_chunk"])
                            if self._nested else (["BEGIN"], ["COMMIT"], ["ROLLBACK"]))
        try:
            with self._raw.cursor() as cursor:
                for statement in begin:
                    cursor.execute(statement)
                try:
                    for table, rows in batches:
                        table.copy(cursor, rows)
                    for statement in end:
                        cursor.execute(statement)
                except BaseException:
                    for statement in undo:
                        cursor.execute(statement)
                    raise
        except BaseException as error:  # handed to the calling thread by wait()
            self.error = error

    def wait(self) -> bool:
        """True when the chunk landed; False when the database refused it (none of it landed)."""
        import psycopg

        self._thread.join()
        if self.error is None:
            return True
        if isinstance(self.error, psycopg.Error):
            return False
        raise self.error
