"""Send windows, time zones and calendar arithmetic.

Instants are timezone-aware datetimes and are returned in UTC; calendar days (due
dates, promise dates) are plain dates in the contact's zone. A send window is a
range of local wall-clock times on allowed weekdays. Whatever an organization
configures, messages only go out between 08:00 and 21:00 local time (the legal
calling hours), so every function here works on the *clamped* window.

DST: wall times are turned into instants with zoneinfo. A wall time that does
not exist (the spring-forward gap) opens at the first instant after the gap; a
wall time that occurs twice (the fall-back fold) opens at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LEGAL_EARLIEST = time(8)
LEGAL_LATEST = time(21)

_DAY_NAMES = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip

# A window opens on some allowed weekday within a week; the slack covers odd zones.
_SEARCH_DAYS = 15


@dataclass(frozen=True)
class SendWindow:
    start: time = time(9, 0)
    end: time = time(19, 0)
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4, 5})  # Monday=0 .. Saturday=5

    def __post_init__(self) -> None:
        days = frozenset(self.days)
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ValueError("days: weekdays are numbers 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "days", days)

    def clamped(self) -> SendWindow:
        """The window cut to the legal 08:00-21:00, whatever was configured. Kept on the window (it is frozen):
        the gate and the planner ask for it several times a send."""
        try:
            return self.__dict__["_clamped"]
        except KeyError:
            pass
        clamped = SendWindow(
            start=max(self.start, LEGAL_EARLIEST),
            end=min(self.end, LEGAL_LATEST),
            days=self.days,
        )
        object.__setattr__(self, "_clamped", clamped)  # not a field: equality, hash and repr are the fields'
        return clamped

    def is_empty(self) -> bool:
        w = self.clamped()
        return not w.days or w.start >= w.end

    @classmethod
    def from_config(cls, start: str | None, end: str | None, days: str | Iterable[int] | None) -> SendWindow:
        """Build from settings text such as ("09:00", "19:00", "mon-sat").

        Raises ValueError naming the field ("start", "end" or "days").
        """
        default = cls()
        window = cls(
            start=default.start if start is None else _parse_clock(start, "start"),
            end=default.end if end is None else _parse_clock(end, "end"),
            days=default.days if days is None else parse_days(days),
        )
        if not window.days:
            raise ValueError("days: at least one weekday is needed")
        if window.is_empty():
            raise ValueError("end: the send window must end after it starts, within 08:00-21:00")
        return window


def _parse_clock(text: str, field: str) -> time:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{field}: expected a time like 09:00, got {text!r}")
    return time(int(m.group(1)), int(m.group(2)))


def parse_days(days: str | Iterable[int]) -> frozenset[int]:
    """Weekday numbers (0 is Monday) from text such as "mon-sat" or "mon,wed,fri", or from numbers."""
    if not isinstance(days, str):
        try:
            out = frozenset(int(d) for d in days)
        except (TypeError, ValueError):
            raise ValueError(f"days: expected weekday numbers 0-6, got {days!r}") from None
        if any(not 0 <= d <= 6 for d in out):
            raise ValueError("days: weekdays are numbers 0 (Monday) to 6 (Sunday)")
        return out
    out: set[int] = set()
    for part in days.lower().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = _DAY_NAMES[lo.strip()]
            b = _DAY_NAMES[hi.strip()] if sep else a
        except KeyError:
            raise ValueError(f"days: unknown weekday in {days!r}; use e.g. mon-sat or mon,wed,fri") from None
        # A range may wrap past Sunday ("sat-mon").
        out.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(out)


def as_zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _aware(moment: datetime) -> datetime:
    # A naive datetime would silently mean the server's zone: refuse it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expected a timezone-aware datetime")
    return moment


def local_now(moment: datetime, tz: str | ZoneInfo) -> datetime:
    return _aware(moment).astimezone(as_zone(tz))


def local_date(moment: datetime, tz: str | ZoneInfo) -> date:
    return local_now(moment, tz).date()


def wall_to_utc(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """The first instant whose local wall time on `day` is at or after `at`.

    Normally the instant of that wall time; in a fold its first occurrence; in a
    spring-forward gap the moment the clocks jump (the first valid time after it).
    """
    zone = as_zone(tz)
    naive = datetime.combine(day, at)
    early = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if early.astimezone(zone).replace(tzinfo=None) == naive:
        # Exists; with fold=0 this is the first occurrence when it repeats.
        return early
    # In a gap: fold=1 reads it with the later offset (an instant before the jump),
    # fold=0 with the earlier one (after it). Find the jump between them.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = early
    if lo > hi:
        lo, hi = hi, lo
    step = timedelta(seconds=1)
    while hi - lo > step:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def is_open(moment: datetime, tz: str | ZoneInfo, window: SendWindow) -> bool:
    w = window.clamped()
    local = local_now(moment, tz)
    return local.weekday() in w.days and w.start <= local.time() < w.end


def next_open(moment: datetime, tz: str | ZoneInfo, window: SendWindow) -> datetime:
    """The earliest UTC instant >= moment inside the clamped window, in zone tz."""
    w = window.clamped()
    if w.is_empty():
        raise ValueError("the send window is empty: no weekday or no hours within 08:00-21:00")
    zone = as_zone(tz)
    moment = _aware(moment).astimezone(UTC)
    if is_open(moment, zone, w):
        return moment
    day = local_date(moment, zone)
    for _ in range(_SEARCH_DAYS):
        if day.weekday() in w.days:
            opening = wall_to_utc(day, w.start, zone)
            if opening >= moment and is_open(opening, zone, w):
                return opening
        day += timedelta(days=1)
    raise ValueError("the send window never opens in this time zone")


def window_opening(day: date, tz: str | ZoneInfo, window: SendWindow) -> datetime:
    """UTC instant the window opens on local `day` (or the next opening if the day is closed)."""
    w = window.clamped()
    if day.weekday() in w.days and not w.is_empty():
        opening = wall_to_utc(day, w.start, tz)
        if is_open(opening, tz, w):
            return opening
    return next_open(wall_to_utc(day, time(0), tz), tz, w)


# The parts of a day a patient may name ("call me back Thursday afternoon"), as local wall times.
PARTS_OF_DAY = {"morning": (time(8, 0), time(12, 0)), "afternoon": (time(12, 0), time(17, 0)),
                "evening": (time(17, 0), time(21, 0))}
_PART_WORDS = {"morning": ("morning", "manana", "mañana"), "afternoon": ("afternoon", "tarde"),
               "evening": ("evening", "tonight", "noche")}


def part_of_day(text: str | None) -> str | None:
    """The part of the day named in what was said ("Thursday afternoon" -> "afternoon"), else None.
    ("por la mañana" is the morning; "mañana" alone means tomorrow, so it needs "por la".)"""
    words = (text or "").lower()
    for part, names in _PART_WORDS.items():
        for name in names:
            if name in ("manana", "mañana"):
                if re.search(rf"\bpor la {name}\b", words):
                    return part
            elif re.search(rf"\b{name}\b", words):
                return part
    return None


def add_business_days(day: date, n: int, weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})) -> date:
    """Move n allowed weekdays forward (or back when n < 0); n == 0 returns day."""
    if not weekdays:
        raise ValueError("weekdays: at least one weekday is needed")
    step = timedelta(days=1 if n >= 0 else -1)
    left = abs(n)
    while left:
        day += step
        if day.weekday() in weekdays:
            left -= 1
    return day


_DURATION_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_DURATION_PART = re.compile(r"(\d+)\s*([wdhm])")


def parse_duration(text: str) -> timedelta:
    """'2d', '36h', '90m', '1w', or combined like '1d12h'. ValueError otherwise."""
    s = str(text).strip().lower()
    parts = _DURATION_PART.findall(s)
    if not parts or _DURATION_PART.sub("", s).strip():
        raise ValueError(f"expected a duration like 2d, 36h, 90m or 1w, got {text!r}")
    return sum((int(n) * _DURATION_UNITS[u] for n, u in parts), timedelta())


def day_of_month_on_or_after(day: date, dom: int) -> date:
    """First date >= day falling on day-of-month dom (31 in a 30-day month means the 30th)."""
    if not 1 <= dom <= 31:
        raise ValueError(f"day of month must be 1-31, got {dom}")
    year, month = day.year, day.month
    candidate = date(year, month, min(dom, calendar.monthrange(year, month)[1]))
    if candidate >= day:
        return candidate
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, min(dom, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=year))


def public_holidays(country: str, years: Iterable[int]) -> frozenset[date]:
    """A country's public holidays in these years (US: the federal ones, observed days included), from the
    `holidays` package; none for a blank or unknown country."""
    if not country:
        return frozenset()
    try:
        return frozenset().union(*(_public_holidays(country.upper(), y) for y in years))
    except NotImplementedError:  # the package has no calendar for this country
        return frozenset()


def parse_dates(values: Iterable[str], field: str) -> frozenset[date]:
    """ISO dates from a settings list; ValueError naming the field and the value."""
    out = set()
    for value in values or ():
        try:
            out.add(date.fromisoformat(str(value).strip()))
        except ValueError:
            raise ValueError(f"{field}: expected a date like 2026-12-24, got {value!r}") from None
    return frozenset(out)
