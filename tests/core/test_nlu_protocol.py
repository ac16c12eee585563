"""The JSON-lines protocol of `duedesk nlu classify` and the `nlu eval` report."""

import json

from duedesk.core.nlu.evaluate import classify_lines, evaluate


def line(**fields):
    base = {"text": "I'll pay Friday", "now": "2026-12-01T10:00:00-05:00", "tz": "America/New_York", "lang": None}
    base.update(fields)
    return json.dumps(base)


def test_classify_lines_answers_each_line():
    out = [json.loads(x) for x in classify_lines([line(), line(text="puedo dar 40 dólares", lang="es")])]
    assert out[0] == {"intent": "promise_to_pay", "date": "2026-12-04", "amount": None}
    assert out[1] == {"intent": "payment_plan", "date": None, "amount": "40"}


def test_bad_lines_name_the_field_and_the_rest_still_run():
    bad = [
        "{not json",
        json.dumps({"now": "2026-12-01T10:00:00-05:00", "tz": "America/New_York"}),
        line(now="yesterday"),
        line(now="2026-12-01T10:00:00"),
        line(tz="Nowhere/Special"),
        line(lang="fr"),
    ]
    out = [json.loads(x) for x in classify_lines([*bad, "", line()])]
    assert len(out) == len(bad) + 1
    fields = [o["error"].split(":")[0] for o in out[1:len(bad)]]
    assert fields == ["text", "now", "now", "tz", "lang"]
    assert "JSON" in out[0]["error"]
    assert out[-1]["intent"] == "promise_to_pay"


def test_evaluate_reports_per_intent_and_dates(tmp_path):
    path = tmp_path / "labelled.jsonl"
    rows = [
        {**json.loads(line()), "intent": "promise_to_pay", "date": "2026-12-04"},
        {**json.loads(line(text="stop")), "intent": "opt_out", "date": None},
        {**json.loads(line(text="yes")), "intent": "deny", "date": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report, metrics = evaluate(str(path))
    assert metrics["n"] == 3
    assert abs(metrics["intent_accuracy"] - 2 / 3) < 1e-9
    assert metrics["date_accuracy"] == 1.0
    assert metrics["per_intent"]["deny"] == {"n": 1, "correct": 0, "accuracy": 0.0}
    assert "promise_to_pay" in report and "dates" in report and "overall" in report


def test_evaluate_counts_promise_dates_on_their_own(tmp_path):
    # "I'll pay Friday" (Friday 4 December) labelled with the next week's Friday: a promise date missed
    path = tmp_path / "labelled.jsonl"
    rows = [
        {**json.loads(line()), "intent": "promise_to_pay", "date": "2026-12-11"},
        {**json.loads(line(text="stop")), "intent": "opt_out", "date": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report, metrics = evaluate(str(path))
    assert (metrics["promise_dates"], metrics["promise_date_accuracy"]) == (1, 0.0)
    assert "promise dates       1        0      0.0%" in report.splitlines()
