"""What the calendar outbox asks of a provider, and how a provider's refusal is told back to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


class CalendarError(Exception):
    """A write the provider refused or never answered. `auth`: the person must connect again (writes wait);
    `retry_after`: the provider asked us to wait; `permanent`: trying again would not help."""

    def __init__(self, message: str, *, status: int | None = None, auth: bool = False,
                 retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.status, self.auth, self.retry_after, self.permanent = status, auth, retry_after, permanent


class Gone(CalendarError):
    """The event is no longer on the calendar (someone deleted it there)."""


@dataclass(frozen=True)
class Entry:
    """One event as the calendar should show it: an all-day event (`day`) or a timed one (`start`, `end`)."""

    key: str
    title: str
    description: str
    timezone: str
    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    busy: bool = False  # a callback blocks the person's time; a promise does not


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime


def retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return 60.0
