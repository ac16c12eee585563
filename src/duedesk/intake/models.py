"""A file of invoices uploaded in the browser, imported by the worker (intake/uploads.py).

The file is kept as CSV text (a spreadsheet is turned into CSV when it is uploaded), encrypted like other
health information since it may carry dates of birth, and emptied once the import has run: what stays is
the report (counts and the bad rows with their line, column and reason).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from duedesk.records.fields import EncryptedJSONField, EncryptedTextField


class Upload(models.Model):
    MAPPING = "mapping"  # the file's headers are not ours: a person says which column is which
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # nothing could be read (the importer's file error, in words)
    STATUSES = [(MAPPING, "Columns to match"), (QUEUED, "Waiting for the worker"), (RUNNING, "Importing"),
                (DONE, "Imported"), (FAILED, "Could not be read")]

    organization = models.ForeignKey("records.Organization", on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField()
    filename = models.CharField(max_length=255)
    content = EncryptedTextField(blank=True, default="")  # the rows as CSV; emptied after the import
    headers = models.JSONField(default=list)  # the file's own header row, as written
    mapping = models.JSONField(default=dict)  # the file's header -> our column ("" = not imported)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    bad_rows = models.PositiveIntegerField(default=0)
    problems = EncryptedJSONField(default=list, blank=True)  # [[line, column, reason], ...]: reasons quote cells
    failure = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=100, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # a running import's last sign of life
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "uploaded_at"], name="intake_upload_status")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.DONE, self.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.DONE:
            return 100
        return min(99, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
