"""When a patient may be texted or called, through the public surfaces: invoices imported from a CSV file,
the worker ticking on a virtual clock, calls ended by their status callback. Each test fails without its rule:
the window in the phone's area-code zone, state hours and call limits (Florida, Oklahoma, Maryland,
Massachusetts), the organization's holidays, at most 3 calls a day to one person across all their invoices,
none within 5 minutes of an unanswered one, and `workflow check` refusing retries the call rules would never
let run."""

import io
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta

import pytest

from duedesk.channels.models import SimulatedSend
from duedesk.conversations import calls
from duedesk.core.workflow import WorkflowError
from duedesk.engine import definitions
from duedesk.engine.models import Step
from duedesk.intake.importer import import_invoices
from duedesk.records.models import Call, Event

pytestmark = pytest.mark.django_db

HEADER = "external_ref,first_name,phone,zip_code,amount_due,due_date"

LATE_CALLS = """\
name: Late calls
steps:
  - id: late_call
    call: late_call
    at: due_date + 1d
"""


def load(org, clock, *rows):
    text = "\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n"
    result = import_invoices(org, io.StringIO(text, newline=""), clock())
    assert not result.errors, result.errors
    return result


def wide_window(org):
    org.window_start, org.window_end = time(8), time(21)
    org.save(update_fields=["window_start", "window_end"])


def texts_to(phone):
    return list(SimulatedSend.objects.filter(channel="sms", to=phone).values_list("at", flat=True))


def deferrals(**where):
    return [(e.detail["rule"], e.detail["until"])
            for e in Event.objects.filter(kind="step.deferred", **where).order_by("at", "id")]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# ----------------------------------------------------------------------------- windows


def test_a_new_york_address_with_a_san_francisco_number_is_not_texted_before_8_pacific(org, clock, worker):
    """ZIP 10001 says New York; the 415 number may be in California: 08:00 in New York is 05:00 there."""
    wide_window(org)
    clock.set(utc(2026, 12, 7, 12, 0))  # Monday 07:00 in New York
    load(org, clock, ("INV-1", "Ana", "+14155550142", "10001", "120.00", "2026-12-10"))
    clock.set(utc(2026, 12, 7, 13, 0))  # 08:00 in New York, 05:00 in San Francisco: the heads-up is due
    worker.tick()
    assert texts_to("+14155550142") == []
    assert deferrals() == [("window_area_code", "2026-12-07T16:00:00+00:00")]  # 08:00 Pacific
    clock.set(utc(2026, 12, 7, 16, 0))
    worker.tick()
    assert texts_to("+14155550142") == [utc(2026, 12, 7, 16, 0)]


@pytest.mark.parametrize("zip_code, phone, late, rule, opens", [
    # Florida: no text after 9 p.m. in the patient's zone (the worker caught up at 21:30 in Miami).
    ("33101", "+13055550142", utc(2026, 12, 8, 2, 30), "state_hours_FL", utc(2026, 12, 8, 13, 0)),
    # Oklahoma: nothing after 8 p.m. (20:30 in Oklahoma City), though the clinic's window runs to 21:00.
    ("73102", "+14055550142", utc(2026, 12, 8, 2, 30), "state_hours_OK", utc(2026, 12, 8, 14, 0)),
    # Maryland: nothing after 8 p.m. either (20:30 in Baltimore).
    ("21201", "+14105550142", utc(2026, 12, 8, 1, 30), "state_hours_MD", utc(2026, 12, 8, 13, 0)),
])
def test_state_hours_defer_a_text_the_worker_reached_late(org, clock, worker, zip_code, phone, late, rule, opens):
    wide_window(org)
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", phone, zip_code, "120.00", "2026-12-10"))
    clock.set(late)
    worker.tick()
    assert texts_to(phone) == []
    assert deferrals() == [(rule, opens.isoformat())]
    clock.set(opens)
    worker.tick()
    assert texts_to(phone) == [opens]


