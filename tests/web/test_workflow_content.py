"""The staff workflow editor runs the content linter on save: a clinical word or a threat is shown at its
line with the template and the word, and no version is stored; the action every door uses to store a
version (engine.definitions.save_version) refuses it too."""

from __future__ import annotations

import pytest

from duedesk.core.workflow import WorkflowError
from duedesk.engine import definitions
from duedesk.engine.models import Workflow

pytestmark = pytest.mark.django_db

HEADS_UP = "A friendly reminder that your\n      balance of {{ invoice.amount }}"


@pytest.mark.parametrize("said, word, rule", [
    ("A friendly reminder from Dr. Patel that your\n      chemotherapy balance of {{ invoice.amount }}", "Dr.",
     "content_clinical"),
    ("Pay now or we will sue. Your\n      balance of {{ invoice.amount }}", "sue", "content_threat"),
])
def test_a_clinical_word_or_a_threat_is_not_saved_and_is_named_at_its_line(login, staff, org, said, word, rule):
    client = login(staff)
    source = Workflow.objects.get(organization=org).source
    assert HEADS_UP in source
    bad = source.replace(HEADS_UP, said, 1)
    line = bad.splitlines().index("      Hi, this is {{ org.name }}. " + said.split("\n")[0]) + 1
    response = client.post("/workflows/payment-reminders/", {"source": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"line {line}:" in page
    assert f"template &#x27;heads_up&#x27;: the &#x27;en&#x27; text says &#x27;{word}&#x27;" in page
    assert f"(rule {rule})" in page
    assert Workflow.objects.filter(organization=org).count() == 1
    with pytest.raises(WorkflowError, match=rule):
        definitions.save_version(org, "payment-reminders", bad)
    assert Workflow.objects.filter(organization=org).count() == 1
