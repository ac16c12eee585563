"""The scenarios `duedesk simulate` runs. Each builds an organization, its patients and invoices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from duedesk.simulate.patients import Patient


@dataclass
class Bill:
    ref: str
    patient: Patient
    amount: Decimal
    due: date


@dataclass
class Scenario:
    name: str
    org_name: str
    org_timezone: str
    workflow: str  # a shipped workflow: default, rent
    start: datetime
    end: datetime
    bills: list[Bill] = field(default_factory=list)
    callback_number: str = "+12125550100"
    voicemail_name: str = "Dana"
    # Event-started workflows: invoices wait for their event instead of being enrolled when added.
    enroll: bool = True
    events: list[tuple[datetime, str, str, dict]] = field(default_factory=list)  # (when, invoice ref, type, data)
    voicemail_business_name: str = ""
    # What the billing office does during the run: (when, what, data), what being "save_workflow" (data:
    # source), "settings" (Organization fields), "note" (invoice ref and text), "outreach_off" (phone),
    # "pause" (invoice ref, days), "text" (a staff text about an invoice ref), "status" (invoice ref, status: a
    # write-off or a dispute recorded by staff) or "unreachable" (phone, channel, code: what the carrier reported
    # about a number).
    office: list[tuple[datetime, str, dict]] = field(default_factory=list)
    # What the line-type lookup says of numbers (the rest are mobiles); empty: no lookup, as without Twilio.
    line_types: dict[str, str] = field(default_factory=dict)
    # Patients (or strangers) who call the organization's number: (when, who). Organization fields beyond the
    # ones above (its Twilio number, the office line for transfers).
    calls_in: list[tuple[datetime, Patient]] = field(default_factory=list)
    org_settings: dict = field(default_factory=dict)


CLINIC_START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def clinic(start: datetime = CLINIC_START, end: datetime | None = None, prefix: str = "INV") -> Scenario:
    """Ten patients covering every behaviour, due dates spread over the month after `start`."""
    p = [
        Patient("pay_after_text", "Ana", "Reyes", "+12125550101", pays_after_text=timedelta(hours=3)),
        Patient("pay_after_call", "Ben", "Carter", "+13125550102",
                lines=["can you text me the link i'll pay it right now"], pays_after_call=timedelta(hours=1)),
        Patient("promise_kept", "Chloe", "Nguyen", "+14155550103", lines=["i can pay on friday"],
                pays_on_promise=True),
        Patient("promise_broken", "Dan", "Miller", "+12065550104", lines=["i get paid on the 15th i'll pay then"],
                answers_calls=True),
        Patient("dispute", "Eva", "Santos", "+13055550105",
                lines=["this bill is wrong my insurance already covered that visit"]),
        Patient("hardship", "Frank", "Okafor", "+17135550106",
                lines=["i lost my job last month and i just can't afford it right now"]),
        Patient("stop", "Grace", "Kim", "+16175550107", reply_to_first_text="STOP"),
        Patient("never_answers", "Hugo", "Silva", "+16025550108", answers_calls=False),
        Patient("voicemail", "Iris", "Walker", "+14045550109", machine=True),
        Patient("promise_by_text_es", "Lucía", "Gómez", "+13055550110", language="es",
                reply_to_first_text="puedo pagar el viernes 18", pays_on_promise=True),
    ]
    dues = [date(2026, 12, 4), date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 11),
            date(2026, 12, 14), date(2026, 12, 16), date(2026, 12, 18), date(2026, 12, 21), date(2026, 12, 15)]
    amounts = ["120.00", "85.50", "240.00", "310.25", "95.00", "1250.00", "60.00", "175.00", "45.00", "130.00"]
    shift = start.date() - CLINIC_START.date()
    bills = [Bill(f"{prefix}-{1001 + i}", patient, Decimal(amounts[i]), dues[i] + shift)
             for i, patient in enumerate(p)]
    return Scenario("clinic", "Maple Street Clinic", "America/New_York", "default", start=start,
                    end=end or start + timedelta(days=51), bills=bills)


def rent() -> Scenario:
    """The seed's story: reminders on the 27th, calls on the 8th to the four units still outstanding."""
    tenants = [
        Patient("pays_early", "Alice", "Moore", "+12125550201", pays_after_text=timedelta(days=2)),
        Patient("pays_early", "Bob", "Hughes", "+12125550202", pays_after_text=timedelta(days=3)),
        Patient("pay_on_call", "Carmen", "Diaz", "+12125550203",
                lines=["oh sorry i forgot i'll pay it right now send me the link"], pays_after_call=timedelta(hours=2)),
        Patient("pay_on_call", "David", "Park", "+12125550204",
                lines=["yes i can pay today please text me the link"], pays_after_call=timedelta(hours=4)),
        Patient("commits_friday", "Erin", "Brooks", "+12125550205", lines=["i can pay on friday"],
                pays_on_promise=True),
        Patient("hardship", "Felix", "Turner", "+12125550206",
                lines=["i was laid off two weeks ago and i can't afford the rent right now"]),
    ]
    bills = [Bill(f"UNIT-{101 + i}-DEC", t, Decimal("1450.00"), date(2026, 12, 1)) for i, t in enumerate(tenants)]
    return Scenario("rent", "Oakwood Apartments", "America/New_York", "rent",
                    start=datetime(2026, 11, 20, 14, 0, tzinfo=UTC), end=datetime(2026, 12, 31, tzinfo=UTC),
                    bills=bills, voicemail_name="Sam")


