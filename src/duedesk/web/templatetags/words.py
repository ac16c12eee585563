"""What the software wrote, in the page's language: {{ handoff.summary|said }}."""

from __future__ import annotations

from django import template

from duedesk.web import timeline

register = template.Library()


@register.filter
def said(text) -> str:
    """A sentence the engine or an integration stored in English (a handoff's summary) in the page's language;
    a patient's or a person's own words as they were written."""
    return timeline.said(text)
