"""The gate's calendars and call limits on their own: two zones at once, state rules as data, holidays,
3 calls a day to one person, 5 minutes after an unanswered call, and retries that could never run."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from duedesk.core import states, vocabulary
from duedesk.core.compliance import Allow, Block, Defer, GateInput, check, retry_problems
from duedesk.core.timing import SendWindow, public_holidays

NY = "America/New_York"
MONDAY_8_NY = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def gate(**kw) -> GateInput:
    base = dict(channel="sms", now=MONDAY_8_NY, tz=NY, window=SendWindow(time(8), time(21)))
    base.update(kw)
    return GateInput(**base)


def test_the_window_must_be_open_in_the_area_codes_zone_too():
    assert check(gate()) == Allow()
    d = check(gate(phone_tz="America/Los_Angeles"))
    assert d == Defer(until=datetime(2026, 12, 7, 16, 0, tzinfo=UTC), rule="window_area_code",
                      detail="outside the send window in the phone's area code zone (America/Los_Angeles)")


def test_zones_with_no_common_hour_block_instead_of_searching_forever():
    d = check(gate(window=SendWindow(time(9), time(12)), phone_tz="Pacific/Guam"))
    assert isinstance(d, Block) and d.rule == "window_area_code"


def test_the_rule_that_opens_last_names_the_deferral():
    # 07:00 in New York: the window opens there at 09:00, in San Francisco three hours later.
    d = check(gate(now=MONDAY_8_NY - timedelta(hours=1), window=SendWindow(), phone_tz="America/Los_Angeles"))
    assert d.rule == "window_area_code" and d.until == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def test_state_hours_apply_in_every_zone_of_the_contact():
    evening = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)  # 20:30 in New York
    assert check(gate(now=evening)) == Allow()
    d = check(gate(now=evening, states=frozenset({"MD"})))
    assert d.rule == "state_hours_MD" and d.until == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
    # Oklahoma's calls keep 09:00-20:00 (automatic dialing), its texts 08:00-20:00.
    central_8 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert check(gate(now=central_8, tz="America/Chicago", states=frozenset({"OK"}))) == Allow()
    d = check(gate(now=central_8, tz="America/Chicago", states=frozenset({"OK"}), channel="call"))
    assert d.rule == "state_hours_OK" and d.until == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def test_state_call_limits_count_calls_about_the_invoice():
    noon = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    two = tuple(noon - timedelta(hours=h) for h in (1, 2))
    assert check(gate(now=noon, channel="call", call_attempts=two, states=frozenset({"FL"}))) == Allow()
    d = check(gate(now=noon, channel="call", call_attempts=two, states=frozenset({"MA"})))
    assert d.rule == "state_calls_MA" and d.until == noon - timedelta(hours=2) + timedelta(days=7)
    three = (*two, noon - timedelta(hours=3))
    d = check(gate(now=noon, channel="call", call_attempts=three, states=frozenset({"FL"})))
    assert d.rule == "state_calls_FL" and d.until == noon - timedelta(hours=3) + timedelta(days=1)


def test_holidays_and_closed_days_are_local_dates():
    christmas_9 = datetime(2026, 12, 25, 14, 0, tzinfo=UTC)
    holidays = public_holidays("US", [2026])
    assert date(2026, 12, 25) in holidays and date(2026, 7, 3) in holidays  # July 4 observed on the Friday
    d = check(gate(now=christmas_9, holidays=holidays))
    assert d.rule == "holiday" and d.until == datetime(2026, 12, 26, 13, 0, tzinfo=UTC)
    assert check(gate(now=christmas_9, holidays=holidays, purpose="staff")) == Allow()  # a person at work
    d = check(gate(now=MONDAY_8_NY, closed_dates=frozenset({date(2026, 12, 7), date(2026, 12, 8)})))
    assert d.rule == "closed_day" and d.until == datetime(2026, 12, 9, 13, 0, tzinfo=UTC)
    assert public_holidays("", [2026]) == frozenset()


def test_three_calls_a_day_to_one_person_and_five_minutes_after_an_unanswered_one():
    noon = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    earlier = tuple(noon - timedelta(hours=h) for h in (1, 2, 3))
    d = check(gate(now=noon, channel="call", person_calls=earlier))
    assert d.rule == "calls_per_day" and d.until == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)  # Tuesday 08:00
    yesterday = tuple(noon - timedelta(days=1, hours=h) for h in (1, 2, 3))
    assert check(gate(now=noon, channel="call", person_calls=yesterday)) == Allow()
    d = check(gate(now=noon, channel="call", last_unanswered_call=noon - timedelta(minutes=2)))
    assert d == Defer(until=noon + timedelta(minutes=3), rule="call_after_unanswered",
                      detail="a call to this person went unanswered less than 5 minutes ago")
    assert check(gate(now=noon, channel="sms", person_calls=earlier)) == Allow()  # texts are not calls


@pytest.mark.parametrize("attempts, every, rules", [
    (3, timedelta(days=1), []),
    (3, timedelta(hours=2), []),
    (10, timedelta(minutes=1), ["call_after_unanswered", "calls_per_day", "call_frequency"]),
    (4, timedelta(hours=7), ["calls_per_day"]),
    (8, timedelta(hours=8), ["call_frequency"]),
    (8, timedelta(days=1), []),
])
def test_retries_that_the_call_rules_would_never_let_run(attempts, every, rules):
    found = retry_problems(attempts, every)
    assert [r for r in ("call_after_unanswered", "calls_per_day", "call_frequency")
            if any(f"(rule {r})" in p for p in found)] == rules
    assert len(found) == len(rules)


def test_where_the_patient_may_be():
    assert states.states_for("10001", "+14155550142") == {"NY", "CA"}
    assert states.state_for_zip("33101") == "FL" and states.state_for_zip("02108") == "MA"
    assert states.state_for_zip("73301") == "TX" and states.state_for_zip("abc") is None
    assert states.state_for_phone("+13055550142") == "FL" and states.state_for_phone("+442079460000") is None


def test_every_state_rule_has_its_words_and_a_source():
    for rule in states.RULES.values():
        assert rule.source
        if rule.hours:
            assert rule.hours_rule in vocabulary.GATE_RULES
        if rule.call_limit:
            assert rule.calls_rule in vocabulary.GATE_RULES


def test_a_landline_gets_no_text_and_3_automated_calls_in_30_days_without_consent():
    noon = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    d = check(gate(now=noon, line_type="landline"))
    assert isinstance(d, Block) and d.rule == "landline_text"
    assert check(gate(now=noon, line_type="landline", purpose="reply")).rule == "landline_text"
    assert check(gate(now=noon, line_type="mobile")) == Allow()
    calls = tuple(noon - timedelta(days=d) for d in (2, 9, 20))
    assert check(gate(now=noon, channel="call", line_type="landline", line_calls=calls[:2])) == Allow()
    d = check(gate(now=noon, channel="call", line_type="landline", line_calls=calls))
    assert d.rule == "landline_calls" and d.until == noon - timedelta(days=20) + timedelta(days=30)
    assert check(gate(now=noon, channel="call", line_type="landline", line_calls=calls, line_consent=True)) == Allow()
    assert check(gate(now=noon, channel="call", line_type="mobile", line_calls=calls)) == Allow()
