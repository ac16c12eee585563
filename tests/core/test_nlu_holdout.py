"""Held-out utterances, written without reading the rules or the corpus.

Untouched scores (intents): ``nlu_holdout.jsonl`` 93.7%, then the rules were generalised
against its misses; ``nlu_holdout2.jsonl`` (new phrasings, written after that) 69.9%, then
its misses were fixed with general rules too. Both now guard against regressions; neither
is a measure of unseen replies any more (see docs/understanding.md). ``nlu_holdout3.jsonl``
(written after both) is never used to train the statistical fallback: rules alone 81.4%,
rules + model 90.0% untouched. ``nlu_holdout4.jsonl`` (356 texts) and ``nlu_holdout4_speech.jsonl``
(170 speech transcripts), written before reading the rules (issue 14: month ends, holidays, DST, zones
where UTC is already tomorrow), scored untouched 87.6% / 85.7% and 85.3% / 90.0% (intents / dates; promise
dates 70.3% and 70.7%); the rules were then generalised (holidays, spoken numbers, spans, pay periods,
tapbacks...), so their floors guard those fixes and no longer measure unseen replies. Never trained on.
``nlu_holdout6.jsonl`` (321 texts) and ``nlu_holdout6_speech.jsonl`` (168 speech turns), written before
reading the rules, scored untouched before any change for them; never trained on. So were
``nlu_holdout8.jsonl`` (348 texts) and ``nlu_holdout8_speech.jsonl`` (180 speech turns), and
``nlu_holdout9.jsonl`` (274 texts) and ``nlu_holdout9_speech.jsonl`` (139 speech turns), written after the
eighth set's fixes by another hand that read no rule: their floors are their untouched scores.
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
        ("nlu_holdout2.jsonl", 150, 0.95, 0.95),
        # never trained on: the floor is its untouched score with the model (90.0%), rounded down
        ("nlu_holdout3.jsonl", 250, 0.90, 0.99),
        # after the issue-14 fixes: 99.4% / 99.2% and 96.5% / 100% (untouched: 87.6% / 85.7%, 85.3% / 90.0%)
        ("nlu_holdout4.jsonl", 350, 0.99, 0.99),
        ("nlu_holdout4_speech.jsonl", 165, 0.96, 0.99),
        # written after those fixes (not blind to the rules): untouched 96.5% / promise dates 92.3% and 100% / 100%;
        # after a second round of general fixes 98.2% / 100% and 100% / 100%
        ("nlu_holdout5.jsonl", 110, 0.98, 0.99),
        ("nlu_holdout5_speech.jsonl", 50, 0.99, 0.99),
        # written before reading the rules; untouched 91.3% / promise dates 92.4% and 93.5% / 98.9%;
        # after general fixes (rules and labels in docs/understanding.md) 99.1% / 100% and 98.2% / 100%
        ("nlu_holdout6.jsonl", 320, 0.98, 0.99),
        ("nlu_holdout6_speech.jsonl", 165, 0.97, 0.99),
        # written after those fixes by the same hand (not blind): first score 97.0% / promise dates 100%
        ("nlu_holdout7.jsonl", 100, 0.97, 0.99),
        # written before reading the rules; untouched 95.4% / promise dates 90.4% (texts) and 98.3% / 98.9% (speech);
        # after general fixes 99.4% / 100% and 100% / 100%, so no longer an unseen-data figure
        ("nlu_holdout8.jsonl", 345, 0.99, 0.99),
        ("nlu_holdout8_speech.jsonl", 175, 0.99, 0.99),
        # written before reading the rules, after the eighth set's fixes; untouched (no rule changed since)
        # 98.9% / promise dates 100% (texts) and 99.3% / 97.2% (speech); all dates 100% and 98.6%
        ("nlu_holdout9.jsonl", 270, 0.985, 0.99),
        ("nlu_holdout9_speech.jsonl", 135, 0.99, 0.98),
    ],
)
def test_holdout_accuracy(name, n, intent_floor, date_floor):
    report, metrics = evaluate(str(FIXTURES / name))
    assert metrics["n"] >= n
    assert metrics["intent_accuracy"] >= intent_floor, report
    assert metrics["date_accuracy"] >= date_floor, report
    covered = set(metrics["per_intent"])
    if name.endswith("_speech.jsonl"):  # a set's speech turns and texts together cover every intent
        covered |= set(evaluate(str(FIXTURES / name.replace("_speech", "")))[1]["per_intent"])
    assert covered == set(INTENTS)
