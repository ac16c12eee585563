"""Many new rows in one go, for the engine's batches (a batch of texts writes hundreds of rows at once).

On PostgreSQL the ids are drawn from the table's sequence in one query and the rows go in with COPY:
no per-field preparation by the ORM and no statement text to parse, which is most of the cost of
`bulk_create` for a few hundred rows. Every object gets its id, as with `bulk_create`. Elsewhere
(SQLite) it is `bulk_create`. Like `bulk_create` it sends no signals and calls no `save()`.
"""

from __future__ import annotations

import functools
import inspect
import operator
import re

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.sql import InsertQuery, UpdateQuery
from django.utils import timezone

from duedesk.records import instances

# Fields whose Python value PostgreSQL takes as it is (psycopg adapts it); the rest (JSON, encrypted
# text) go through the field's own get_db_prep_save. Exact types: a subclass may change the value.
_AS_IS = {models.AutoField, models.BigAutoField, models.CharField, models.TextField, models.SlugField,
          models.EmailField, models.IntegerField, models.PositiveIntegerField, models.BigIntegerField,
          models.SmallIntegerField, models.BooleanField, models.DateTimeField, models.DateField,
          models.DecimalField, models.FloatField, models.ForeignKey}


def insert(objs: list[models.Model]) -> list[models.Model]:
    """Insert `objs` (all of one model) and set their ids."""
    if not objs:
        return objs
    model = type(objs[0])
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: `connection` looks it up at every use
    if db.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    plan = _copy_plan(model)
    now = timezone.now()
    for f in plan.auto:
        for obj in objs:
            if f.auto_now or getattr(obj, f.attname) is None:
                setattr(obj, f.attname, now)
    with db.cursor() as cursor:
        # The sequence's name is looked up once (OFFSET 0 keeps the subquery apart), not once a row: that
        # catalog lookup cost eight times the nextval calls themselves.
        cursor.execute("SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq OFFSET 0) s,"
                       " generate_series(1, %s)", [meta.db_table, meta.pk.column, len(objs)])
        pk_attname = plan.pk_attname
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk_attname, pk)  # `obj.pk = pk` for a model with no parents
        _copy(cursor, plan.sql, map(plan.row, objs), plan.prepare, db)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias
    return objs


def insert_values(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """New rows of `model` given as the values of every column but the id (attribute names, in `columns`' order),
    for a caller that needs no instance and no id back: on PostgreSQL one COPY (the ids from the table's own
    sequence), values prepared as insert() prepares them; elsewhere bulk_create."""
    if not rows:
        return
    plan = _copy_plan(model)
    if set(columns) != set(plan.attnames) - {plan.pk_attname} or plan.auto:
        raise ValueError(f"insert_values needs every column of {model.__name__} but its id, and no automatic one")
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows])
        return
    fields = [model._meta.get_field(name) for name in columns]  # attribute names of plain columns are field names
    with db.cursor() as cursor:
        _copy(cursor, _copy_sql(model, fields), rows, _to_prepare(fields), db)


def _copy_sql(model: type[models.Model], fields) -> str:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"


def _to_prepare(fields) -> list[tuple[int, models.Field]]:
    """The columns whose values go through their field's get_db_prep_save (JSON, encrypted text)."""
    return [(i, f) for i, f in enumerate(fields) if type(f) not in _AS_IS]


def _copy(cursor, sql: str, rows, prepare: list[tuple[int, models.Field]], db) -> None:
    """One COPY of `rows` (each a sequence of the statement's columns' values), the `prepare` columns prepared."""
    with cursor.cursor.copy(sql) as copy:
        for row in rows:
            if prepare:
                row = list(row)
                for i, field in prepare:
                    row[i] = field.get_db_prep_save(row[i], db)
            copy.write_row(row)


class _CopyPlan:
    """What writing rows of one model with COPY takes, worked out once per model: the statement, the columns'
    attribute names (read straight from the instance's dict where the model's descriptor for it is Django's
    plain one, which reads that dict too), and the fields whose values go through get_db_prep_save."""

    def __init__(self, model: type[models.Model]):
        meta = model._meta
        fields = meta.concrete_fields
        self.sql = _copy_sql(model, fields)
        self.attnames = [f.attname for f in fields]
        if meta.parents:
            raise ValueError(f"bulk.insert writes one table: {model.__name__} has parents")
        self.pk_attname = meta.pk.attname
        self.auto = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        self.prepare = _to_prepare(fields)
        plain = len(fields) > 1 and all(
            type(inspect.getattr_static(model, name, None)) in instances.PLAIN_DESCRIPTORS for name in self.attnames)
        self.values_of = operator.itemgetter(*self.attnames) if plain else None

    def row(self, obj: models.Model):
        """Each column's value as getattr reads it: straight from the instance's dict where every descriptor is
        Django's plain one; an attribute not set there (deferred) is read as Django reads it."""
        if self.values_of is not None:
            try:
                return self.values_of(obj.__dict__)
            except KeyError:
                pass
        return [getattr(obj, attname) for attname in self.attnames]


_copy_plans: dict[type, _CopyPlan] = {}


def _copy_plan(model: type[models.Model]) -> _CopyPlan:
    plan = _copy_plans.get(model)
    if plan is None:
        plan = _copy_plans[model] = _CopyPlan(model)
    return plan


