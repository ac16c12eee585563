"""Legal stops and contact preferences in the understanding: they win over hardship, opt-out and unclear."""

from datetime import datetime

import pytest

from duedesk.core.nlu import legal_stop_in, understand

NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"


@pytest.mark.parametrize("text, intent", [
    ("tengo un abogado", "attorney"),
    ("I have an attorney", "attorney"),
    ("I have an attorney and I can't afford this", "attorney"),  # not hardship
    ("my lawyer says stop calling", "attorney"),  # not opt_out
    ("me declaré en bancarrota", "bankruptcy"),
    ("I'm bankrupt, I lost my job", "bankruptcy"),
    ("we filed chapter 13", "bankruptcy"),
    ("cease and desist", "cease_contact"),
    ("stop contacting me", "cease_contact"),
    ("dejen de contactarme", "cease_contact"),
    ("estoy en la quiebra", "hardship"),  # "I'm broke", not a filing
    ("stop calling", "opt_out"),
    ("I'm at work, call me back after 5", "callback_later"),
])
def test_legal_stops_win(text, intent):
    assert understand(text, NOW, NY).intent == intent


@pytest.mark.parametrize("text, preference", [
    ("stop calling me, text is fine", {"stop": ["call"]}),
    ("no me llamen, mejor mensajes", {"stop": ["call"]}),
    ("stop texting me, just call", {"stop": ["sms"]}),
    ("don't call me at work", {"channels": ["call"], "avoid_work_hours": True}),
    ("not before 10", {"channels": ["call", "sms"], "not_before": "10:00"}),
    ("no calls before 9am", {"channels": ["call"], "not_before": "09:00"}),
    ("only evenings", {"channels": ["call", "sms"], "not_before": "17:00"}),
    ("don't call me after 7", {"channels": ["call"], "not_after": "19:00"}),
    ("no me llamen antes de las 10", {"channels": ["call"], "not_before": "10:00"}),
])
def test_preferences(text, preference):
    u = understand(text, NOW, NY)
    assert (u.intent, u.preference) == ("contact_preference", preference)


@pytest.mark.parametrize("note, stop", [
    ("pt says she has an attorney", "attorney"),
    ("no attorney involved", None),
    ("does not have a lawyer", None),
    ("filed bankruptcy in May", "bankruptcy"),
    ("called, left voicemail", None),
])
def test_legal_stops_in_staff_notes(note, stop):
    assert legal_stop_in(note) == stop
