"""Importing invoices in the browser: upload, match the columns, watch the worker import, read the report.

The worker does the import (intake/uploads.py) with the same importer as `duedesk import invoices`; these
pages only keep the file, ask which column is which when the headers are not duedesk's, and poll.
"""

from __future__ import annotations

import csv
import io

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from duedesk.intake import uploads
from duedesk.intake.importer import COLUMNS
from duedesk.intake.models import Upload
from duedesk.web import access, timeline
from duedesk.web.access import member, scoped
from duedesk.web.exports import stream_csv

RECENT = 10


@member
def import_start(request):
    error, status = "", 200
    if request.method == "POST":
        upload_file = request.FILES.get("file")
        if upload_file is None:
            error = _("Choose a CSV or Excel file to import.")
        else:
            try:
                if upload_file.size > uploads.MAX_BYTES:  # refused before it is read into memory
                    raise uploads.UploadError(uploads.too_large())
                upload = uploads.receive(request.org, request.user, upload_file.name, upload_file.read(),
                                         access.now())
            except uploads.UploadError as problem:
                error = _("%(file)s: %(problem)s. Nothing was imported.") % {"file": upload_file.name,
                                                                              "problem": problem}
            else:
                if upload.status == Upload.MAPPING:
                    return redirect("import_columns", upload.pk)
                return redirect("import_detail", upload.pk)
        status = 400
    recent = Upload.objects.filter(organization=request.org).order_by("-uploaded_at", "-pk")[:RECENT]
    return render(request, "web/imports/start.html", {"section": "contacts", "error": error, "recent": recent,
                                                       "columns": COLUMNS}, status=status)


@member
def import_columns(request, pk):
    upload = scoped(request, Upload, pk=pk)
    if upload.status != Upload.MAPPING and request.method != "POST":
        return redirect("import_detail", upload.pk)
    problems, mapping = [], dict(upload.mapping)
    if request.method == "POST":
        if upload.status != Upload.MAPPING:
            return redirect("import_detail", upload.pk)
        mapping = {h: request.POST.get(f"column-{i}", "") for i, h in enumerate(upload.headers)}
        problems = uploads.choose_columns(upload, mapping)
        if not problems:
            return redirect("import_detail", upload.pk)
    samples = _samples(upload)
    rows = [{"index": i, "header": h, "chosen": mapping.get(h, ""), "samples": [s[i] for s in samples if i < len(s)]}
            for i, h in enumerate(upload.headers)]
    choices = [("", _("Not imported"))] + [(c, _(uploads.COLUMN_LABELS[c])) for c in COLUMNS]
    return render(request, "web/imports/columns.html", {"section": "contacts", "upload": upload, "rows": rows,
                                                        "choices": choices, "problems": problems},
                  status=400 if problems else 200)


def _samples(upload: Upload, count: int = 3) -> list[list[str]]:
    reader = csv.reader(io.StringIO(upload.content, newline=""))
    next(reader, None)
    out = []
    for cells in reader:
        if any(c.strip() for c in cells):
            out.append([c[:40] for c in cells])
        if len(out) == count:
            break
    return out


@member
def import_detail(request, pk):
    upload = scoped(request, Upload, pk=pk)
    context = {"section": "contacts", "upload": upload, "shown": [(line, column, timeline.said(reason)) for line, column, reason in upload.problems[:100]]}
    if request.htmx:
        return render(request, "web/imports/_progress.html", context)
    return render(request, "web/imports/detail.html", context)


@member
def import_problems_csv(request, pk):
    upload = scoped(request, Upload, pk=pk)
    name = upload.filename.rsplit(".", 1)[0] or "import"
    return stream_csv(f"{name}-problems.csv", ["line", "column", "reason"], upload.problems)
