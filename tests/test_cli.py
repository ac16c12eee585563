"""The one entry point: our commands and Django's through `duedesk`."""

import json
import subprocess
import sys


def duedesk(*args, input=None, env=None):
    return subprocess.run([sys.executable, "-m", "duedesk", *args], capture_output=True, text=True, input=input,
                          timeout=600, env=env)  # a bound for a hung command, far past a busy machine


def test_workflow_check_prints_every_error_with_its_line_and_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Broken\n"
        "steps:\n"
        "  - id: hello\n"
        "    sms: missing_template\n"
        "    at: due_date - three days\n"
        "  - id: call\n"
        "    call: late_call\n"
        "    on: {promised: nowhere}\n"
        "templates: {}\n"
    )
    result = duedesk("workflow", "check", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 3
    assert any(line.startswith(f"{bad}:5:") for line in lines)  # the timing
    assert any(line.startswith(f"{bad}:8:") and "nowhere" in line for line in lines)
    assert any("missing_template" in line for line in lines)


def test_workflow_check_accepts_the_shipped_workflows():
    from typer.testing import CliRunner

    from duedesk.cli import app
    from duedesk.workflows import names, path

    for name in names():  # in this process: the command's wiring is what the test above runs as a user does
        result = CliRunner().invoke(app, ["workflow", "check", str(path(name))])
        assert result.exit_code == 0, result.output


def test_nlu_classify_reads_and_writes_json_lines():
    lines = "\n".join(json.dumps(x) for x in [
        {"text": "i can pay friday", "now": "2026-12-07T10:00:00-05:00", "tz": "America/New_York", "lang": "en"},
        {"text": "STOP", "now": "2026-12-07T10:00:00-05:00", "tz": "America/New_York", "lang": None},
        {"text": "puedo pagar el viernes", "now": "2026-12-07T10:00:00-05:00", "tz": "America/New_York",
         "lang": None},
    ])
    result = duedesk("nlu", "classify", input=lines + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0] == {"intent": "promise_to_pay", "date": "2026-12-11", "amount": None}
    assert out[1]["intent"] == "opt_out"
    assert out[2]["intent"] == "promise_to_pay" and out[2]["date"] == "2026-12-11"


def test_nlu_eval_prints_accuracy(tmp_path):
    from pathlib import Path

    corpus = Path(__file__).parent / "fixtures" / "nlu_corpus.jsonl"
    result = duedesk("nlu", "eval", str(corpus))
    assert result.returncode == 0
    assert "intent" in result.stdout.lower() and "%" in result.stdout


def test_django_commands_run_through_the_same_entry_point(tmp_path):
    env = {"DUEDESK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = duedesk("migrate", "--plan", env=env)
    assert result.returncode == 0 and "records" in result.stdout
