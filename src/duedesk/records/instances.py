"""Model instances by the hundred, for the engine's batches.

A batch of texts reads four rows a text (step, enrollment, invoice, contact) and builds four (message, event,
next step, the transport's record). Django's `Model.__init__` sends `pre_init` and `post_init` and sets every
field through its descriptor, one at a time: for a batch that was a sixth of the worker's CPU. For a model
whose fields all use Django's plain descriptors, with no `__init__` of its own and no receiver of either
signal, `QuickLoad.from_db` and `build` fill the instance's `__dict__` directly: the same attributes and the
same `_state` as Django gives it. Any other model, or a value that is not a plain column value (a related
object passed by name), goes through Django as before.
"""

from __future__ import annotations

import inspect

from django.db import models
from django.db.models import signals
from django.db.models.base import DEFERRED, ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

_PLAIN = PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)  # Django's own: they read __dict__


class _Plan:
    """What filling an instance of one model takes: its columns' attribute names, and their defaults."""

    def __init__(self, model: type[models.Model]):
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.names = frozenset(self.attnames)
        # Defaults as Model.__init__ takes them (field.get_default()): a callable one (dict, list, a function)
        # is called for every instance, a constant one is the same value every time.
        self.constant = {f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}
        self.called = [(f.attname, f) for f in fields if f.has_default() and callable(f.default)]
        # The names a query with deferred columns read last, and the attributes they fill (QuickLoad.from_db).
        self.last_read: tuple[object, list[str]] = (None, [])


_plans: dict[type, _Plan | None] = {}


def _plan(model: type[models.Model]) -> _Plan | None:
    """None when the model must be built by Django (its own __init__, a signal receiver, a custom descriptor)."""
    try:
        return _plans[model]
    except KeyError:
        pass
    plain = (
        model.__init__ is models.Model.__init__
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
        and all(type(inspect.getattr_static(model, f.attname, None)) in _PLAIN for f in model._meta.concrete_fields)
    )
    plan = _plans[model] = _Plan(model) if plain else None
    return plan


def build(model: type[models.Model], **values) -> models.Model:
    """`model(**values)`, unsaved, for values given by column attribute name (`contact_id`, not `contact`)."""
    plan = _plan(model)
    if plan is None or not values.keys() <= plan.names:
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    attrs = obj.__dict__
    attrs.update(plan.constant)
    for attname, field in plan.called:
        if attname not in values:
            attrs[attname] = field.get_default()
    attrs.update(values)
    return obj


class QuickLoad:
    """Mixed into a model (before models.Model): its rows read from the database become instances without
    Model.__init__ when `_plan` allows it (the same instance Django's from_db makes), else as Django makes them."""

    @classmethod
    def from_db(cls, db, field_names, values):
        plan = _plan(cls)
        if plan is None:
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        state = new._state = ModelState()
        state.adding, state.db = False, db
        if len(values) == len(plan.attnames):
            attnames = plan.attnames
        else:  # some columns deferred: the values come in the model's column order, the deferred ones left out
            last = plan.last_read  # a query passes the same list of names with each of its rows
            if last[0] is field_names:
                attnames = last[1]
            else:
                attnames = [name for name in plan.attnames if name in field_names]
                plan.last_read = (field_names, attnames)  # one assignment: threads see a pair or the other
        attrs = new.__dict__
        for name, value in zip(attnames, values, strict=True):
            if value is not DEFERRED:
                attrs[name] = value
        return new
