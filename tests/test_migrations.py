"""The migrations describe the models exactly: a deployment that migrates gets the tables the code expects
(the simulator builds its throwaway database straight from the models, so it would not notice)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.sqlite_only
@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as missing:
        pytest.fail(f"models changed without a migration (run `duedesk makemigrations`):\n{out.getvalue()}"
                    f" (exit {missing.code})")
