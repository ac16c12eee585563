"""Calendars: promises to pay as all-day events, in a private ICS feed each staff member can subscribe to
from Google Calendar or Outlook (no OAuth needed)."""
