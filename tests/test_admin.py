import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["records/invoice", "records/contact", "records/handoff", "records/event",
                                  "api/apikey",
                                  "engine/enrollment", "engine/step", "engine/workflow"])
def test_admin_lists_the_records(admin_client, make_invoice, path):
    make_invoice()
    response = admin_client.get(f"/admin/{path}/")
    assert response.status_code == 200


def test_admin_needs_login(client):
    assert client.get("/admin/records/invoice/").status_code == 302
