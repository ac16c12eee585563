"""Held-out utterances: written by someone who had not read the rules or the corpus.

``nlu_holdout.jsonl`` was scored untouched (93.7% intents) before the rules were
generalised against its misses; ``nlu_holdout2.jsonl`` was written after that and
is the honest measure of replies the rules have not seen. Its floor is the untouched
score rounded down: a rule change that loses ground on it is a regression.
"""

from pathlib import Path

import pytest

from duedesk.core.nlu import INTENTS
from duedesk.core.nlu.evaluate import evaluate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(
    "name, n, intent_floor, date_floor",
    [
        ("nlu_holdout.jsonl", 300, 0.95, 0.95),
        ("nlu_holdout2.jsonl", 140, 0.90, 0.95),
    ],
)
def test_holdout_accuracy(name, n, intent_floor, date_floor):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    report, metrics = evaluate(str(path))
    assert metrics["n"] >= n
    assert metrics["intent_accuracy"] >= intent_floor, report
    assert metrics["date_accuracy"] >= date_floor, report
    assert set(metrics["per_intent"]) == set(INTENTS)
