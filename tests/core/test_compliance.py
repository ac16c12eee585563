from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from duedesk.core.compliance import (
    Allow,
    Block,
    Defer,
    GateInput,
    call_frequency_release,
    check,
)
from duedesk.core.timing import SendWindow, is_open

NY = "America/New_York"
LA = "America/Los_Angeles"
W = SendWindow()  # 09:00-19:00 Mon-Sat


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Tuesday 2026-03-10 16:00Z = 12:00 EDT: open in New York.
NOON_NY = utc(2026, 3, 10, 16)


def gate(**kw):
    base = dict(channel="sms", now=NOON_NY, tz=NY, window=W)
    base.update(kw)
    return GateInput(**base)


def test_allow_when_nothing_applies():
    d = check(gate())
    assert d == Allow() and d.rule is None


@pytest.mark.parametrize(
    "kw, rule",
    [
        (dict(outreach_on=False), "outreach_off"),
        (dict(opted_out=frozenset({"sms"})), "opted_out"),
        (dict(opted_out=frozenset({"all"}), channel="call"), "opted_out"),
        (dict(unreachable=frozenset({"sms"})), "channel_unreachable"),
        (dict(invoice_status="paid"), "invoice_paid"),
        (dict(invoice_status="written_off"), "invoice_written_off"),
        (dict(invoice_status="disputed"), "invoice_disputed"),
        (dict(invoice_status="hardship"), "invoice_hardship"),
        (dict(invoice_balance=Decimal("0")), "no_balance"),
        (dict(invoice_balance=Decimal("-5.00")), "no_balance"),
    ],
)
def test_blocks(kw, rule):
    d = check(gate(**kw))
    assert isinstance(d, Block) and d.rule == rule


def test_other_channel_opt_out_or_unreachable_does_not_block():
    assert check(gate(opted_out=frozenset({"call"}), unreachable=frozenset({"email"}))) == Allow()


def test_in_plan_and_open_are_allowed():
    assert check(gate(invoice_status="in_plan")) == Allow()


def test_rule_order_first_match_wins():
    d = check(gate(outreach_on=False, opted_out=frozenset({"all"}), invoice_status="paid"))
    assert d.rule == "outreach_off"
    d = check(gate(opted_out=frozenset({"sms"}), unreachable=frozenset({"sms"})))
    assert d.rule == "opted_out"
    d = check(gate(invoice_status="disputed", invoice_balance=Decimal(0)))
    assert d.rule == "invoice_disputed"
    # A block beats a defer.
    d = check(gate(invoice_status="paid", now=utc(2026, 3, 10, 3)))
    assert isinstance(d, Block)


def test_paused_defers_to_window_after_pause():
    # Paused until Tuesday 20:00 EDT (after closing) -> Wednesday 09:00 EDT
    d = check(gate(paused_until=utc(2026, 3, 11, 0)))
    assert d == Defer(utc(2026, 3, 11, 13), "paused", d.detail)
    # Pause already over
    assert check(gate(paused_until=utc(2026, 3, 10, 15))) == Allow()


def test_paused_inside_window_defers_to_exact_end():
    d = check(gate(paused_until=utc(2026, 3, 10, 17, 30)))
    assert isinstance(d, Defer) and d.until == utc(2026, 3, 10, 17, 30)


def test_send_window_defers():
    # Tuesday 2026-03-10 03:00Z = Monday 23:00 EDT -> Tuesday 09:00 EDT
    d = check(gate(now=utc(2026, 3, 10, 3)))
    assert d == Defer(utc(2026, 3, 10, 13), "send_window", d.detail)


def test_pacific_and_eastern_at_one_instant():
    now = utc(2026, 3, 10, 14)  # 10:00 EDT, 07:00 PDT
    assert check(gate(now=now, tz=NY)) == Allow()
    d = check(gate(now=now, tz=LA))
    assert isinstance(d, Defer) and d.rule == "send_window"
    assert d.until == utc(2026, 3, 10, 16)  # 09:00 PDT


def test_org_window_is_clamped_by_gate():
    wide = SendWindow(start=time(0), end=time(23, 59), days=frozenset(range(7)))
    d = check(gate(window=wide, now=utc(2026, 3, 10, 2)))  # 22:00 EDT
    assert isinstance(d, Defer) and d.until == utc(2026, 3, 10, 12)  # 08:00 EDT


# --- calls ---------------------------------------------------------------------


def attempts_daily(last, n):
    return tuple(last - timedelta(days=i) for i in range(n))


def test_six_calls_in_seven_days_allowed_seventh_defers():
    six = attempts_daily(utc(2026, 3, 10, 14), 6)
    assert check(gate(channel="call", call_attempts=six)) == Allow()
    seven = attempts_daily(utc(2026, 3, 10, 14), 7)  # oldest 2026-03-04 14:00Z
    d = check(gate(channel="call", call_attempts=seven))
    assert isinstance(d, Defer) and d.rule == "call_frequency"
    # The oldest leaves the 7 days at 2026-03-11 14:00Z = 10:00 EDT, inside the window.
    assert d.until == utc(2026, 3, 11, 14)


def test_call_frequency_ignores_old_attempts_and_other_channels():
    old = attempts_daily(utc(2026, 3, 3, 16), 10)  # all 7+ days before now
    assert check(gate(channel="call", call_attempts=old)) == Allow()
    seven = attempts_daily(utc(2026, 3, 10, 14), 7)
    assert check(gate(channel="sms", call_attempts=seven)) == Allow()


def test_call_frequency_boundary_exactly_seven_days_is_out():
    now = NOON_NY
    attempts = (now - timedelta(days=7),) + attempts_daily(now - timedelta(hours=1), 6)
    assert call_frequency_release(attempts, now) is None


