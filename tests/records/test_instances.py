"""Instances filled without Model.__init__ (records/instances.py) are the instances Django makes: the same
attributes and state, read whole or with columns deferred, built with defaults, saved and read back."""

from __future__ import annotations

import pytest
from django.db import models
from django.db.models import signals

from duedesk.engine.models import Enrollment, Step
from duedesk.records import instances
from duedesk.records.instances import QuickLoad
from duedesk.records.models import Contact, Event, Invoice, Message

pytestmark = pytest.mark.django_db


def _as_django(model, row):
    """The instance Django's own from_db makes of the same row."""
    values = [getattr(row, f.attname) for f in model._meta.concrete_fields]
    return models.Model.from_db.__func__(model, "default", [f.attname for f in model._meta.concrete_fields], values)


def test_rows_read_are_the_instances_django_makes(make_invoice, org):
    invoice = make_invoice()
    for model, pk in ((Invoice, invoice.pk), (Contact, invoice.contact_id)):
        quick = model.objects.get(pk=pk)
        assert instances._plan(model) is not None  # the quick path was taken
        django = _as_django(model, quick)
        assert type(quick) is model and quick == django
        assert {k: v for k, v in vars(quick).items() if k != "_state"} == \
            {k: v for k, v in vars(django).items() if k != "_state"}
        assert (quick._state.adding, quick._state.db) == (False, "default")
    read = Invoice.objects.select_related("contact__organization").get(pk=invoice.pk)
    assert read.contact.organization == org and read.contact.organization.name == org.name
    read.status = "paid"
    read.save(update_fields=["status"])  # an instance read so saves as an UPDATE of its row
    assert Invoice.objects.get(pk=invoice.pk).status == "paid" and Invoice.objects.count() == 1


def test_deferred_columns_stay_deferred_and_load_when_read(make_invoice):
    invoice = make_invoice()
    contact = Contact.objects.only("pk", "phone").get(pk=invoice.contact_id)
    assert contact.get_deferred_fields() >= {"first_name", "date_of_birth", "fields"}
    assert contact.phone == invoice.contact.phone
    assert contact.first_name == invoice.contact.first_name  # read when asked for, as Django does


def test_rows_of_queries_deferring_different_columns_read_in_turn_get_their_own_columns(make_invoice):
    """The columns a deferring query fills are kept for its rows: two such queries read in turn each get theirs."""
    invoices = [make_invoice(), make_invoice()]
    ids = [i.contact_id for i in invoices]
    by_phone = Contact.objects.filter(pk__in=ids).only("pk", "phone").order_by("pk").iterator(chunk_size=1)
    by_name = Contact.objects.filter(pk__in=ids).defer("phone", "fields").order_by("pk").iterator(chunk_size=1)
    for _ in ids:
        phone, name = next(by_phone), next(by_name)
        assert phone.get_deferred_fields() >= {"first_name", "fields"} and "phone" not in phone.get_deferred_fields()
        assert name.get_deferred_fields() == {"phone", "fields"}
        assert name.first_name == Contact.objects.get(pk=name.pk).first_name
    assert Contact.objects.only("pk", "phone").get(pk=ids[0]).phone == invoices[0].contact.phone


def test_built_instances_get_the_defaults_and_save(make_invoice, org, clock):
    invoice = make_invoice()
    built = instances.build(Event, organization_id=org.pk, kind="sms.sent", at=clock(), invoice_id=invoice.pk)
    django = Event(organization_id=org.pk, kind="sms.sent", at=clock(), invoice_id=invoice.pk)
    assert {k: v for k, v in vars(built).items() if k != "_state"} == \
        {k: v for k, v in vars(django).items() if k != "_state"}
    assert built._state.adding and built.detail == {} and built.detail is not instances.build(
        Event, organization_id=org.pk, kind="x", at=clock()).detail  # a callable default: a new dict each time
    built.save()
    assert Event.objects.get(pk=built.pk).invoice_id == invoice.pk
    # A related object by name (not its id) goes through Django.
    assert instances.build(Message, contact=invoice.contact).contact_id == invoice.contact_id


def test_a_model_with_a_signal_receiver_is_built_by_django(make_invoice):
    invoice = make_invoice()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    instances._plans.pop(Invoice, None)
    signals.post_init.connect(receiver, sender=Invoice)
    try:
        read = Invoice.objects.get(pk=invoice.pk)
        assert seen == [read]
    finally:
        signals.post_init.disconnect(receiver, sender=Invoice)
        instances._plans.pop(Invoice, None)


def test_the_engines_rows_are_read_quickly():
    for model in (Step, Enrollment, Invoice, Contact, Message, Event):
        assert issubclass(model, QuickLoad) and instances._plan(model) is not None