def recovery() -> Scenario:
    """Failed-payment recovery for a clinic's monthly plans (card payments through Stripe Invoicing).

    Grace's card fails on a Tuesday morning: a text with the update link at once, an email the next morning,
    a call two days before the next billing date (she says she has updated the card), and the card retry the
    next day succeeds: outreach stops. Henry's fails late at night: the text waits for the morning window,
    he updates his card after reading it, the retry succeeds and nothing more is sent."""
    grace = Patient("updates_after_call", "Grace", "Ellis", "+12125550301",
                    lines=["i just updated my card you can run it again"])
    henry = Patient("updates_after_text", "Henry", "Okafor", "+12125550302")
    plan = Decimal("89.00")
    bills = [Bill("PLAN-2026-12-GE", grace, plan, date(2026, 12, 1)), Bill("PLAN-2026-12-HO", henry, plan,
                                                                         date(2026, 12, 1))]
    ny = ZoneInfo("America/New_York")
    failed = [
        (datetime(2026, 12, 1, 10, 5, tzinfo=ny), "PLAN-2026-12-GE", "payment.failed",
         {"next_billing_date": "2026-12-10"}),
        (datetime(2026, 12, 1, 22, 40, tzinfo=ny), "PLAN-2026-12-HO", "payment.failed",
         {"next_billing_date": "2026-12-10"}),
        # The processor's retries: each one that succeeds is a payment.
        (datetime(2026, 12, 9, 11, 0, tzinfo=ny), "PLAN-2026-12-GE", "payment.succeeded", {}),
        (datetime(2026, 12, 2, 13, 0, tzinfo=ny), "PLAN-2026-12-HO", "payment.succeeded", {}),
    ]
    return Scenario("recovery", "Maple Street Physical Therapy", "America/New_York", "failed-payment",
                    start=datetime(2026, 12, 1, 12, 0, tzinfo=UTC), end=datetime(2026, 12, 20, tzinfo=UTC),
                    bills=bills, enroll=False, events=[(when.astimezone(UTC), *rest) for when, *rest in failed])