def test_call_frequency_many_attempts_release_when_enough_drop_out():
    now = NOON_NY
    # nine attempts within the last two days
    attempts = tuple(now - timedelta(hours=5 * i) for i in range(9))
    release = call_frequency_release(attempts, now)
    # 3 must drop out: the third oldest (i=6) leaves at now - 30h + 7d
    assert release == now - timedelta(hours=30) + timedelta(days=7)
    assert call_frequency_release(attempts, release) is None
    assert call_frequency_release(attempts, release - timedelta(seconds=1)) is not None


def test_call_frequency_release_moves_into_window():
    # Seven attempts, oldest at 2026-03-04 02:00Z (Tuesday 21:00 EST): leaves at 22:00 EDT
    attempts = (utc(2026, 3, 4, 2),) + attempts_daily(utc(2026, 3, 10, 14), 6)
    d = check(gate(channel="call", call_attempts=attempts))
    assert d.rule == "call_frequency"
    assert d.until == utc(2026, 3, 11, 13)  # Wednesday 09:00 EDT


def test_call_after_conversation():
    talked = utc(2026, 3, 6, 15)
    d = check(gate(channel="call", last_conversation=talked))
    assert isinstance(d, Defer) and d.rule == "call_after_conversation"
    assert d.until == utc(2026, 3, 13, 15)  # Friday 11:00 EDT
    # texts are not limited by it
    assert check(gate(channel="sms", last_conversation=talked)) == Allow()
    # a week later calling is fine
    assert check(gate(channel="call", last_conversation=utc(2026, 3, 3, 16))) == Allow()


def test_paused_named_first_but_until_satisfies_all_time_rules():
    talked = utc(2026, 3, 9, 15)
    d = check(gate(channel="call", paused_until=utc(2026, 3, 11, 0), last_conversation=talked))
    assert d.rule == "paused"
    assert d.until == utc(2026, 3, 16, 15)  # Monday 11:00 EDT, when the rest ends


# --- purposes ------------------------------------------------------------------


def test_staff_skips_outreach_off_and_pause_only():
    staff = dict(purpose="staff")
    assert check(gate(outreach_on=False, **staff)) == Allow()
    assert check(gate(paused_until=utc(2026, 3, 20), **staff)) == Allow()
    assert check(gate(opted_out=frozenset({"sms"}), **staff)).rule == "opted_out"
    assert check(gate(invoice_status="paid", **staff)).rule == "invoice_paid"
    assert check(gate(now=utc(2026, 3, 10, 3), **staff)).rule == "send_window"
    seven = attempts_daily(utc(2026, 3, 10, 14), 7)
    assert check(gate(channel="call", call_attempts=seven, **staff)).rule == "call_frequency"


def test_reply_goes_out_at_once():
    # 23:00 EDT, opted out of everything, outreach off, invoice paid, paused: still sent
    g = gate(
        purpose="reply",
        now=utc(2026, 3, 10, 3),
        opted_out=frozenset({"all"}),
        outreach_on=False,
        invoice_status="paid",
        paused_until=utc(2026, 4, 1),
    )
    assert check(g) == Allow()


def test_reply_still_blocked_when_unreachable():
    d = check(gate(purpose="reply", unreachable=frozenset({"sms"})))
    assert d.rule == "channel_unreachable"


# --- validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(channel="fax"), "channel"),
        (dict(purpose="marketing"), "purpose"),
        (dict(invoice_status="lost"), "invoice_status"),
        (dict(now=datetime(2026, 3, 10, 12)), "now"),
        (dict(paused_until=datetime(2026, 3, 10, 12)), "paused_until"),
        (dict(call_attempts=(datetime(2026, 3, 10, 12),)), "call_attempts"),
    ],
)
def test_bad_input_raises_naming_field(kw, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        check(gate(**kw))


# --- the Defer-until property ----------------------------------------------------


def _time_rules_allow(g):
    d = check(g)
    return not isinstance(d, Defer), d


@pytest.mark.parametrize(
    "tz", [NY, LA, "America/Chicago", "America/Phoenix", "Pacific/Honolulu", "Europe/London"]
)
def test_defer_until_is_allowed_on_recheck_across_zones_and_dst(tz):
    windows = [
        W,
        SendWindow(start=time(8), end=time(21), days=frozenset(range(7))),
        SendWindow(start=time(6), end=time(10), days=frozenset({0, 6})),
    ]
    starts = [utc(2026, 3, 6), utc(2026, 10, 29), utc(2026, 12, 30)]
    checked = 0
    for window in windows:
        for start in starts:
            for i in range(0, 5 * 24 * 60, 97):
                now = start + timedelta(minutes=i)
                variants = [
                    dict(),
                    dict(paused_until=now + timedelta(hours=(i % 50))),
                    dict(
                        channel="call",
                        call_attempts=tuple(now - timedelta(hours=7 * k + i % 5) for k in range(8)),
                    ),
                    dict(channel="call", last_conversation=now - timedelta(days=i % 9, minutes=i % 60)),
                    dict(
                        channel="call",
                        paused_until=now + timedelta(hours=i % 30),
                        call_attempts=tuple(now - timedelta(hours=20 * k) for k in range(7)),
                        last_conversation=now - timedelta(days=5),
                    ),
                ]
                for kw in variants:
                    g = gate(now=now, tz=tz, window=window, **kw)
                    d = check(g)
                    if isinstance(d, Defer):
                        assert d.until > now and d.until.tzinfo == UTC
                        assert is_open(d.until, tz, window)
                        assert check(replace(g, now=d.until)) == Allow(), (g, d)
                        checked += 1
    assert checked > 1000
