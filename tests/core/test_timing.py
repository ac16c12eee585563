import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from duedesk.core.timing import (
    SendWindow,
    add_business_days,
    as_zone,
    day_of_month_on_or_after,
    is_open,
    local_date,
    local_now,
    next_open,
    parse_duration,
    wall_to_utc,
    window_opening,
)

NY = "America/New_York"
LA = "America/Los_Angeles"
W = SendWindow()  # 09:00-19:00 Mon-Sat


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- window configuration -------------------------------------------------


def test_clamped_never_outside_legal_hours():
    w = SendWindow(start=time(6), end=time(23)).clamped()
    assert (w.start, w.end) == (time(8), time(21))
    inside = SendWindow(start=time(10), end=time(17)).clamped()
    assert (inside.start, inside.end) == (time(10), time(17))


def test_clamped_is_kept_per_window_and_not_a_field():
    """The clamped window is kept on the (frozen) window it came from: asked again, the same; another window's
    is its own; equality, hashing and repr stay the fields'."""
    wide = SendWindow(start=time(6), end=time(23))
    assert wide.clamped() is wide.clamped()
    narrow = dataclasses.replace(wide, end=time(12))
    assert (narrow.clamped().start, narrow.clamped().end) == (time(8), time(12))
    assert (wide.clamped().start, wide.clamped().end) == (time(8), time(21))
    assert wide == SendWindow(start=time(6), end=time(23)) and hash(wide) == hash(SendWindow(start=time(6), end=time(23)))
    assert "_clamped" not in repr(wide)


def test_from_config_forms():
    assert SendWindow.from_config(None, None, None) == SendWindow()
    w = SendWindow.from_config("08:30", "20:00", "mon-fri")
    assert (w.start, w.end, w.days) == (time(8, 30), time(20), frozenset(range(5)))
    assert SendWindow.from_config("9:00", "17:00", "Mon,Wed, fri").days == {0, 2, 4}
    assert SendWindow.from_config(None, None, "sat-mon").days == {5, 6, 0}
    assert SendWindow.from_config(None, None, [0, 1]).days == {0, 1}


