"""`duedesk demo`: a demo clinic with history to look at. Its patients run through the clinic scenario
on a virtual clock that ends now, so the timeline, inbox and overview are populated; what is still
scheduled is left to the real worker (with simulated channels)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from duedesk.records.models import Membership, Organization


def seed_demo(force: bool = False, now=None) -> tuple[str | None, str | None]:
    if Organization.objects.exists() and not force:
        return None, None
    from duedesk.channels import providers
    from duedesk.simulate.runner import Simulation
    from duedesk.simulate.scenarios import clinic

    now = (now or timezone.now()).replace(microsecond=0)
    slug = "demo" if not Organization.objects.filter(slug="demo").exists() else f"demo-{secrets.token_hex(3)}"
    scenario = clinic(start=now - timedelta(days=45), end=now, prefix="DEMO")
    scenario.name = slug
    sim = Simulation(scenario)
    org = sim.setup()
    org.billing_email = "billing@example.com"
    org.pay_link_base = "https://pay.example.com/"
    org.save()
    _older_invoices(sim, now)
    sim.run()
    providers.use(None)

    password = secrets.token_urlsafe(12)
    User = get_user_model()
    username = "owner" if not User.objects.filter(username="owner").exists() else f"owner-{slug}"
    with transaction.atomic():
        user = User.objects.create_user(username=username, email="owner@example.com", password=password,
                                        first_name="Dana", last_name="Whitfield")
        Membership.objects.create(user=user, organization=org, role="owner")
    save_login(username, password)
    return username, password


# The demo's login is kept (owner-only file in the data dir) so `make run` can show it again; it is
# shown only while it still works, so a password the owner changed is never printed.
def _login_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-login.txt"


def save_login(username: str, password: str) -> None:
    path = _login_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{username}\n{password}\n")


def saved_login() -> tuple[str, str] | None:
    """The demo login written when the demo was seeded, if it still logs in."""
    try:
        username, password = _login_file().read_text().split("\n")[:2]
    except (OSError, ValueError):
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.check_password(password):
        return None
    return username, password


def reset_password() -> tuple[str, str] | None:
    """A new password for the demo organization's first owner (the login `make run` prints)."""
    membership = (Membership.objects.filter(role="owner", organization__slug__startswith="demo")
                  .select_related("user").order_by("pk").first())
    if membership is None:
        return None
    password = secrets.token_urlsafe(12)
    membership.user.set_password(password)
    membership.user.save(update_fields=["password"])
    save_login(membership.user.username, password)
    return membership.user.username, password


def _older_invoices(sim, now) -> None:
    """A few older balances so the aging buckets have something in them."""
    from duedesk.engine import actions
    from duedesk.engine.actions.seeding import seed_contact, seed_invoice

    rows = [("Olivia", "Bennett", "+12125550301", 40, "310.00"), ("Marcus", "Hill", "+12125550302", 75, "95.00"),
            ("Priya", "Shah", "+12125550303", 120, "640.00")]
    for first, last, phone, days_late, amount in rows:
        contact = seed_contact(sim.org, first_name=first, last_name=last, phone=phone)
        invoice = seed_invoice(sim.org, contact, external_ref=f"DEMO-OLD-{phone[-3:]}", amount=Decimal(amount),
                               due_date=(now - timedelta(days=days_late)).date(),
                               pay_link=f"https://pay.example.com/DEMO-OLD-{phone[-3:]}")
        actions.enroll_invoice(invoice, sim.clock())