def compliance() -> Scenario:
    """Issue 10's rules, each acted on at least once, through the real engine on the virtual clock.

    Legal stops by text (EN, ES), on a call and in a staff note; "stop calling, text is fine" and "not before
    11am"; identity before the amount by text (matched, and failed twice); the voicemail settings refused
    (a debt-revealing business name) until the office fixes them; the content linter refusing a clinical
    word and a threat; contacts tagged es-MX, es-419 and es_US written to wholly in Spanish, their STOP
    confirmed in Spanish; and a patient who keeps a promise, for contrast."""
    ny = ZoneInfo("America/New_York")
    p = {
        "attorney_text": Patient("attorney_text", "Alice", "Park", "+12125550401",
                                 reply_to_first_text="talk to my lawyer, I have an attorney"),
        "bankruptcy_es": Patient("bankruptcy_es", "Bruno", "Díaz", "+12125550402", language="es-MX",
                                 reply_to_first_text="me declaré en bancarrota"),
        "cease": Patient("cease", "Carla", "Jones", "+12125550403", reply_to_first_text="stop contacting me"),
        "attorney_call": Patient("attorney_call", "Derek", "Ford", "+12125550404",
                                 lines=["my attorney is handling this talk to him"]),
        "calls_only_stop": Patient("calls_only_stop", "Elena", "Cruz", "+12125550405",
                                   reply_to_first_text="stop calling me, text is fine"),
        "hours": Patient("hours", "Farid", "Haddad", "+12125550406",
                         reply_to_first_text="please don't call me before 11am", lines=["i can pay on friday"],
                         pays_on_promise=True),
        "identity_ok": Patient("identity_ok", "Gina", "Lopez", "+12125550407",
                               replies=["how much do I owe", "03/03/1980"], pays_after_text=timedelta(days=1)),
        "identity_failed": Patient("identity_failed", "Hank", "Moore", "+12125550408",
                                   replies=["how much do I owe", "01/01/1999", "12/12/1990"]),
        "voicemail_withheld": Patient("voicemail_withheld", "Ivy", "Chen", "+12125550409", machine=True),
        "voicemail_left": Patient("voicemail_left", "Jack", "Reed", "+12125550410", machine=True),
        "spanish_promise": Patient("spanish_promise", "Karla", "Ruiz", "+12125550411", language="es-419",
                                   reply_to_first_text="puedo pagar el viernes", pays_on_promise=True),
        "stop_es": Patient("stop_es", "Luis", "Vega", "+12125550412", language="es_US", reply_to_first_text="ALTO"),
        "staff_note": Patient("staff_note", "Mona", "Ali", "+12125550413"),
    }
    dues = {"attorney_text": date(2026, 12, 4), "bankruptcy_es": date(2026, 12, 4), "cease": date(2026, 12, 7),
            "attorney_call": date(2026, 12, 2), "calls_only_stop": date(2026, 12, 4), "hours": date(2026, 12, 3),
            "identity_ok": date(2026, 12, 8), "identity_failed": date(2026, 12, 8),
            "voicemail_withheld": date(2026, 12, 1), "voicemail_left": date(2026, 12, 14),
            "spanish_promise": date(2026, 12, 9), "stop_es": date(2026, 12, 9), "staff_note": date(2026, 12, 10)}
    bills = [Bill(f"CMP-{101 + i}", p[name], Decimal("100.00") + 15 * i, due) for i, (name, due) in
             enumerate(dues.items())]
    bills.append(Bill("CMP-201", p["cease"], Decimal("80.00"), date(2026, 12, 21)))  # a second invoice

    # When and how often: consent, zones, states, landlines, calls to one person, the office's calendar.
    q = {
        "no_consent": Patient("no_consent", "Nora", "Blake", "+12125550414", consent=False),
        "area_code": Patient("area_code", "Omar", "Said", "+14055550415", zip_code="10001", answers_calls=False),
        "massachusetts": Patient("massachusetts", "Paula", "Grant", "+16175550416", zip_code="02108",
                                 answers_calls=False),
        "landline": Patient("landline", "Quinn", "Hale", "+12125550417", answers_calls=False),
        "many_invoices": Patient("many_invoices", "Rita", "Webb", "+12125550418", answers_calls=False),
        "holiday": Patient("holiday", "Sam", "Ortiz", "+12125550419", pays_after_text=timedelta(hours=2)),
        "closed_day": Patient("closed_day", "Tara", "Lin", "+12125550420", pays_after_text=timedelta(hours=2)),
        "outreach_off": Patient("outreach_off", "Uma", "Reyes", "+12125550421"),
        "unreachable": Patient("unreachable", "Victor", "Ng", "+12125550422", lines=["i can pay on friday"],
                               pays_on_promise=True),
        "paused": Patient("paused", "Wendy", "Cole", "+12125550423", pays_after_text=timedelta(hours=2)),
        "conversation": Patient("conversation", "Xavier", "Bell", "+12125550424",
                                lines=["this bill is wrong my insurance already covered that visit"]),
        "written_off": Patient("written_off", "Yusuf", "Amari", "+12125550425"),
        "hardship_text": Patient("hardship_text", "Zara", "Stone", "+12125550426",
                                 reply_to_first_text="I lost my job and I can't pay right now"),
    }
    more = [("no_consent", date(2026, 12, 4)), ("area_code", date(2026, 12, 4)), ("massachusetts", date(2026, 12, 2)),
            ("landline", date(2026, 12, 2)), ("landline", date(2026, 12, 9)), *[("many_invoices", date(2026, 12, 3))] * 4,
            ("holiday", date(2026, 12, 28)), ("closed_day", date(2026, 12, 27)), ("outreach_off", date(2026, 12, 8)),
            ("unreachable", date(2026, 12, 4)), ("paused", date(2026, 12, 7)), ("conversation", date(2026, 12, 3)),
            ("conversation", date(2026, 12, 5)), ("written_off", date(2026, 12, 7)),
            ("hardship_text", date(2026, 12, 4))]
    bills += [Bill(f"CMP-{301 + i}", q[name], Decimal("60.00") + 5 * i, due) for i, (name, due) in enumerate(more)]

    from duedesk.workflows import read

    default = read("default")
    heads_up = "A friendly reminder that your\n      balance of {{ invoice.amount }}"
    office = [
        (datetime(2026, 11, 30, 15, 0, tzinfo=UTC), "save_workflow", {"source": default.replace(
            heads_up, "Dr. Patel reminds you that your\n      chemotherapy balance of {{ invoice.amount }}", 1)}),
        (datetime(2026, 11, 30, 15, 5, tzinfo=UTC), "save_workflow", {"source": default.replace(
            heads_up, "Pay now or we will sue and tell the credit bureau. Your\n      balance of "
                      "{{ invoice.amount }}", 1)}),
        (datetime(2026, 12, 3, 16, 0, tzinfo=UTC), "note",
         {"invoice": "CMP-113", "text": "Mona called: she filed for bankruptcy last week"}),
        (datetime(2026, 12, 10, 15, 0, tzinfo=UTC), "settings", {"voicemail_business_name": "Maple Street Health"}),
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "settings", {"closed_dates": ["2026-12-24"]}),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "outreach_off", {"phone": "+12125550421"}),
        (datetime(2026, 11, 30, 15, 0, tzinfo=UTC), "unreachable",
         {"phone": "+12125550422", "channel": "sms", "code": "21614"}),  # the carrier: not a mobile number
        (datetime(2026, 12, 3, 15, 0, tzinfo=UTC), "pause", {"invoice": "CMP-314", "days": 3}),
        (datetime(2026, 12, 9, 15, 0, tzinfo=UTC), "text", {"invoice": "CMP-107"}),  # already paid
        (datetime(2026, 12, 9, 15, 5, tzinfo=UTC), "text", {"invoice": "CMP-315"}),  # disputed on the Dec 8 call
        (datetime(2026, 12, 2, 15, 0, tzinfo=UTC), "status", {"invoice": "CMP-317", "status": "written_off"}),
        (datetime(2026, 12, 3, 15, 0, tzinfo=UTC), "text", {"invoice": "CMP-317"}),  # written off
    ]
    return Scenario("compliance", "Maple Street Clinic", "America/New_York", "default",
                    start=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), end=datetime(2027, 1, 10, tzinfo=ny),
                    bills=bills, voicemail_business_name="Maple Street Collections", office=office,
                    line_types={"+12125550417": "landline"})