@pytest.mark.parametrize("zip_code, phone, state", [
    ("33101", "+13055550142", "FL"),  # Miami
    ("21201", "+14105550142", "MD"),  # Baltimore
    ("73102", "+14055550142", "OK"),  # Oklahoma City (an hour behind: the calls fall at 14:00-18:02 there)
])
def test_florida_maryland_and_oklahoma_allow_3_calls_about_one_invoice_in_24_hours(org, clock, worker, zip_code,
                                                                                    phone, state):
    """Three unanswered calls on Tuesday afternoon; the next call about the same invoice waits until 24 hours
    after the first, though Wednesday morning is a new day for the 3-a-day limit."""
    wide_window(org)
    definitions.save_version(org, org.workflow_slug, LATE_CALLS.replace(
        "    at: due_date + 1d\n",
        "    at: due_date + 1d\n    retry: {attempts: 3, every: 2h}\n  - id: second_call\n    call: late_call\n"))
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", phone, zip_code, "120.00", "2026-12-07"))
    clock.set(utc(2026, 12, 8, 20, 0))  # Tuesday 15:00 in Miami (the worker was down in the morning)
    for _ in range(3):
        worker.tick()
        call = Call.objects.get(ended_at__isnull=True)
        clock.advance(minutes=1)
        calls.ended(call.pk, "no-answer", clock())
        clock.set(Step.objects.get(status="pending").run_at)
    placed = list(Call.objects.order_by("created_at").values_list("created_at", flat=True))
    assert placed == [utc(2026, 12, 8, 20, 0), utc(2026, 12, 8, 22, 1), utc(2026, 12, 9, 0, 2)]
    worker.tick()  # the second call's turn: 3 calls today already
    clock.set(utc(2026, 12, 9, 15, 0))  # Wednesday 10:00 in Miami (09:00 in Oklahoma City)
    worker.tick()
    assert Call.objects.count() == 3
    assert deferrals()[-1] == (f"state_calls_{state}", "2026-12-09T20:00:00+00:00")
    clock.set(utc(2026, 12, 9, 20, 0))
    worker.tick()
    assert Call.objects.count() == 4


def test_massachusetts_allows_2_calls_about_one_invoice_in_7_days(org, clock, worker):
    """A Boston patient's late call is tried daily; the third waits until the first is a week old."""
    definitions.save_version(org, org.workflow_slug, LATE_CALLS + "    retry: {attempts: 3, every: 1d}\n")
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", "+16175550142", "02108", "120.00", "2026-12-07"))
    clock.set(utc(2026, 12, 8, 14, 0))  # Tuesday 09:00 in Boston
    for _ in range(3):
        worker.tick()
        _end_ringing(clock)
        clock.set(Step.objects.get(status="pending").run_at)
    placed = list(Call.objects.order_by("created_at").values_list("created_at", flat=True))
    assert placed == [utc(2026, 12, 8, 14, 0), utc(2026, 12, 9, 14, 1)]
    assert deferrals()[-1] == ("state_calls_MA", "2026-12-15T14:00:00+00:00")
    worker.tick()
    assert Call.objects.count() == 3


@pytest.mark.parametrize("calendar, open_dates, deferred", [
    ("US", [], True),  # Christmas, a federal holiday: by default nobody is texted
    ("US", ["2026-12-25"], False),  # the office works that day
    ("", [], False),  # no public holidays kept
])
def test_a_public_holiday_defers_reminders_unless_the_office_works_it(org, clock, worker, calendar, open_dates,
                                                                       deferred):
    org.holiday_calendar, org.open_dates = calendar, open_dates
    org.save(update_fields=["holiday_calendar", "open_dates"])
    clock.set(utc(2026, 12, 24, 15, 0))
    load(org, clock, ("INV-1", "Ana", "+12125550142", "10001", "120.00", "2026-12-28"))
    clock.set(utc(2026, 12, 25, 14, 0))  # Friday, December 25, 09:00 in New York: the heads-up is due
    worker.tick()
    if deferred:
        assert texts_to("+12125550142") == []
        assert deferrals() == [("holiday", "2026-12-26T14:00:00+00:00")]  # Saturday 09:00
    else:
        assert texts_to("+12125550142") == [utc(2026, 12, 25, 14, 0)]


def test_a_day_the_office_closes_defers_reminders(org, clock, worker):
    org.closed_dates = ["2026-12-07"]
    org.save(update_fields=["closed_dates"])
    clock.set(utc(2026, 12, 6, 15, 0))
    load(org, clock, ("INV-1", "Ana", "+12125550142", "10001", "120.00", "2026-12-10"))
    clock.set(utc(2026, 12, 7, 14, 0))
    worker.tick()
    assert texts_to("+12125550142") == []
    assert deferrals() == [("closed_day", "2026-12-08T14:00:00+00:00")]


# ----------------------------------------------------------------------------- calls to one person


def _end_ringing(clock, after=timedelta(minutes=1)):
    for call in Call.objects.filter(ended_at__isnull=True):
        calls.ended(call.pk, "no-answer", call.created_at + after)


