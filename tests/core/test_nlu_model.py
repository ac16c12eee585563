"""The statistical fallback (duedesk.core.nlu.model): deterministic, only asked when the rules
find nothing, trained on the shipped files and never on the third or fourth held-out sets."""

import json
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from duedesk.core.nlu import model, understand

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime.fromisoformat("2026-12-01T10:00:00-05:00")
NY = "America/New_York"


def _rows(name):
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_model_is_deterministic():
    rows = model.training_rows()
    a, b = model.NaiveBayes.train(rows), model.NaiveBayes.train(list(rows))
    for text in ("just run my visa", "ahorita estoy bien pelado", "the weather is nice", "ok"):
        assert a.probabilities(text) == b.probabilities(text)
        assert a.predict(text) == model.get_model().predict(text)


def test_packaged_training_data_matches_the_fixtures():
    data = resources.files("duedesk.core.nlu") / "data"
    for name in model.TRAINING_FILES:
        assert (data / name).read_text(encoding="utf-8") == (FIXTURES / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize(
    "held_out",
    ["nlu_holdout3.jsonl", "nlu_holdout4.jsonl", "nlu_holdout4_speech.jsonl", "nlu_holdout5.jsonl",
     "nlu_holdout5_speech.jsonl", "nlu_holdout8.jsonl", "nlu_holdout8_speech.jsonl"],
)
def test_holdout3_is_not_in_the_training_data(held_out):
    assert held_out not in model.TRAINING_FILES
    data = resources.files("duedesk.core.nlu") / "data"
    assert not (data / held_out).is_file()
    trained = [(r["text"], r["now"]) for name in model.TRAINING_FILES for r in _rows(name)]
    assert len(model.training_rows()) == len(trained)
    # Short common replies ("nope", "who is this") occur in both as text; no labelled line does.
    assert not {(r["text"], r["now"]) for r in _rows(held_out)} & set(trained)


def test_model_names_unlisted_phrasings():
    # Replies with no lexicon cue that the model carries over from its training data.
    assert understand("get me your supervisor", NOW, NY).intent == "request_human"


@pytest.mark.parametrize("name", ["nlu_holdout3.jsonl", "nlu_corpus.jsonl"])
def test_fallback_only_fires_when_the_rules_say_unclear(name, monkeypatch):
    rows = _rows(name)
    cases = [(r["text"], datetime.fromisoformat(r["now"]), r["tz"], r["lang"]) for r in rows]
    monkeypatch.setattr(model, "ENABLED", False)
    rules = [understand(*c) for c in cases]
    monkeypatch.setattr(model, "ENABLED", True)
    fired = 0
    for case, r in zip(cases, rules, strict=True):
        u = understand(*case)
        if r.intent != "unclear":
            assert u == r, case[0]
        else:
            fired += u.intent != "unclear"
            assert (u.amount, u.lang) == (r.amount, r.lang)
    if name == "nlu_holdout3.jsonl":
        assert fired > 0


@pytest.mark.parametrize("text", ["not sure", "¿mande?", "no le entendí", "gracias", "hello?", "pues no sé"])
def test_a_reply_that_says_it_is_not_an_answer_stays_unclear(text):
    assert understand(text, NOW, NY).intent == "unclear"


def test_model_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(model, "ENABLED", False)
    assert model.fallback("leave me alone") is None
    assert understand("get me your supervisor", NOW, NY).intent == "unclear"
