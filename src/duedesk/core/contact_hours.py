"""The hours a contact asked to be reached in ("not before 10", "only evenings", "not at work"),
as a narrowing of the organization's send window for one channel.

A contact's hours never widen the window: they cut the organization's window (already clamped
to the legal 08:00-21:00) into the windows a send may use. "Not at work" keeps weekday sends to
the evening and leaves weekends alone, so the result is one or two windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from duedesk.core.timing import SendWindow, is_open, next_open

WORK_START = time(9, 0)
WORK_END = time(17, 0)
_WEEKDAYS = frozenset(range(5))


@dataclass(frozen=True)
class ContactHours:
    not_before: time | None = None
    not_after: time | None = None
    avoid_work_hours: bool = False

    @classmethod
    def from_stored(cls, stored: Mapping | None) -> ContactHours | None:
        """From the contact's stored preference for a channel ({"not_before": "10:00", ...})."""
        if not stored:
            return None

        def clock(key: str) -> time | None:
            value = stored.get(key)
            return time.fromisoformat(value) if value else None

        hours = cls(clock("not_before"), clock("not_after"), bool(stored.get("avoid_work_hours")))
        return hours if hours != cls() else None

    def describe(self) -> str:
        parts = []
        if self.not_before:
            parts.append(f"not before {self.not_before:%H:%M}")
        if self.not_after:
            parts.append(f"not after {self.not_after:%H:%M}")
        if self.avoid_work_hours:
            parts.append(f"not during work hours ({WORK_START:%H:%M}-{WORK_END:%H:%M} on weekdays)")
        return ", ".join(parts)

    def narrow(self, window: SendWindow) -> tuple[SendWindow, ...]:
        """The windows left of ``window`` for this contact; empty when nothing is left."""
        w = window.clamped()
        start = max(w.start, self.not_before) if self.not_before else w.start
        end = min(w.end, self.not_after) if self.not_after else w.end
        if self.avoid_work_hours:
            candidates = (SendWindow(max(start, WORK_END), end, w.days & _WEEKDAYS),
                          SendWindow(start, end, w.days - _WEEKDAYS))
        else:
            candidates = (SendWindow(start, end, w.days),)
        return tuple(c for c in candidates if c.days and c.start < c.end)


def open_in_any(moment: datetime, tz: str, windows: tuple[SendWindow, ...]) -> bool:
    return any(is_open(moment, tz, w) for w in windows)


def next_open_in_any(moment: datetime, tz: str, windows: tuple[SendWindow, ...]) -> datetime:
    """The earliest instant >= moment inside one of the windows (they must not all be empty)."""
    return min(next_open(moment, tz, w) for w in windows)
