"""Settings → Integrations: connect a CRM, test the connection in words, see the sync's state (last pull,
cursor, queued and failed writes with the CRM's own error), sync now, disconnect. Owners only."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from duedesk.integrations.crm import outbox, providers
from duedesk.integrations.crm.connections import ConnectError, check_connection, connect, disconnect
from duedesk.integrations.crm.models import PROVIDERS, Connection, OutboxItem
from duedesk.web.access import member, now, scoped

owner_only = member(roles=("owner",))


class ConnectForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("CRM"), choices=[(p, dict(PROVIDERS)[p]) for p in providers.AVAILABLE])
    token_env = forms.CharField(label=gettext_lazy("Token's environment variable"), initial="DUEDESK_HUBSPOT_TOKEN",
                                required=False,
                                help_text=gettext_lazy("The NAME of the variable holding the token (a HubSpot private "
                                                "app's, a Pipedrive API token, a Salesforce access token), not the "
                                                "token"))
    webhook_secret_env = forms.CharField(label=gettext_lazy("App secret's environment variable (webhooks)"), required=False,
                                         help_text=gettext_lazy("e.g. DUEDESK_HUBSPOT_APP_SECRET; leave empty without "
                                                         "webhooks"))
    owner_id = forms.CharField(label=gettext_lazy("CRM owner id for handoff tasks"), required=False)
    # Salesforce: the connected app, so an expired access token is renewed (docs/integrations.md).
    client_id = forms.CharField(label=gettext_lazy("Salesforce: connected app's consumer key"), required=False)
    client_secret_env = forms.CharField(label=gettext_lazy("Salesforce: consumer secret's environment variable"),
                                        required=False, help_text=gettext_lazy("e.g. DUEDESK_SALESFORCE_CLIENT_SECRET"))
    refresh_token_env = forms.CharField(label=gettext_lazy("Salesforce: refresh token's environment variable"),
                                        required=False, help_text=gettext_lazy("e.g. DUEDESK_SALESFORCE_REFRESH_TOKEN"))
    private_key_env = forms.CharField(label=gettext_lazy("Salesforce JWT bearer: private key's environment variable"),
                                      required=False, help_text=gettext_lazy("instead of a refresh token, with the user below"))
    jwt_username = forms.CharField(label=gettext_lazy("Salesforce JWT bearer: the user duedesk acts as"), required=False)

    OAUTH = ("client_id", "client_secret_env", "refresh_token_env", "private_key_env", "jwt_username")

    def oauth(self) -> dict | None:
        values = {name: self.cleaned_data.get(name, "") for name in self.OAUTH}
        return values if any(values.values()) else None


def _not_connected(form: forms.Form) -> str:
    return _("Not connected: %(problems)s") % {
        "problems": "; ".join(f"{form.fields[f].label}: {e[0]}" for f, e in form.errors.items())}


def _status(conn: Connection) -> dict:
    counts = outbox.counts(conn)
    failed = list(OutboxItem.objects.filter(connection=conn, status="failed").select_related("event")
                  .order_by("-done_at")[:10])
    waiting = list(OutboxItem.objects.filter(connection=conn, status="pending").exclude(last_error="")
                   .select_related("event").order_by("run_at")[:10])
    return {"conn": conn, "counts": counts, "failed": failed, "waiting": waiting,
            "webhook_url": f"{settings.PUBLIC_URL}/hooks/{conn.provider}/{conn.webhook_key}/"
            if conn.provider != "salesforce" else ""}


@owner_only
def integrations(request):
    conns = Connection.objects.filter(organization=request.org).order_by("provider")
    return render(request, "web/settings/integrations.html",
                  {"connections": [_status(c) for c in conns], "form": ConnectForm(),
                   "salesforce_form": SalesforceSignInForm(), "salesforce_callback": _callback_uri()})


@owner_only
@require_POST
def crm_connect(request):
    form = ConnectForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            conn, made = connect(request.org, data["provider"], data["token_env"], now(),
                                 webhook_secret_env=data["webhook_secret_env"], owner_id=data["owner_id"],
                                 oauth=form.oauth())
        except ConnectError as error:
            messages.error(request, _("Not connected: %(problem)s") % {"problem": error})
        else:
            messages.success(request, _("Connected to %(crm)s; %(n)s custom properties created. The first full sync "
                                        "starts with the worker.") % {"crm": conn.get_provider_display(),
                                                                      "n": len(made)})
    else:
        messages.error(request, _not_connected(form))
    return redirect("settings_integrations")


@owner_only
@require_POST
def crm_test(request, pk: int):
    conn = scoped(request, Connection, pk=pk)
    problem = check_connection(conn, now())
    if problem:
        messages.error(request, f"{conn.get_provider_display()}: {problem}")
    else:
        messages.success(request, _("%(crm)s accepts the token.") % {"crm": conn.get_provider_display()})
    return redirect("settings_integrations")


@owner_only
@require_POST
def crm_sync_now(request, pk: int):
    conn = scoped(request, Connection, pk=pk)
    Connection.objects.filter(pk=conn.pk).update(next_pull_at=now())
    OutboxItem.objects.filter(connection=conn, status="pending").update(run_at=now())
    messages.success(request, _("%(crm)s: the worker syncs now (a pull and every queued write).")
                     % {"crm": conn.get_provider_display()})
    return redirect("settings_integrations")


@owner_only
@require_POST
def crm_disconnect(request, pk: int):
    conn = scoped(request, Connection, pk=pk)
    disconnect(conn, now())
    messages.success(request, _("%(crm)s is disconnected. duedesk keeps its contacts and history; nothing more is "
                                "read or written.") % {"crm": conn.get_provider_display()})
    return redirect("settings_integrations")


class SalesforceSignInForm(forms.Form):
    client_id = forms.CharField(label=gettext_lazy("Connected app's consumer key"))
    client_secret_env = forms.CharField(label=gettext_lazy("Consumer secret's environment variable"),
                                        initial="DUEDESK_SALESFORCE_CLIENT_SECRET",
                                        help_text=gettext_lazy("The NAME of the variable holding the consumer secret"))
    owner_id = forms.CharField(label=gettext_lazy("Salesforce user id for handoff Tasks"), required=False)


def _callback_uri() -> str:
    return f"{settings.PUBLIC_URL}/settings/integrations/salesforce/callback/"


@owner_only
@require_POST
def salesforce_sign_in(request):
    """The OAuth 2 web-server flow: off to Salesforce to sign in and approve; back at the callback."""
    import secrets

    from duedesk.integrations.crm import credentials
    from duedesk.integrations.salesforce.client import authorize_url

    form = SalesforceSignInForm(request.POST)
    if not form.is_valid():
        messages.error(request, _not_connected(form))
        return redirect("settings_integrations")
    data = form.cleaned_data
    try:
        credentials.check_name("salesforce", data["client_secret_env"], "consumer secret")
    except credentials.SecretNameError as error:
        messages.error(request, _("Not connected: %(problem)s") % {"problem": error})
        return redirect("settings_integrations")
    state = secrets.token_urlsafe(24)
    request.session["salesforce_oauth"] = {**data, "state": state}
    return redirect(authorize_url(settings.CRM_BASE_URLS.get("salesforce", ""), data["client_id"], _callback_uri(),
                                  state))


@owner_only
def salesforce_callback(request):
    """Salesforce sends the owner back with a code (or an error): the tokens, then the connection."""
    from duedesk.integrations.crm import credentials
    from duedesk.integrations.crm.base import CrmError
    from duedesk.integrations.salesforce.client import exchange_code

    saved = request.session.pop("salesforce_oauth", None)
    if saved is None or request.GET.get("state") != saved.get("state") or "code" not in request.GET:
        why = request.GET.get("error_description") or request.GET.get("error") or _("start again from this page")
        messages.error(request, _("Salesforce was not connected: %(problem)s.") % {"problem": why})
        return redirect("settings_integrations")
    try:
        tokens = exchange_code(settings.CRM_BASE_URLS.get("salesforce", ""), request.GET["code"], saved["client_id"],
                               credentials.value(saved["client_secret_env"]), _callback_uri(), settings.CRM_TIMEOUT)
        conn, _made = connect(request.org, "salesforce", "", now(), token=tokens["access_token"],
                          owner_id=saved.get("owner_id", ""),
                          oauth={"client_id": saved["client_id"], "client_secret_env": saved["client_secret_env"],
                                 "refresh_token": tokens["refresh_token"]})
    except (CrmError, ConnectError) as error:
        messages.error(request, _("Salesforce was not connected: %(problem)s") % {"problem": error})
        return redirect("settings_integrations")
    messages.success(request, _("Connected to Salesforce; its tokens are kept encrypted and renewed as they expire. "
                                "The first full sync starts with the worker."))
    return redirect("settings_integrations")