def update_sql(queryset: models.QuerySet, **values) -> tuple[str, list]:
    """The UPDATE `queryset.update(**values)` would run, as SQL and parameters, for `together` (filters on
    the model's own columns only)."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(queryset.db)
    compiler.pre_sql_setup()
    sql, params = compiler.as_sql()
    return sql, list(params)


def together(statements: list[tuple[str, list] | None]) -> None:
    """Writes whose answers nobody reads (no row count, no RETURNING), in one round trip on PostgreSQL: with
    parameters bound by the client, as Django's psycopg backend binds them, they go as one query of several
    statements. One by one elsewhere (SQLite), or when the server binds the parameters."""
    statements = [s for s in statements if s is not None]
    if not statements:
        return
    with connection.cursor() as cursor:
        if len(statements) > 1 and combines_statements():
            cursor.execute("; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def combines_statements() -> bool:
    """Several statements can go as one query: PostgreSQL with parameters bound by the client."""
    return (connection.vendor == "postgresql"
            and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


def insert_each(objs: list[models.Model]) -> list[models.Model]:
    """New rows of different models (a text and its timeline event) written as save() writes them (auto_now,
    encrypted columns, the id from the database) in one round trip on PostgreSQL: one statement of data-modifying
    CTEs, so they are written together or not at all, and a unique key one of them breaks raises IntegrityError
    as save() would. One save() each elsewhere (SQLite). Like bulk_create it sends no signals and calls no
    model's own save()."""
    if len(objs) < 2 or not combines_statements():
        for obj in objs:
            obj.save(force_insert=True)
        return objs
    parts, params, ids = [], [], []
    for n, obj in enumerate(objs):
        meta = obj._meta
        query = InsertQuery(type(obj))
        query.insert_values([f for f in meta.local_concrete_fields
                             if not f.generated and (obj.pk is not None or f is not meta.auto_field)], [obj])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk]
        [(sql, values)] = compiler.as_sql()
        parts.append(f"r{n} AS ({sql})")
        params += values
        ids.append(f"(SELECT {connection.ops.quote_name(meta.pk.column)} FROM r{n})")
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(ids)}", params)
        row = cursor.fetchone()
    for obj, pk in zip(objs, row, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


class AnyOf(models.Lookup):
    """`pk__any=[…]`: `= ANY(%s)` with one array on PostgreSQL (a short statement, whatever the number
    of ids, instead of `IN (%s, %s, …)` parsed anew for every batch); `IN (…)` elsewhere."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(map(int, self.rhs))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


class AnyText(AnyOf):
    """`address__any=[…]` for text columns: the same, with strings (Django prepares each value of an `__in`
    list on its own, which cost more than the query for a batch's few hundred phone numbers)."""

    def get_prep_lookup(self):
        return list(map(str, self.rhs))


models.IntegerField.register_lookup(AnyOf)
models.ForeignKey.register_lookup(AnyOf)
models.CharField.register_lookup(AnyText)


# ----------------------------------------------------------------------------- arrays of ids

# A batch sends its ids as arrays (`pk__any`, the `unnest` of its UPDATEs): a dozen arrays of a few hundred ids
# each. psycopg writes an array element by element in Python (a call and a quoting check each); a list of plain
# ints is written here in one go, the same text (an int never needs quoting). Anything else is psycopg's.


def quicken_arrays(connection) -> None:
    """On a new psycopg 3 connection (records/adapters.py)."""
    from psycopg.adapt import PyFormat
    from psycopg.types.array import ListDumper

    adapters = connection.connection.adapters
    if adapters.get_dumper(list, PyFormat.TEXT) is not ListDumper:
        return  # someone else's dumper, or ours already
    automatic = adapters.get_dumper(list, PyFormat.AUTO)  # registering sets the automatic format's too
    adapters.register_dumper(list, _id_list_dumper())
    if automatic is not ListDumper:
        adapters.register_dumper(list, automatic)  # %s keeps the format it had (text, as psycopg sets it)


@functools.cache
def _id_list_dumper():
    from psycopg.types.array import ListDumper

    class IdListDumper(ListDumper):
        def dump(self, obj):
            # (getattr: should psycopg rename what it keeps, every list goes back to its own writing)
            if getattr(self, "sub_dumper", None) is not None and getattr(self, "delimiter", None) == b",":
                types = set(map(type, obj))
                if types == _INTS:
                    return ("{" + ",".join(map(str, obj)) + "}").encode()
                if types == _STRS and getattr(self._tx, "encoding", None) == "utf-8":
                    text = ",".join(obj)
                    # No element that psycopg would quote (empty, NULL, a comma, a quote, a brace, a backslash,
                    # a space of any kind) nor refuse (NUL): then it writes them as they are, as here.
                    if text.count(",") == len(obj) - 1 and "" not in obj and not _TO_QUOTE.search(text) \
                            and not _NULL.search(text):
                        return ("{" + text + "}").encode()
            return super().dump(obj)

    return IdListDumper


_INTS, _STRS = {int}, {str}
_TO_QUOTE = re.compile(r'["{}\\\s\x00\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]')  # \s: any space
_NULL = re.compile(r"(?:^|,)null(?:,|$)", re.IGNORECASE)
