"""`duedesk simulate compliance`: twenty-four patients and the billing office exercise every issue-10 rule
through the real engine on the virtual clock; each rule id appears on the timeline where it acts, the
Spanish-speaking contacts (es-MX, es-419, es_US) are written to wholly in Spanish, and two runs print the
same events."""

from __future__ import annotations

import pytest

from duedesk.channels import providers
from duedesk.records.models import Contact
from duedesk.simulate.runner import simulate

pytestmark = pytest.mark.django_db

# Each rule of docs/compliance.md that acts on the timeline, and where its id is written.
RULES = {
    "attorney_represented", "bankruptcy", "cease_communication",  # compliance.legal_hold (text, call, note)
    "contact_preference",  # step.deferred
    "opted_out",  # step.blocked after "stop calling me, text is fine" and after ALTO
    "voicemail_identity",  # call.voicemail_withheld
    "content_clinical", "content_threat",  # workflow.refused
    # The gate's other rules (core/compliance.py), each named on step.deferred / step.blocked / sms.blocked:
    "no_consent", "channel_unreachable", "landline_text", "landline_calls", "window_area_code", "state_hours_OK",
    "state_calls_MA", "calls_per_day", "call_after_unanswered", "call_after_conversation", "holiday", "closed_day",
    "paused", "invoice_paid", "invoice_disputed", "invoice_written_off", "invoice_hardship",
}


def rule_ids(events) -> set[str]:
    return {e["detail"]["rule"] for e in events if isinstance(e["detail"], dict) and e["detail"].get("rule")}


@pytest.fixture(autouse=True)
def _reset_transports():
    yield
    providers.use(None)


