from django.contrib import admin

from duedesk.engine import models


@admin.register(models.Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "version", "organization", "created_at")
    list_filter = ("organization", "slug")


@admin.register(models.Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("invoice", "workflow", "status", "current_step", "exit_reason", "started_at")
    list_filter = ("organization", "status")
    raw_id_fields = ("invoice", "contact", "workflow")


@admin.register(models.Step)
class StepAdmin(admin.ModelAdmin):
    """Steps change only through the engine's actions; the admin shows them."""

    list_display = ("step_id", "kind", "occurrence", "status", "run_at", "enrollment", "outcome")
    list_filter = ("organization", "status", "kind")
    raw_id_fields = ("enrollment",)

    def has_change_permission(self, request, obj=None):
        return False
