"""The staff workspace's pages. Every view is scoped to the user's organization (web.access)."""

from django.urls import path

from duedesk.inbox import views as inbox
from duedesk.integrations.calendars import views as calendar_views
from duedesk.integrations.webhooks import views as webhook_views
from duedesk.web import accounts, contacts, crm_settings, exports, overview, settings_views, workflows

urlpatterns = accounts.urlpatterns + [
    path("", overview.overview, name="overview"),
    path("inbox/", inbox.inbox_list, name="inbox"),
    path("inbox/export.csv", exports.inbox_csv, name="inbox_export"),
    path("inbox/bulk/", inbox.bulk, name="inbox_bulk"),
    path("inbox/<int:pk>/", inbox.inbox_detail, name="inbox_detail"),
    path("inbox/<int:pk>/assign/", inbox.assign, name="inbox_assign"),
    path("inbox/<int:pk>/reply/", inbox.reply, name="inbox_reply"),
    path("inbox/<int:pk>/note/", inbox.note, name="inbox_note"),
    path("inbox/<int:pk>/call/", inbox.call_back, name="inbox_call"),
    path("inbox/<int:pk>/resolve/", inbox.resolve, name="inbox_resolve"),
    path("inbox/<int:pk>/reopen/", inbox.reopen, name="inbox_reopen"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/export.csv", exports.contacts_csv, name="contacts_export"),
    path("promises/export.csv", exports.promises_csv, name="promises_export"),
    path("payments/export.csv", exports.payments_csv, name="payments_export"),
    path("audit/export.csv", exports.attempts_csv, name="attempts_export"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/outreach/", contacts.contact_outreach, name="contact_outreach"),
    path("contacts/<int:pk>/consent/", contacts.contact_consent, name="contact_consent"),
    path("contacts/<int:pk>/consent/history/", contacts.contact_consent_history, name="contact_consent_history"),
    path("invoices/<int:pk>/edit/", contacts.invoice_edit, name="invoice_edit"),
    path("invoices/<int:pk>/paid/", contacts.invoice_paid, name="invoice_paid"),
    path("invoices/<int:pk>/remind/", contacts.invoice_remind, name="invoice_remind"),
    path("workflows/", workflows.workflow_list, name="workflows"),
    path("workflows/add/", workflows.workflow_add, name="workflow_add"),
    path("workflows/<slug:slug>/use/", workflows.workflow_use, name="workflow_use"),
    path("workflows/<slug:slug>/", workflows.workflow_edit, name="workflow_edit"),
    path("settings/", settings_views.settings_page, name="settings"),
    path("settings/integrations/", crm_settings.integrations, name="settings_integrations"),
    path("settings/integrations/connect/", crm_settings.crm_connect, name="crm_connect"),
    path("settings/integrations/<int:pk>/test/", crm_settings.crm_test, name="crm_test"),
    path("settings/integrations/<int:pk>/sync/", crm_settings.crm_sync_now, name="crm_sync_now"),
    path("settings/integrations/<int:pk>/disconnect/", crm_settings.crm_disconnect, name="crm_disconnect"),
    path("settings/invite/", settings_views.invite, name="settings_invite"),
    path("settings/channels/<str:channel>/resume/", settings_views.resume_channel, name="settings_channel_resume"),
    path("settings/members/<int:pk>/role/", settings_views.change_role, name="settings_role"),
    path("calendar/", calendar_views.my_calendar, name="calendar_mine"),
    path("calendar/new/", calendar_views.calendar_new, name="calendar_new"),
    path("calendar/revoke/", calendar_views.calendar_revoke, name="calendar_revoke"),
    path("settings/webhooks/", webhook_views.endpoints, name="webhooks"),
    path("settings/webhooks/<int:pk>/", webhook_views.endpoint_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/toggle/", webhook_views.endpoint_toggle, name="webhook_toggle"),
    path("settings/webhooks/<int:pk>/test/", webhook_views.endpoint_test, name="webhook_test"),
    path("settings/webhooks/deliveries/<int:pk>/replay/", webhook_views.delivery_replay, name="webhook_replay"),
]
