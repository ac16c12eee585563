"""Every date on the staff pages in the reader's language and its order ("7 dic 2026", never "Dec 7")."""

from __future__ import annotations


def test_dates_in_the_pages_language():
    from datetime import UTC, date, datetime

    from django.utils import timezone, translation

    from duedesk.web.templatetags.dates import day, when, when_short

    moment = datetime(2026, 9, 6, 19, 5, tzinfo=UTC)
    with timezone.override("America/Los_Angeles"):
        with translation.override("es"):
            assert (when(moment), when_short(moment), day(date(2027, 1, 15))) == (
                "6 sep 2026, 12:05 p.m. PDT", "6 sep, 12:05 p.m. PDT", "15 ene 2027")
        with translation.override("en"):
            assert (when(moment), when_short(moment), day(date(2027, 1, 15))) == (
                "Sep 6, 2026 12:05 PM PDT", "Sep 6, 12:05 PM PDT", "Jan 15, 2027")
    assert when(None) == day("") == ""
