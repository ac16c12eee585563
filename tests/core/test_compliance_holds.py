"""The gate's legal stops and the contact's own hours (rules attorney_represented, bankruptcy,
cease_communication, contact_preference)."""

from datetime import UTC, datetime, time

import pytest

from duedesk.core.compliance import LEGAL_HOLDS, Allow, Block, Defer, GateInput, check
from duedesk.core.contact_hours import ContactHours
from duedesk.core.timing import SendWindow

NY = "America/New_York"
W = SendWindow()  # 09:00-19:00 Mon-Sat
TUESDAY_9 = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 EDT


def gate(**kw):
    return GateInput(**{"channel": "call", "now": TUESDAY_9, "tz": NY, "window": W, **kw})


@pytest.mark.parametrize("hold", sorted(LEGAL_HOLDS))
@pytest.mark.parametrize("purpose", ["reminder", "staff"])
def test_a_legal_hold_blocks_automation_and_staff_before_any_other_rule(hold, purpose):
    d = check(gate(legal_holds=frozenset({hold}), opted_out=frozenset({"all"}), outreach_on=False, purpose=purpose))
    assert d == Block(hold, LEGAL_HOLDS[hold])


def test_our_one_reply_to_the_patients_message_still_goes():
    assert check(gate(channel="sms", legal_holds=frozenset({"cease_communication"}), purpose="reply")) == Allow()


def test_cease_is_named_first_when_several_holds_apply():
    assert check(gate(legal_holds=frozenset(LEGAL_HOLDS))).rule == "cease_communication"


def test_an_unknown_hold_is_refused_by_name():
    with pytest.raises(ValueError, match="legal_holds"):
        check(gate(legal_holds=frozenset({"lawyer"})))


@pytest.mark.parametrize("hours, until", [
    (ContactHours(not_before=time(10)), datetime(2026, 3, 10, 14, 0, tzinfo=UTC)),
    (ContactHours(not_before=time(17)), datetime(2026, 3, 10, 21, 0, tzinfo=UTC)),
    (ContactHours(avoid_work_hours=True), datetime(2026, 3, 10, 21, 0, tzinfo=UTC)),
])
def test_outside_the_contacts_hours_defers_to_the_first_time_both_allow(hours, until):
    d = check(gate(contact_hours=hours))
    assert isinstance(d, Defer) and d.rule == "contact_preference" and d.until == until
    assert check(gate(contact_hours=hours, now=until)) == Allow()


def test_not_at_work_leaves_saturdays_alone():
    saturday_9 = datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
    assert check(gate(now=saturday_9, contact_hours=ContactHours(avoid_work_hours=True))) == Allow()


def test_hours_that_never_fit_the_window_block():
    d = check(gate(contact_hours=ContactHours(not_before=time(20))))
    assert isinstance(d, Block) and d.rule == "contact_preference"


def test_a_closed_window_is_named_before_the_contacts_hours():
    sunday = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    d = check(gate(now=sunday, contact_hours=ContactHours(not_before=time(10))))
    assert d.rule == "send_window" and d.until == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 10:00


def test_stored_hours_are_read_back():
    assert ContactHours.from_stored({"not_before": "10:00", "avoid_work_hours": True}) == ContactHours(
        not_before=time(10), avoid_work_hours=True)
    assert ContactHours.from_stored({}) is None
