"""Many new rows in one go, for the engine's batches (a batch of texts writes hundreds of rows at once).

On PostgreSQL the ids are drawn from the table's sequence in one query and the rows go in with COPY:
no per-field preparation by the ORM and no statement text to parse, which is most of the cost of
`bulk_create` for a few hundred rows. Every object gets its id, as with `bulk_create`. Elsewhere
(SQLite) it is `bulk_create`. Like `bulk_create` it sends no signals and calls no `save()`.
"""

from __future__ import annotations

from django.db import connection, models
from django.utils import timezone

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
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = meta.concrete_fields
    now = timezone.now()
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                if f.auto_now or getattr(obj, f.attname) is None:
                    setattr(obj, f.attname, now)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    prepared = [(f.attname, None if type(f) in _AS_IS else f) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objs)])
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([getattr(obj, attname) if field is None
                                else field.get_db_prep_save(getattr(obj, attname), connection)
                                for attname, field in prepared])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


class AnyOf(models.Lookup):
    """`pk__any=[…]`: `= ANY(%s)` with one array on PostgreSQL (a short statement, whatever the number
    of ids, instead of `IN (%s, %s, …)` parsed anew for every batch); `IN (…)` elsewhere."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(v) for v in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


models.IntegerField.register_lookup(AnyOf)
models.ForeignKey.register_lookup(AnyOf)