def test_five_late_invoices_get_at_most_3_calls_a_day_5_minutes_apart(org, clock, worker):
    """One patient with 5 late invoices was called 5 times in the same second. Now: one call at a time,
    none sooner than 5 minutes after the last went unanswered, 3 that day; the others wait for the next."""
    definitions.save_version(org, org.workflow_slug, LATE_CALLS)
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, *[(f"INV-{n}", "Ana", "+12125550142", "10001", "80.00", "2026-12-07") for n in range(5)])
    clock.set(utc(2026, 12, 8, 14, 0))  # Tuesday 09:00 in New York: all five calls are due
    for _ in range(30):  # a tick a minute for half an hour; after the third call the rest wait for Wednesday
        worker.tick()
        clock.advance(minutes=1)
        _end_ringing(clock)
    placed = list(Call.objects.order_by("created_at").values_list("created_at", flat=True))
    assert placed == [utc(2026, 12, 8, 14, 0), utc(2026, 12, 8, 14, 6), utc(2026, 12, 8, 14, 12)]
    rules = {rule for rule, _ in deferrals()}
    assert rules == {"call_after_unanswered", "calls_per_day"}
    assert ("calls_per_day", "2026-12-09T14:00:00+00:00") in deferrals()  # Wednesday 09:00
    clock.set(utc(2026, 12, 9, 14, 0))
    for _ in range(10):
        worker.tick()
        clock.advance(minutes=1)
        _end_ringing(clock)
    assert Call.objects.count() == 5
    assert Call.objects.filter(created_at__gte=utc(2026, 12, 9, 14, 0)).count() == 2


def test_no_call_within_5_minutes_of_an_unanswered_one(org, clock, worker, make_invoice, make_contact):
    definitions.save_version(org, org.workflow_slug, LATE_CALLS)
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", "+12125550142", "10001", "80.00", "2026-12-07"))
    clock.set(utc(2026, 12, 8, 14, 0))
    worker.tick()
    first = Call.objects.get()
    clock.set(utc(2026, 12, 8, 14, 2))
    calls.ended(first.pk, "no-answer", clock())  # nobody picked up; it rang for 2 minutes
    load(org, clock, ("INV-2", "Ana", "+12125550142", "10001", "90.00", "2026-12-07"))  # a second, late invoice
    clock.set(utc(2026, 12, 8, 14, 4))
    worker.tick()
    assert Call.objects.count() == 1
    assert deferrals() == [("call_after_unanswered", "2026-12-08T14:07:00+00:00")]
    clock.set(utc(2026, 12, 8, 14, 7))
    worker.tick()
    assert Call.objects.count() == 2


# ----------------------------------------------------------------------------- workflow check


def test_workflow_check_refuses_retries_the_call_rules_would_never_honour(org, tmp_path):
    source = LATE_CALLS + "    retry: {attempts: 10, every: 1 minute}\n"
    path = tmp_path / "fast.yaml"
    path.write_text(source)
    result = subprocess.run([sys.executable, "-m", "duedesk", "workflow", "check", str(path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    problems = result.stderr.strip().splitlines()
    assert all(line.startswith(f"{path}:6: step 'late_call': retry {{attempts: 10, every: 1 minute}} can't be "
                               "honoured") for line in problems)
    assert [rule for rule in ("call_after_unanswered", "calls_per_day", "call_frequency")
            if any(f"(rule {rule})" in line for line in problems)] == ["call_after_unanswered", "calls_per_day",
                                                                        "call_frequency"]
    with pytest.raises(WorkflowError, match="late_call"):  # and the workflow editor cannot save it
        definitions.save_version(org, org.workflow_slug, source)


def _calls_every_4_hours(n: int) -> str:
    steps = []
    for i in range(1, n + 1):
        steps.append(f"  - id: call_{i}\n    call: late_call\n" + ("    at: due_date + 1d\n" if i == 1 else ""))
        if i < n:
            steps.append(f"  - id: rest_{i}\n    wait: 4h\n")
    return "name: Calls every 4 hours\nsteps:\n" + "".join(steps)


def test_an_eighth_call_about_one_invoice_within_7_days_waits_for_the_first_to_leave_the_week(org, clock, worker):
    """A workflow of eight call blocks 4 hours apart (each call unanswered, the worker ticking hourly): two a day
    fit the window, and the eighth, on the fourth day, waits until the first is 7 days old (rule
    call_frequency)."""
    definitions.save_version(org, org.workflow_slug, _calls_every_4_hours(8))
    clock.set(utc(2026, 12, 7, 12, 0))
    load(org, clock, ("INV-1", "Ana", "+12125550142", "10001", "80.00", "2026-12-07"))
    clock.set(utc(2026, 12, 8, 14, 0))  # Tuesday 09:00 in New York
    while clock() < utc(2026, 12, 12, 2, 0):  # an hourly tick until Friday night
        worker.tick()
        _end_ringing(clock)
        clock.advance(hours=1)
    placed = list(Call.objects.order_by("created_at").values_list("created_at", flat=True))
    assert len(placed) == 7 and placed[0] == utc(2026, 12, 8, 14, 0)
    week_later = (placed[0] + timedelta(days=7)).isoformat()
    assert ("call_frequency", week_later) in deferrals()
    eighth = Step.objects.get(step_id="call_8")
    assert eighth.status == "pending" and eighth.run_at == placed[0] + timedelta(days=7)
    clock.set(placed[0] + timedelta(days=7))
    worker.tick()
    assert Call.objects.count() == 8