@pytest.mark.parametrize(
    "args, field",
    [
        (("9am", None, None), "start"),
        ((None, "25:00", None), "end"),
        ((None, None, "mon-funday"), "days"),
        ((None, None, [7]), "days"),
        ((None, None, ""), "days"),
        (("19:00", "09:00", None), "end"),
        (("21:30", "23:00", None), "end"),  # empty once clamped
    ],
)
def test_from_config_errors_name_the_field(args, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        SendWindow.from_config(*args)


def test_as_zone_rejects_unknown():
    assert as_zone(NY) == ZoneInfo(NY)
    with pytest.raises(ValueError):
        as_zone("Mars/Olympus")


# --- next_open --------------------------------------------------------------


def test_open_moment_is_returned_as_is_in_utc():
    # Tuesday 2026-03-10 10:00 EDT
    m = datetime(2026, 3, 10, 10, tzinfo=ZoneInfo(NY))
    assert is_open(m, NY, W)
    got = next_open(m, NY, W)
    assert got == m and got.tzinfo == UTC


def test_before_opening_same_day():
    # Tuesday 2026-03-10 07:00 EDT -> 09:00 EDT = 13:00Z
    assert next_open(utc(2026, 3, 10, 11), NY, W) == utc(2026, 3, 10, 13)


def test_after_closing_goes_to_next_day():
    # Tuesday 19:00 EDT exactly is closed (end is exclusive) -> Wednesday 09:00
    assert next_open(utc(2026, 3, 10, 23), NY, W) == utc(2026, 3, 11, 13)


def test_saturday_evening_skips_sunday():
    # Saturday 2026-03-14 20:00 EDT -> Monday 09:00 EDT
    assert next_open(utc(2026, 3, 15, 0), NY, W) == utc(2026, 3, 16, 13)


def test_clamp_applies_in_next_open():
    w = SendWindow(start=time(5), end=time(23))
    # Tuesday 06:00 EDT -> 08:00 EDT
    assert next_open(utc(2026, 3, 10, 10), NY, w) == utc(2026, 3, 10, 12)
    # 21:30 EDT is past the legal 21:00
    assert not is_open(datetime(2026, 3, 10, 21, 30, tzinfo=ZoneInfo(NY)), NY, w)


@pytest.mark.parametrize(
    "tz, before, opening",
    [
        # Spring forward 2026-03-08 is a Sunday: use a window open every day.
        (NY, utc(2026, 3, 8, 5), utc(2026, 3, 8, 13)),  # 00:00 EST -> 09:00 EDT
        (LA, utc(2026, 3, 8, 8), utc(2026, 3, 8, 16)),  # 00:00 PST -> 09:00 PDT
        # Fall back 2026-11-01 (Sunday)
        (NY, utc(2026, 11, 1, 4), utc(2026, 11, 1, 14)),  # 00:00 EDT -> 09:00 EST
        (LA, utc(2026, 11, 1, 7), utc(2026, 11, 1, 17)),  # 00:00 PDT -> 09:00 PST
    ],
)
def test_dst_change_days_still_open_at_nine_local(tz, before, opening):
    every_day = SendWindow(days=frozenset(range(7)))
    got = next_open(before, tz, every_day)
    assert got == opening
    assert got.astimezone(ZoneInfo(tz)).time() == time(9)


def test_dst_sunday_with_default_window_goes_to_monday():
    # Planned for Sunday 2026-03-08 (spring forward) -> Monday 09:00 EDT
    assert next_open(utc(2026, 3, 8, 15), NY, W) == utc(2026, 3, 9, 13)
    # Sunday 2026-11-01 (fall back) -> Monday 09:00 PST
    assert next_open(utc(2026, 11, 1, 18), LA, W) == utc(2026, 11, 2, 17)


def test_day_before_dst_evening_to_next_morning_across_change():
    every_day = SendWindow(days=frozenset(range(7)))
    # Saturday 2026-03-07 20:00 EST -> Sunday 09:00 EDT (offset changed overnight)
    assert next_open(utc(2026, 3, 8, 1), NY, every_day) == utc(2026, 3, 8, 13)
    # Saturday 2026-10-31 20:00 PDT -> Sunday 09:00 PST
    assert next_open(utc(2026, 11, 1, 3), LA, every_day) == utc(2026, 11, 1, 17)


def test_one_utc_instant_two_coasts():
    # Tuesday 2026-03-10 14:00Z = 10:00 EDT (open) = 07:00 PDT (closed)
    now = utc(2026, 3, 10, 14)
    assert is_open(now, NY, W)
    assert not is_open(now, LA, W)
    assert next_open(now, NY, W) == now
    assert next_open(now, LA, W) == utc(2026, 3, 10, 16)  # 09:00 PDT


def test_next_open_accepts_any_input_zone_and_rejects_naive():
    tokyo = datetime(2026, 3, 10, 20, tzinfo=ZoneInfo("Asia/Tokyo"))  # 11:00Z = 07:00 EDT
    assert next_open(tokyo, NY, W) == utc(2026, 3, 10, 13)
    with pytest.raises(ValueError):
        next_open(datetime(2026, 3, 10, 12), NY, W)


def test_empty_window_raises():
    with pytest.raises(ValueError):
        next_open(utc(2026, 3, 10, 12), NY, SendWindow(start=time(22), end=time(23)))
    with pytest.raises(ValueError):
        next_open(utc(2026, 3, 10, 12), NY, SendWindow(days=frozenset()))


def _sweep():
    # Every 37 minutes across both 2026 US DST changes (odd step to hit odd minutes).
    for start in (utc(2026, 3, 5), utc(2026, 10, 29)):
        for i in range(10 * 24 * 60 // 37):
            yield start + timedelta(minutes=37 * i)


def test_next_open_result_is_always_open_and_minimal():
    for tz in (NY, LA, "Pacific/Honolulu", "Europe/London", "Australia/Lord_Howe"):
        for m in _sweep():
            got = next_open(m, tz, W)
            assert got >= m and is_open(got, tz, W)
            # a minute earlier is either before m or closed
            earlier = got - timedelta(minutes=1)
            assert earlier < m or not is_open(earlier, tz, W)


# --- wall times, DST gap and fold ---------------------------------------------


def test_wall_to_utc_gap_opens_when_clocks_jump():
    # 02:30 does not exist in New York on 2026-03-08; clocks jump at 07:00Z.
    assert wall_to_utc(date(2026, 3, 8), time(2, 30), NY) == utc(2026, 3, 8, 7)


def test_wall_to_utc_fold_takes_first_occurrence():
    # 01:30 happens twice on 2026-11-01; first time is EDT (05:30Z).
    assert wall_to_utc(date(2026, 11, 1), time(1, 30), NY) == utc(2026, 11, 1, 5, 30)


def test_window_opening():
    assert window_opening(date(2026, 3, 10), LA, W) == utc(2026, 3, 10, 16)
    # Sunday isn't allowed: next opening is Monday
    assert window_opening(date(2026, 3, 8), NY, W) == utc(2026, 3, 9, 13)
    assert window_opening(date(2026, 11, 2), NY, W) == utc(2026, 11, 2, 14)


def test_local_date_and_now():
    m = utc(2026, 3, 10, 3)  # 23:00 EDT on the 9th / 20:00 PDT on the 9th
    assert local_date(m, NY) == date(2026, 3, 9)
    assert local_date(m, "Europe/Berlin") == date(2026, 3, 10)
    assert local_now(m, LA).hour == 20


# --- calendar arithmetic ------------------------------------------------------


def test_add_business_days():
    fri = date(2026, 3, 13)
    assert add_business_days(fri, 1) == date(2026, 3, 16)
    assert add_business_days(fri, 0) == fri
    assert add_business_days(date(2026, 3, 16), -1) == fri
    assert add_business_days(fri, 5) == date(2026, 3, 20)
    assert add_business_days(fri, 1, frozenset(range(6))) == date(2026, 3, 14)
    with pytest.raises(ValueError):
        add_business_days(fri, 1, frozenset())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2d", timedelta(days=2)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
        (" 1D12h ", timedelta(days=1, hours=12)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "2x", "-2d", "2 days", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "day, dom, expected",
    [
        (date(2026, 3, 10), 15, date(2026, 3, 15)),
        (date(2026, 3, 15), 15, date(2026, 3, 15)),
        (date(2026, 3, 16), 15, date(2026, 4, 15)),
        (date(2026, 2, 1), 31, date(2026, 2, 28)),
        (date(2028, 2, 1), 31, date(2028, 2, 29)),
        (date(2026, 3, 1), 31, date(2026, 3, 31)),
        (date(2026, 4, 20), 31, date(2026, 4, 30)),
        (date(2026, 12, 20), 5, date(2027, 1, 5)),
    ],
)
def test_day_of_month_on_or_after(day, dom, expected):
    assert day_of_month_on_or_after(day, dom) == expected


def test_day_of_month_rejects_out_of_range():
    with pytest.raises(ValueError):
        day_of_month_on_or_after(date(2026, 1, 1), 0)
    with pytest.raises(ValueError):
        day_of_month_on_or_after(date(2026, 1, 1), 32)
