"""A small statistical fallback for replies the rules call ``unclear``.

Multinomial naive Bayes over binary features of the normalised text (``text.normalize``:
lowercase, accents folded, contractions expanded, shorthand fixed): word unigrams and
bigrams, and character 3- to 5-grams, which carry a reply across word families the
lexicons never listed ("cobrenme" / "cobrar", "unsubscribe" / "subscribed"). Pure Python,
trained once, lazily, from the labelled files in ``data/`` (the corpus and the first two
held-out sets; never ``tests/fixtures/nlu_holdout3.jsonl``), in about a tenth of a second.

It only ever names an intent; dates, amounts and precedence stay with the rules, and
``understand`` asks it only when the rules found nothing (``unclear``). Its answer is
taken when its probability is at least ``THRESHOLD``, chosen by cross-validation on the
training files (see ``tune``), and never on the set it is judged on.

``DUEDESK_NLU_MODEL=off`` turns it off (the rules alone): the Django settings read it and call
``configure`` when the apps load; the core reads no environment.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from importlib import resources

from .text import normalize

TRAINING_FILES = ("nlu_corpus.jsonl", "nlu_holdout.jsonl", "nlu_holdout2.jsonl")
# Chosen by ``tune()`` (python -c "from duedesk.core.nlu.model import tune; tune()"): ALPHA and
# TEMPERATURE have the lowest out-of-fold log-loss; THRESHOLD the best out-of-fold accuracy on the
# replies the rules had no cue for (0.3 and 0.4 tie at 45 of 55; 0.4 gives fewer wrong intents).
ALPHA = 0.1  # additive smoothing
TEMPERATURE = 16.0  # log-likelihoods are divided by this before the softmax (calibration)
THRESHOLD = 0.4  # take the model's intent when its probability is at least this

_lock = threading.Lock()
_model: NaiveBayes | None = None


ENABLED = True


def configure(*, enabled: bool) -> None:
    global ENABLED
    ENABLED = enabled


def enabled() -> bool:
    return ENABLED


def features(text: str) -> set[str]:
    """Binary features of a raw reply: word 1- and 2-grams, character 3- to 5-grams."""
    t = normalize(text)
    words = t.split()
    feats = {"w:" + w for w in words}
    padded = ["<s>", *words, "</s>"]
    feats.update(f"b:{a}_{b}" for a, b in zip(padded, padded[1:], strict=False))
    s = f" {t} "
    for n in (3, 4, 5):
        feats.update("c:" + s[i:i + n] for i in range(len(s) - n + 1))
    return feats


@dataclass
class NaiveBayes:
    classes: tuple[str, ...]
    log_prior: list[float]
    counts: dict[str, list[int]]  # feature -> documents of each class that have it
    log_denominator: list[float]  # log(features seen in class + alpha * vocabulary)
    alpha: float = ALPHA
    temperature: float = TEMPERATURE

    @classmethod
    def train(cls, rows: list[tuple[str, str]], alpha: float = ALPHA, temperature: float = TEMPERATURE):
        classes = tuple(sorted({intent for _, intent in rows}))
        index = {c: i for i, c in enumerate(classes)}
        docs = [0] * len(classes)
        totals = [0] * len(classes)
        counts: dict[str, list[int]] = {}
        for text, intent in rows:
            i = index[intent]
            docs[i] += 1
            feats = features(text)
            totals[i] += len(feats)
            for f in feats:
                row = counts.get(f)
                if row is None:
                    row = counts[f] = [0] * len(classes)
                row[i] += 1
        vocabulary = len(counts)
        n = sum(docs)
        return cls(
            classes=classes,
            log_prior=[math.log(d / n) for d in docs],
            counts=counts,
            log_denominator=[math.log(t + alpha * vocabulary) for t in totals],
            alpha=alpha,
            temperature=temperature,
        )

    def probabilities(self, text: str) -> dict[str, float]:
        scores = [0.0] * len(self.classes)
        known = 0
        for f in features(text):
            row = self.counts.get(f)
            if row is None:
                continue  # a feature never seen in training says nothing about any class
            known += 1
            for i, c in enumerate(row):
                scores[i] += math.log(c + self.alpha)
        scores = [
            lp + (s - known * ld) / self.temperature
            for lp, s, ld in zip(self.log_prior, scores, self.log_denominator, strict=True)
        ]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        z = sum(exp)
        return {c: e / z for c, e in zip(self.classes, exp, strict=True)}

    def predict(self, text: str) -> tuple[str, float]:
        probs = self.probabilities(text)
        best = max(self.classes, key=lambda c: (probs[c], c))
        return best, probs[best]


def training_rows() -> list[tuple[str, str]]:
    rows = []
    data = resources.files(__package__) / "data"
    for name in TRAINING_FILES:
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["text"], obj["intent"]))
    return rows


def get_model() -> NaiveBayes:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = NaiveBayes.train(training_rows())
    return _model


def fallback(text: str) -> str | None:
    """The model's intent for a reply the rules call unclear, or None when it is not sure enough."""
    if not enabled():
        return None
    intent, p = get_model().predict(text)
    if intent == "unclear" or p < THRESHOLD:
        return None
    return intent


