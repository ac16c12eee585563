"""The ICS feed: an organization's promises to pay as all-day events on the promised day.

"Promise: INV-1006, $1,250.00 — call if unpaid" while pending; "Kept" or "Broken" once settled (the same event,
a higher SEQUENCE, so calendars update it rather than add one). The minimum detail: the invoice reference,
the amount and a link into the workspace; never the patient's name or phone."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from icalendar import Calendar, Event

from duedesk.core import render
from duedesk.records.models import Organization, Promise

WINDOW = timedelta(days=120)  # promises settled up to this long ago stay on the calendar
STATUS_WORDS = {"pending": "Promise", "kept": "Kept", "broken": "Broken"}


def promise_title(promise: Promise, lang: str = "en") -> str:
    invoice = promise.invoice
    amount = render.money(promise.amount or invoice.balance or invoice.amount_due, invoice.currency, lang)
    word = STATUS_WORDS.get(promise.status, promise.status.title())
    tail = " — call if unpaid" if promise.status == "pending" else ""
    return f"{word}: {invoice.external_ref}, {amount}{tail}"


def calendar_for(org: Organization, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//duedesk//promises//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{org.name}: promises to pay")
    cal.add("x-wr-timezone", org.timezone)
    promises = (Promise.objects.filter(organization=org).exclude(status="cancelled")
                .filter(promised_date__gte=(now - WINDOW).date()).select_related("invoice").order_by("promised_date"))
    for promise in promises:
        event = Event()
        event.add("uid", f"promise-{promise.pk}@{settings.PUBLIC_URL.split('://')[-1]}")
        event.add("summary", promise_title(promise))
        event.add("dtstart", promise.promised_date)  # a date: an all-day event
        event.add("dtend", promise.promised_date + timedelta(days=1))
        event.add("dtstamp", promise.resolved_at or promise.created_at)
        event.add("sequence", 0 if promise.status == "pending" else 1)
        event.add("status", "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        event.add("url", f"{settings.PUBLIC_URL}/contacts/{promise.contact_id}/")
        event.add("description", f"Open in duedesk: {settings.PUBLIC_URL}/contacts/{promise.contact_id}/")
        cal.add_component(event)
    return cal.to_ical()
