"""schemathesis over /api/v1/openapi.json, in-process through the WSGI app: what the document promises is what
the server does. For every operation, requests generated from the document (valid and invalid by it) must get
no 500, a status the document lists, a body matching its schema for that status, and an error answer must have
written nothing. Derandomized (a fixed seed) with a bounded number of examples: repeatable, and under a minute."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from duedesk.api import auth
from duedesk.api.models import ApiPayment
from duedesk.engine.models import Enrollment, Step
from duedesk.records.models import Contact, Event, Handoff, Invoice

pytestmark = pytest.mark.django_db

EXAMPLES = 20  # per operation and mode

# The checks that mean "the document and the server agree", and not_a_server_error. positive_data_acceptance is
# left out: a value can be well formed by the schema and still refused by a rule a schema cannot state (a phone
# number that does not exist, February 30th, a reference already used for another payment); those answers are
# 422 or 409 naming the field, and the document lists them.
CHECK_NAMES = [
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
    "response_headers_conformance", "negative_data_rejection",
]


def rows() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Contact, Invoice, Event, Enrollment, Step, Handoff, ApiPayment))


@pytest.fixture
def keep_the_test_transaction():
    """The WSGI app closes "old" connections around each request, and in a test transaction the connection
    looks old: Django's own test client unhooks this for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("keep_the_test_transaction")
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_api_does_what_its_openapi_document_says(mode, org, clock, make_invoice, monkeypatch):
    # Imported here, not at collection: they take seconds, and only the process running this test needs them.
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS, load_all_checks

    monkeypatch.setattr(auth, "clock", clock)
    make_invoice()  # something to find and pay
    headers = {"Authorization": f"Bearer {auth.create_key(org, 'schemathesis', clock()).token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    load_all_checks()
    checks = CHECKS.get_by_names(CHECK_NAMES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            before = rows()
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)
            if response.status_code >= 400:
                assert rows() == before, f"{case.method} {case.formatted_path}: {response.status_code}, and wrote"

        conforms()
