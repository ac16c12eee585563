"""Connecting Pipedrive makes its person fields and text activity type, and says what is wrong in words.
(The end-to-end and fault tests every CRM shares are in tests/integrations/crm/.)"""

from __future__ import annotations

import pytest

from duedesk.integrations.crm.models import Connection

pytestmark = pytest.mark.django_db


def test_connect_makes_the_person_fields_and_the_text_type(pipedrive, fake_pipedrive):
    names = {f["name"]: f for f in fake_pipedrive.fields}
    for name in ("duedesk_due_date", "duedesk_balance", "duedesk_invoice_ref", "duedesk_outreach",
                 "duedesk_last_outcome", "duedesk_promise_date"):
        assert names[name]["edit_flag"] is True
    assert names["duedesk_due_date"]["field_type"] == "date"
    assert [o["label"] for o in names["duedesk_outreach"]["options"]] == ["on", "off"]
    assert "text_message" in {t["key_string"] for t in fake_pipedrive.types}
    assert (pipedrive.rate_limit, pipedrive.rate_window) == (40, 2.0)


def test_connect_says_what_is_wrong(org, pipedrive_env, clock, settings):
    from duedesk.integrations.crm.connections import ConnectError, connect

    with pytest.raises(ConnectError, match="must be named DUEDESK_PIPEDRIVE_"):
        connect(org, "pipedrive", "DUEDESK_HUBSPOT_TOKEN", clock())
    settings.CRM_SECRETS = {**settings.CRM_SECRETS, "DUEDESK_PIPEDRIVE_OTHER": "wrong"}
    with pytest.raises(ConnectError, match="Pipedrive refused the token: unauthorized access"):
        connect(org, "pipedrive", "DUEDESK_PIPEDRIVE_OTHER", clock())
    assert not Connection.objects.exists()