def hotline() -> Scenario:
    """Issue 14's invoice question hotline: patients call the clinic's number back after Monday's reminder text.

    Ana verifies, asks her balance and promises Friday (and pays then); Ben gives the wrong date of birth
    twice and hears only the limited-content message; a stranger hears the office's number and staff are
    told; Chloe disputes the bill in office hours and is transferred; Dan asks for a person in office hours and
    is transferred; Eva asks for a person after hours and leaves a message; Lucía calls in Spanish and promises
    Friday; Tomás shares his mother's number, is asked his name, asks what the charge is for and has the pay
    link texted."""
    ny = ZoneInfo("America/New_York")
    p = {
        "promise": Patient("hotline_promise", "Ana", "Reyes", "+12125550501",
                           lines=["how much do I owe", "i can pay on friday"], pays_on_promise=True),
        "identity_failed": Patient("hotline_identity_failed", "Ben", "Carter", "+12125550502",
                                   claims_dob=date(1979, 8, 14), lines=["how much do I owe"]),
        "dispute": Patient("hotline_dispute", "Chloe", "Nguyen", "+12125550503",
                           lines=["this bill is wrong my insurance already covered that visit"]),
        "transfer": Patient("hotline_transfer", "Dan", "Miller", "+12125550504",
                            lines=["can i talk to a person please"]),
        "message": Patient("hotline_message", "Eva", "Santos", "+12125550505",
                           lines=["can i speak with someone in billing", "please call me tomorrow after ten"]),
        "spanish": Patient("hotline_spanish", "Lucía", "Gómez", "+12125550506", language="es",
                           lines=["cuánto debo", "puedo pagar el viernes"], pays_on_promise=True),
        "mother": Patient("hotline_shared_number", "Rosa", "Díaz", "+12125550507", dob=date(1975, 2, 9)),
        "son": Patient("hotline_shared_number", "Tomás", "Díaz", "+12125550507", dob=date(2008, 6, 1),
                       lines=["what is this charge for", "can you text me the link"],
                       pays_after_call=timedelta(hours=2)),
    }
    stranger = Patient("hotline_unknown", "Sam", "Rivera", "+13125550999")
    # Due this week: the reminder texts go out on Monday, and the calls back follow.
    dues = {"promise": date(2026, 12, 3), "identity_failed": date(2026, 12, 3), "dispute": date(2026, 12, 3),
            "transfer": date(2026, 12, 3), "message": date(2026, 12, 3), "spanish": date(2026, 12, 3),
            "mother": date(2026, 12, 4), "son": date(2026, 12, 3)}
    bills = [Bill(f"HL-{101 + i}", p[name], Decimal("90.00") + 20 * i, due) for i, (name, due) in
             enumerate(dues.items())]
    calls = [
        (datetime(2026, 12, 1, 10, 15, tzinfo=ny), p["promise"]),
        (datetime(2026, 12, 1, 10, 40, tzinfo=ny), p["identity_failed"]),
        (datetime(2026, 12, 1, 11, 5, tzinfo=ny), stranger),
        (datetime(2026, 12, 1, 14, 30, tzinfo=ny), p["dispute"]),
        (datetime(2026, 12, 2, 15, 10, tzinfo=ny), p["transfer"]),
        (datetime(2026, 12, 2, 19, 45, tzinfo=ny), p["message"]),  # the office closed at five
        (datetime(2026, 12, 3, 12, 0, tzinfo=ny), p["spanish"]),
        (datetime(2026, 12, 3, 16, 0, tzinfo=ny), p["son"]),
    ]
    return Scenario("hotline", "Maple Street Clinic", "America/New_York", "default",
                    start=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), end=datetime(2026, 12, 6, tzinfo=UTC),
                    bills=bills, calls_in=[(when.astimezone(UTC), who) for when, who in calls],
                    org_settings={"voice_caller_id": "+12125550000", "transfer_number": "+12125550111"})


SCENARIOS = {"clinic": clinic, "rent": rent, "recovery": recovery, "compliance": compliance, "hotline": hotline}
