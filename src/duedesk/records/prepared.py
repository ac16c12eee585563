"""Reads whose SQL the ORM writes once per process.

The webhooks Twilio waits on make the same few reads on every request (the organization by the number texted, the
contact by its phone, the invoice a text is about, the call a turn belongs to with its contact, organization and
invoice), and building each query (filters resolved, expressions copied, a hundred columns named and quoted) cost
the web process more CPU than the database spent running it: a call turn spent half its Python on the one query
that finds its call. `Prepared` builds the query once, with stand-in values, keeps the SQL Django wrote, where
each value goes among its parameters and how its rows become model instances (select_related, annotations), and
afterwards binds the new values, runs the SQL and builds the instances as the queryset would. The SQL is the
ORM's, so it follows the models and the database backend.

Only plain values (str, int) are bound, each reaching the parameters as given (not `__contains`, not a list for
`__in`); a query whose shape depends on a value (a filter present or not) is one `Prepared` per shape.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError


class _Slot(int):
    """The parameter is the n-th value given."""


def _stand_in(n: int, value: Any):
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"Prepared binds str and int values, not {type(value).__name__}")
    return f"\x1fvalue {n}\x1f" if isinstance(value, str) else -(1 << 62) - n


@dataclass(frozen=True, eq=False)  # hashed by identity: a key of each connection's converters
class _Compiled:
    sql: str
    slots: tuple
    compiler: Any  # the SQLCompiler that wrote the SQL: its select list, converters and model layout
    fields: tuple  # the selected columns' expressions, in order
    model: Any
    annotations: tuple  # (name, position) of each annotation in a row
    init_list: tuple[str, ...]
    model_slice: slice
    populators: list
    for_update: bool


class Prepared:
    """`Prepared(lambda a, b: Model.objects.filter(...)...)`; `prepared(a, b)` is the list of instances the
    queryset would give, without building the query again."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}
        self._lock = threading.Lock()

    def __call__(self, *values, using: str = DEFAULT_DB_ALIAS) -> list:
        key = (using, *(type(v) for v in values))
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compiled.setdefault(key, self._compile(values, using))
        connection = connections[using]
        if compiled.for_update and connection.features.has_select_for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = [values[p] if isinstance(p, _Slot) else p for p in compiled.slots]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        converters = self._converters(compiled, connection)
        model, init_list, model_slice = compiled.model, compiled.init_list, compiled.model_slice
        found = []
        for row in rows:
            if converters:
                row = list(row)
                for pos, (convs, expression) in converters:
                    value = row[pos]
                    for converter in convs:
                        value = converter(value, expression, connection)
                    row[pos] = value
            obj = model.from_db(using, init_list, row[model_slice])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            found.append(obj)
        return found

    @staticmethod
    def _converters(compiled: _Compiled, connection) -> list:
        """How each column's value becomes Python (the compiler's converters: dates on SQLite, decryption,
        JSON…), asked once per query and connection: asking cost as much as the rest of a read (a hundred
        columns, each asked the backend and its field). Kept on the connection, whose operations they may be."""
        cache = connection.__dict__.setdefault("_prepared_converters", {})
        converters = cache.get(compiled)
        if converters is None:
            compiler = copy.copy(compiled.compiler)
            compiler.connection = connection
            converters = cache[compiled] = list(compiler.get_converters(compiled.fields).items())
        return converters

    def _compile(self, values: tuple, using: str) -> _Compiled:
        stand_ins = [_stand_in(n, v) for n, v in enumerate(values)]
        queryset = self.build(*stand_ins)
        if queryset._known_related_objects or queryset._prefetch_related_lookups or queryset._fields is not None:
            raise ValueError("Prepared builds model instances only (no values(), prefetch or related managers)")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots, seen = [], set()
        for param in params:
            n = next((i for i, s in enumerate(stand_ins) if type(s) is type(param) and s == param), None)
            if n is not None:
                seen.add(n)
                slots.append(_Slot(n))
            elif isinstance(param, str) and any(isinstance(s, str) and s in param for s in stand_ins):
                raise ValueError(f"a value is changed on its way into the query ({param!r}): it can't be bound")
            else:
                slots.append(param)
        if len(seen) != len(values):
            raise ValueError("every value must reach the query's parameters as it was given")
        fields = tuple(s[0] for s in compiler.select[0:compiler.col_count])
        if compiler.has_composite_fields(fields):
            raise ValueError("Prepared reads no composite fields")
        select_fields = compiler.klass_info["select_fields"]
        model_slice = slice(select_fields[0], select_fields[-1] + 1)
        return _Compiled(
            sql=sql, slots=tuple(slots), compiler=compiler, fields=fields, model=compiler.klass_info["model"],
            annotations=tuple((compiler.annotation_col_map or {}).items()),
            init_list=tuple(f[0].target.attname for f in compiler.select[model_slice]), model_slice=model_slice,
            populators=get_related_populators(compiler.klass_info, compiler.select, using),
            for_update=queryset.query.select_for_update,
        )
