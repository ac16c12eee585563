from django.contrib import admin

from duedesk.api import models


@admin.register(models.ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made with `duedesk apikey create` (the secret is shown once); here they can be seen and
    revoked, never read back."""

    list_display = ("name", "prefix", "organization", "created_at", "last_used_at", "revoked_at")
    list_filter = ("organization",)
    readonly_fields = ("prefix", "hashed_secret", "created_at", "last_used_at")