def test_every_rule_acts_and_is_named(settings, the_command_prints):
    events = simulate("compliance")
    the_command_prints("compliance", events)
    assert len({e["contact"] for e in events if e["contact"]}) >= 26
    assert RULES <= rule_ids(events), RULES - rule_ids(events)
    by = {}
    for e in events:
        by.setdefault(e["contact"], []).append(e)

    def kinds(name):
        return [e["kind"] for e in by[name]]

    # Legal stops: the late call never goes out; the hold's source is named.
    sources = {e["contact"]: e["detail"]["source"] for e in events if e["kind"] == "compliance.legal_hold"}
    assert sources == {"Alice Park": "sms reply", "Bruno Díaz": "sms reply", "Carla Jones": "sms reply",
                       "Derek Ford": "call", "Mona Ali": "staff note"}
    for name in ("Alice Park", "Bruno Díaz", "Carla Jones", "Mona Ali"):
        assert "call.placed" not in kinds(name)
    assert {e["invoice"] for e in by["Carla Jones"] if e["kind"] == "enrollment.exited"} == {"CMP-103", "CMP-201"}
    # Channel and hours: calls stopped, texts go on; the call moved to 11:00 as asked.
    assert "call.placed" not in kinds("Elena Cruz")
    placed = next(e for e in by["Farid Haddad"] if e["kind"] == "call.placed")
    assert placed["at"].startswith("2026-12-08T11:00")
    # Identity before the amount by text.
    gina = [e["detail"]["body"] for e in by["Gina Lopez"] if e["kind"] == "sms.sent"]
    assert "date of birth" in gina[1] and "$190.00" in gina[2]
    assert [e["detail"]["reason"] for e in by["Hank Moore"] if e["kind"] == "handoff.opened"][0] == "identity_failed"
    assert not any("$205.00" in e["detail"].get("body", "") for e in by["Hank Moore"][3:] if e["kind"] == "sms.sent")
    # Voicemail: refused with a debt-revealing business name, left once the office fixed it.
    assert "call.voicemail" not in kinds("Ivy Chen")
    (left,) = [e for e in by["Jack Reed"] if e["kind"] == "call.voicemail"]
    assert left["detail"]["text"].startswith("Hello, this is Dana from Maple Street Health.")
    # Content: no refused version was stored; every text names the organization.
    refused = [e for e in events if e["kind"] == "workflow.refused"]
    assert [(e["detail"]["rules"], e["detail"]["words"]) for e in refused] == [
        (["content_clinical"], ["Dr."]), (["content_threat"], ["sue"])]
    texts = [e for e in events if e["kind"] == "sms.sent"]
    assert all("Maple Street Clinic" in e["detail"]["body"] for e in texts)
    # Language: stored as Spanish, written to wholly in Spanish, STOP confirmed in Spanish.
    for name in ("Bruno Díaz", "Karla Ruiz", "Luis Vega"):
        first, last = name.split()
        assert Contact.objects.get(first_name=first, last_name=last).language == "es"
        for e in by[name]:
            if e["kind"] == "sms.sent":
                body = e["detail"]["body"]
                assert not any(w in body for w in ("Hi,", "Reply STOP", "balance", "Thank you")), body
    assert any("Se ha dado de baja" in e["detail"]["body"] for e in by["Luis Vega"] if e["kind"] == "sms.sent")

    def acted(name, kind):
        return [(e["at"][:16], e["detail"]["rule"]) for e in by[name] if e["kind"] == kind]

    # Consent withdrawn at import: nothing automated reaches Nora.
    assert acted("Nora Blake", "step.blocked") == [("2026-12-01T09:00", "no_consent")]
    assert not {"sms.sent", "call.placed"} & set(kinds("Nora Blake"))
    # A New York address with an Oklahoma City number: the text waits for 09:00 there, the call for Oklahoma's.
    assert acted("Omar Said", "step.deferred") == [("2026-12-01T09:00", "window_area_code"),
                                                   ("2026-12-09T09:00", "state_hours_OK")]
    # Massachusetts: 2 calls about one invoice in 7 days.
    assert acted("Paula Grant", "step.deferred") == [("2026-12-09T09:00", "state_calls_MA")]
    # A landline: no text ever; 3 calls, the 4th (about another invoice) waits until the first is 30 days old.
    assert {rule for _, rule in acted("Quinn Hale", "step.blocked")} == {"landline_text"}
    assert not any(e["kind"] == "sms.sent" for e in by["Quinn Hale"])
    quinn = [e["at"][:10] for e in by["Quinn Hale"] if e["kind"] == "call.placed"]
    assert quinn[:4] == ["2026-12-07", "2026-12-08", "2026-12-09", "2027-01-06"]
    assert acted("Quinn Hale", "step.deferred") == [("2026-12-14T09:00", "landline_calls")]
    # Four late invoices: 3 calls a day, 5 minutes apart after each unanswered one.
    rita = acted("Rita Webb", "step.deferred")
    assert {rule for _, rule in rita} == {"call_after_unanswered", "calls_per_day"}
    per_day = {}
    for e in by["Rita Webb"]:
        if e["kind"] == "call.placed":
            per_day[e["at"][:10]] = per_day.get(e["at"][:10], 0) + 1
    assert max(per_day.values()) == 3
    # The office's calendar, a pause, a carrier's report, a conversation, a staff text on a paid invoice.
    assert acted("Sam Ortiz", "step.deferred") == [("2026-12-25T09:00", "holiday")]
    assert acted("Tara Lin", "step.deferred") == [("2026-12-24T09:00", "closed_day")]
    assert acted("Wendy Cole", "step.deferred") == [("2026-12-04T09:00", "paused")]
    assert acted("Victor Ng", "step.blocked")[0] == ("2026-12-01T09:00", "channel_unreachable")
    assert "call.placed" in kinds("Victor Ng")  # the workflow goes on to the call
    assert acted("Xavier Bell", "step.deferred") == [("2026-12-10T09:00", "call_after_conversation")]
    assert acted("Gina Lopez", "sms.blocked") == [("2026-12-09T10:00", "invoice_paid")]
    assert acted("Xavier Bell", "sms.blocked") == [("2026-12-09T10:05", "invoice_disputed")]
    assert acted("Yusuf Amari", "sms.blocked") == [("2026-12-03T10:00", "invoice_written_off")]
    # A hardship text: a person handles the invoice; its late call is blocked at the gate.
    assert acted("Zara Stone", "step.blocked") == [("2026-12-09T09:00", "invoice_hardship")]
    assert "call.placed" not in kinds("Zara Stone")
    assert "outreach.off" in kinds("Uma Reyes") and not {"sms.sent", "call.placed"} & set(kinds("Uma Reyes"))
