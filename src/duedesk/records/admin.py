"""Django's admin: a raw view of the records for the people who run duedesk (staff use the workspace)."""

from django.contrib import admin

from duedesk.records import models


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "workflow_slug")
    search_fields = ("name", "slug")


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization")


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("first_name", "last_name", "phone", "email", "organization", "outreach_on")
    list_filter = ("organization", "language", "outreach_on")
    search_fields = ("first_name", "last_name", "phone", "email", "external_id")


@admin.register(models.Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("external_ref", "contact", "amount_due", "balance", "currency", "due_date", "status")
    list_filter = ("organization", "status")
    search_fields = ("external_ref",)
    raw_id_fields = ("contact",)


@admin.register(models.Promise)
class PromiseAdmin(admin.ModelAdmin):
    list_display = ("invoice", "promised_date", "amount", "channel", "status", "created_at")
    list_filter = ("organization", "status")
    raw_id_fields = ("contact", "invoice")


@admin.register(models.Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ("contact", "invoice", "reason", "status", "assignee", "created_at")
    list_filter = ("organization", "status", "reason")
    raw_id_fields = ("contact", "invoice")


@admin.register(models.Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("channel", "direction", "to", "status", "created_at")
    list_filter = ("organization", "channel", "direction", "status")
    raw_id_fields = ("contact", "invoice", "step")


@admin.register(models.Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("to", "status", "answered_by", "outcome", "created_at")
    list_filter = ("organization", "status", "outcome")
    raw_id_fields = ("contact", "invoice", "step")


@admin.register(models.Event)
class EventAdmin(admin.ModelAdmin):
    """The timeline is append-only: readable here, never edited."""

    list_display = ("at", "kind", "channel", "contact", "invoice", "actor")
    list_filter = ("organization", "kind", "channel")
    raw_id_fields = ("contact", "invoice", "handoff")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Instalment)
class InstalmentAdmin(admin.ModelAdmin):
    list_display = ("invoice", "due_date", "amount", "status")
    raw_id_fields = ("invoice",)
