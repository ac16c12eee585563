"""The initial full sync lands a page of new contacts in bulk (crm/landing.py), with the same outcome,
event for event, as the one-by-one path it replaces; what it can't land in bulk still lands one by one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duedesk.engine import definitions
from duedesk.engine.models import Enrollment, Step
from duedesk.intake.crm_fields import CrmFieldError
from duedesk.integrations.crm.base import Record
from duedesk.integrations.crm.mapping import mapping_for, set_mapping
from duedesk.integrations.crm.models import Connection, CrmLink
from duedesk.integrations.crm.pull import apply_record
from duedesk.integrations.crm.sync import sync_connection
from duedesk.integrations.hubspot import mapping as hubspot_mapping
from duedesk.records.models import Contact, Event, Invoice, Organization

from .conftest import patient

pytestmark = pytest.mark.django_db

VARIETY = [
    patient(1),
    patient(2, duedesk_invoice_ref="INV-77", duedesk_due_date="12/20/2026", duedesk_balance="1250.5"),
    patient(3, duedesk_balance="0"),  # nothing owed: no invoice
    patient(4, duedesk_due_date="", duedesk_balance="", duedesk_outreach=""),  # a contact only
    patient(5, duedesk_due_date="", duedesk_balance="80"),  # a balance waiting for a due date
    patient(6, duedesk_outreach="off"),  # one by one: the switch
    patient(7, duedesk_invoice_ref="INV-77"),  # one by one: another contact's reference
    patient(8, duedesk_due_date="soon"),  # one by one: named
    patient(9, hs_timezone="America/Los_Angeles"),
]


def outcome(org) -> list:
    """Everything a pull wrote for an organization, by the CRM record it came from."""
    out = []
    for link in CrmLink.objects.filter(contact__organization=org).select_related("contact").order_by("crm_id"):
        c = link.contact
        invoices = [(i.external_ref.replace(f"CRM-{c.pk}", "CRM-<id>"), i.amount_due, i.balance, i.due_date, i.status,
                     i.pay_link.replace(f"CRM-{c.pk}", "CRM-<id>"))
                    for i in Invoice.objects.filter(contact=c)]
        enrollments = [(e.status, e.current_step) for e in Enrollment.objects.filter(contact=c)]
        steps = [(s.step_id, s.kind, s.run_at, s.status) for s in Step.objects.filter(enrollment__contact=c)]
        events = sorted((e.kind, e.actor, sorted((k, v) for k, v in e.detail.items() if k not in ("currency",
                                                                                               "crm_id")))
                        for e in Event.objects.filter(contact=c))
        out.append((c.first_name, c.last_name, c.phone, c.email, c.timezone, c.date_of_birth, c.outreach_on, c.fields,
                    c.external_id.split(":")[0], invoices, enrollments, steps, events))
    return out


def test_a_page_lands_in_bulk_with_the_one_by_one_outcome(hubspot, fake_hubspot, clock):
    ids = fake_hubspot.seed(VARIETY)
    with CaptureQueriesContext(connection) as queries:
        result = sync_connection(hubspot, clock(), push_limit=0)
    assert (result.pulled.seen, result.pulled.created) == (9, 7)
    errors = sorted(result.pulled.errors)
    assert errors[0].startswith(f"contact {ids[6]}: invoice_ref: 'INV-77' is another contact's invoice")
    assert errors[1].startswith(f"contact {ids[7]}: invoice_due_date: ")
    # A page in a handful of statements, not a dozen per contact.
    assert len(queries) < 120

    # The same records applied one by one in another clinic, as every pull did before.
    other = Organization.objects.create(slug="other", name="Other Clinic", timezone="America/New_York",
                                        callback_number="+12125550100", pay_link_base="https://pay.example.com/")
    definitions.ensure_default(other)
    conn = Connection.objects.create(organization=other, provider="hubspot", token_env="DUEDESK_HUBSPOT_TOKEN",
                                     created_at=clock())
    set_mapping(conn, hubspot_mapping.DEFAULTS)
    for crm_id in ids:
        record = Record(crm_id=crm_id, modified="", properties=fake_hubspot.contact(crm_id)["properties"])
        try:
            apply_record(conn, record, None, mapping_for(conn), hubspot_mapping.STANDARD, clock())
        except CrmFieldError:
            pass
    assert outcome(hubspot.organization) == outcome(other)
    assert Enrollment.objects.filter(organization=other).count() == 4  # 1, 2, 6 (held) and 9


def test_the_first_heads_up_goes_out_for_contacts_landed_in_bulk(hubspot, fake_hubspot, clock, worker):
    fake_hubspot.seed([patient(n) for n in range(1, 4)])
    sync_connection(hubspot, clock(), push_limit=0)
    worker.run_until_idle()
    assert Event.objects.filter(kind="sms.sent").count() == 3
    assert Contact.objects.filter(organization=hubspot.organization).count() == 3


def test_a_page_of_new_contacts_lands_in_a_few_statements(hubspot, fake_hubspot, clock):
    fake_hubspot.seed([patient(n) for n in range(1, 101)])
    with CaptureQueriesContext(connection) as queries:
        result = sync_connection(hubspot, clock(), push_limit=0)
    assert (result.pulled.created, result.pulled.errors) == (100, [])
    assert Step.objects.filter(status="pending").count() == 100
    assert len(queries) < 40  # one by one, it was over a thousand (24 today)
