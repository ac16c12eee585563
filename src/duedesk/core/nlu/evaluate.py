"""The JSON-lines protocol behind ``duedesk nlu classify`` and the ``nlu eval`` report.

Input line: {"text": str, "now": ISO 8601 with offset, "tz": IANA zone, "lang": "en"|"es"|null}
Output line: {"intent": str, "date": "YYYY-MM-DD"|null, "amount": str|null}
A bad line gets {"error": "..."} naming the field, and the stream carries on.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from . import INTENTS, Understanding, understand


class InputError(ValueError):
    pass


def _parse(line: str) -> tuple[str, datetime, str, str | None]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line is not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InputError("line must be a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError("text: required, a string")
    now_raw = obj.get("now")
    if not isinstance(now_raw, str):
        raise InputError("now: required, an ISO 8601 date-time with offset")
    try:
        now = datetime.fromisoformat(now_raw)
    except ValueError:
        raise InputError(f"now: not an ISO 8601 date-time: {now_raw!r}") from None
    if now.tzinfo is None:
        raise InputError("now: needs a UTC offset, e.g. 2026-12-01T10:00:00-05:00")
    tz = obj.get("tz")
    if not isinstance(tz, str) or not tz:
        raise InputError("tz: required, an IANA zone such as America/New_York")
    lang = obj.get("lang")
    if lang not in (None, "en", "es"):
        raise InputError(f"lang: must be \"en\", \"es\" or null, not {lang!r}")
    return text, now, tz, lang


def _understand_line(line: str) -> Understanding:
    text, now, tz, lang = _parse(line)
    try:
        return understand(text, now, tz, lang)
    except ValueError as exc:  # an unknown zone is reported as "tz: ..."
        raise InputError(str(exc)) from None


def to_json(u: Understanding) -> dict:
    return {
        "intent": u.intent,
        "date": u.date.isoformat() if u.date else None,
        "amount": str(u.amount) if u.amount is not None else None,
    }


def classify_lines(lines: Iterable[str]) -> Iterator[str]:
    """One output JSON line per non-blank input line."""
    for line in lines:
        if not line.strip():
            continue
        try:
            out = to_json(_understand_line(line))
        except InputError as exc:
            out = {"error": str(exc)}
        yield json.dumps(out, ensure_ascii=False)


def evaluate(path: str) -> tuple[str, dict]:
    """Accuracy per intent, overall, for dates, and for promise dates (the lines labelled ``promise_to_pay``
    with a day: is that day the one understood?) on a labelled JSON-lines file."""
    total = Counter()
    right = Counter()
    n = intent_ok = date_ok = promised = promise_ok = 0
    errors: list[str] = []
    confusions: Counter = Counter()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                u = _understand_line(line)
                label = json.loads(line)
            except InputError as exc:
                errors.append(f"line {lineno}: {exc}")
                continue
            want_intent, want_date = label.get("intent"), label.get("date")
            got_date = u.date.isoformat() if u.date else None
            n += 1
            total[want_intent] += 1
            if u.intent == want_intent:
                right[want_intent] += 1
                intent_ok += 1
            else:
                confusions[(want_intent, u.intent)] += 1
            date_ok += got_date == want_date
            if want_intent == "promise_to_pay" and want_date:
                promised += 1
                promise_ok += got_date == want_date
    per_intent = {
        k: {"n": total[k], "correct": right[k], "accuracy": right[k] / total[k] if total[k] else None}
        for k in INTENTS if total[k]
    }
    metrics = {
        "n": n,
        "intent_accuracy": intent_ok / n if n else 0.0,
        "date_accuracy": date_ok / n if n else 0.0,
        "promise_dates": promised,
        "promise_date_accuracy": promise_ok / promised if promised else None,
        "per_intent": per_intent,
    }
    lines = [f"{'intent':<16}{'n':>5}{'correct':>9}{'accuracy':>10}"]
    for k, v in per_intent.items():
        lines.append(f"{k:<16}{v['n']:>5}{v['correct']:>9}{v['accuracy']:>10.1%}")
    lines.append(f"{'overall':<16}{n:>5}{intent_ok:>9}{metrics['intent_accuracy']:>10.1%}")
    lines.append(f"{'dates':<16}{n:>5}{date_ok:>9}{metrics['date_accuracy']:>10.1%}")
    if promised:
        lines.append(f"{'promise dates':<16}{promised:>5}{promise_ok:>9}{promise_ok / promised:>10.1%}")
    if confusions:
        worst = ", ".join(f"{a}->{b} x{c}" for (a, b), c in confusions.most_common(5))
        lines.append(f"most confused: {worst}")
    for e in errors:
        lines.append(f"skipped {e}")
    return "\n".join(lines), metrics


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"] and len(argv) == 2:
        report, _ = evaluate(argv[1])
        print(report)
        return 0
    if argv[:1] == ["classify"]:
        for out in classify_lines(sys.stdin):
            print(out, flush=True)
        return 0
    print("usage: python -m duedesk.core.nlu.evaluate classify < in.jsonl | eval FILE.jsonl", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
