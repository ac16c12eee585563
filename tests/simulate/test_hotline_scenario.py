"""`duedesk simulate hotline`: patients call the clinic's number back, through the real hotline, engine and
understanding on the virtual clock; every story of the hotline's HTTP tests, told once more end to end."""

import pytest

from duedesk.channels import providers
from duedesk.records.models import Handoff, Invoice, Promise
from duedesk.simulate.runner import simulate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_transports():
    yield
    providers.use(None)


def said(event) -> list[str]:
    return [t["text"] for t in event["detail"]["transcript"] if t["speaker"] == "assistant"]


def test_the_hotline_stories(the_command_prints):
    events = simulate("hotline")
    the_command_prints("hotline", events)
    assert sum(e["kind"] == "call.received" for e in events) == 8
    calls = {e["contact"]: e for e in events if e["kind"] == "call.completed"}
    assert {e["detail"]["direction"] for e in calls.values()} == {"inbound"}
    assert {name: e["detail"]["outcome"] for name, e in calls.items()} == {
        "Ana Reyes": "promised", "Ben Carter": "identity_failed", "": "unknown_caller", "Chloe Nguyen": "dispute",
        "Dan Miller": "request_human", "Eva Santos": "request_human", "Lucía Gómez": "promised",
        "Tomás Díaz": "paid"}
    for e in calls.values():
        assert said(e)[0].startswith("Hello, you've reached Maple Street Clinic. This is an automated assistant.") or \
            said(e)[0].startswith("Hola, se ha comunicado con Maple Street Clinic. Le atiende un asistente automático.")
    # Ana: the balance, then Friday, kept.
    assert any(s.startswith("Your balance is $90.00.") for s in said(calls["Ana Reyes"]))
    assert Promise.objects.get(invoice__external_ref="HL-101").status == "kept"
    # Ben: nothing about his bill, only the office's number and a person to ask for.
    assert not any("110" in s or "balance" in s for s in said(calls["Ben Carter"]))
    assert said(calls["Ben Carter"])[-1].endswith("Please call Maple Street Clinic back at 2 1 2, 5 5 5, 0 1 0 0 and "
                                                  "ask for Dana. Goodbye.")
    # The stranger: the office's number, and staff are told.
    assert "Please call our office at 2 1 2, 5 5 5, 0 1 0 0" in said(calls[""])[0]
    handoffs = dict(Handoff.objects.values_list("contact__phone", "reason"))
    assert handoffs == {"+13125550999": "unknown_caller", "+12125550503": "dispute",
                        "+12125550504": "request_human", "+12125550505": "request_human"}
    # Chloe and Dan in office hours: transferred to the staff line; Eva after hours: her message is kept.
    transfers = [e["contact"] for e in events if e["kind"] == "call.transfer"]
    assert transfers == ["Chloe Nguyen", "Dan Miller"]
    assert Invoice.objects.get(external_ref="HL-103").status == "disputed"
    assert Handoff.objects.get(contact__first_name="Eva").collected["message"] == "please call me tomorrow after ten"
    # Lucía in Spanish; Tomás shares his mother's number, names himself and pays by the link.
    assert said(calls["Lucía Gómez"])[-1].startswith("Gracias. He anotado que piensa pagar el viernes, 4 de diciembre")
    assert "I have more than one person on file for this phone number." in said(calls["Tomás Díaz"])[0]
    assert Invoice.objects.get(external_ref="HL-108").status == "paid"
    assert Invoice.objects.get(external_ref="HL-107").status == "open"  # his mother's bill is untouched