def _pool_indices(rows_by_file: dict[str, int]) -> set[int]:
    """Indices into ``training_rows()`` of the replies in ``data/rules_unclear_pool.json``."""
    data = resources.files(__package__) / "data"
    pool = json.loads((data / "rules_unclear_pool.json").read_text(encoding="utf-8"))
    offsets, start = {}, 0
    for name in TRAINING_FILES:
        offsets[name] = start
        start += rows_by_file[name]
    return {offsets[name] + line - 1 for name, line in pool["lines"]}


def tune(folds: int = 10, seed: int = 7) -> None:
    """Print the cross-validation that chose ALPHA, TEMPERATURE and THRESHOLD.

    Each training reply is scored by a model trained on the other folds. ALPHA and
    TEMPERATURE minimise the out-of-fold log-loss; THRESHOLD maximises out-of-fold accuracy
    on the pool of replies the rules of the day had no cue for when each held-out set was
    first scored (``data/rules_unclear_pool.json``): there the choice is the model's intent
    or ``unclear``, which is the choice ``understand`` makes.
    """
    import random

    from .classify import explicitly_unclear
    from .text import has_question_mark

    data = resources.files(__package__) / "data"
    counts = {n: sum(1 for x in (data / n).read_text(encoding="utf-8").splitlines() if x.strip())
              for n in TRAINING_FILES}
    rows = training_rows()
    pool = sorted(i for i in _pool_indices(counts)
                  if not explicitly_unclear(normalize(rows[i][0]), has_question_mark(rows[i][0])))
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    for alpha in (0.03, 0.1, 0.3, 1.0):
        held = {}
        for k in range(folds):
            test = set(order[k::folds])
            m = NaiveBayes.train([r for i, r in enumerate(rows) if i not in test], alpha=alpha, temperature=1.0)
            for i in test:
                held[i] = m
        for temperature in (4.0, 8.0, 16.0, 32.0):
            probs = {}
            for i, m in held.items():
                m.temperature = temperature
                probs[i] = m.probabilities(rows[i][0])
            loss = -sum(math.log(max(probs[i].get(rows[i][1], 0.0), 1e-12)) for i in probs) / len(probs)
            accuracy = sum(max(p, key=p.get) == rows[i][1] for i, p in probs.items()) / len(probs)
            line = f"alpha {alpha:<4} T {temperature:<4} log-loss {loss:.3f} accuracy {accuracy:.3f} | pool:"
            for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
                right = wrong = 0
                for i in pool:
                    best = max(probs[i], key=probs[i].get)
                    said = best if best != "unclear" and probs[i][best] >= threshold else "unclear"
                    right += said == rows[i][1]
                    wrong += said not in ("unclear", rows[i][1])
                line += f" {threshold}: {right}/{len(pool)} ({wrong} wrong)"
            print(line)
