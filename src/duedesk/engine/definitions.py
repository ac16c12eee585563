"""Workflow versions: storing a new version and parsing (cached) the one an enrollment runs."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max

from duedesk.core import content
from duedesk.core import workflow as wf
from duedesk.engine.models import Workflow
from duedesk.records.models import Organization
from duedesk.records.timeline import log


def parsed(workflow: Workflow) -> wf.Workflow:
    return wf.parse(workflow.source)  # kept by the reader for the texts it read last


def parsed_source(source: str) -> wf.Workflow:
    """A workflow's text parsed (cached): a draft being previewed as well as a stored version."""
    return wf.parse(source)


def versions(ids) -> dict[int, Workflow]:
    """The workflow versions a batch runs, read once for the batch (not joined to every step: a
    version's YAML would be read and parsed as many times as it has steps)."""
    return Workflow.objects.in_bulk(set(ids))


def current(org: Organization, slug: str | None = None) -> Workflow | None:
    slug = slug or org.workflow_slug
    return Workflow.objects.filter(organization=org, slug=slug).order_by("-version").first()


def save_version(org: Organization, slug: str, source: str, user=None, now: datetime | None = None) -> Workflow:
    """Validate and store a new version. Raises core.workflow.WorkflowError listing every problem, the
    content linter's included (no clinical word or threat is stored, from any door); with `now`, a version
    the linter refuses is written on the organization's timeline (`workflow.refused`, with its rules)."""
    definition = wf.parse(source)
    refused = content.lint(source)
    if refused:
        if now is not None:
            log(org, "workflow.refused", now, actor=getattr(user, "username", "") or "duedesk", workflow=slug,
                rule=refused[0].rule, rules=sorted({f.rule for f in refused}), words=[f.word for f in refused],
                problems=[f"line {f.line}: {f.message}" for f in refused])
        raise wf.WorkflowError([wf.Problem(f.line, f.message) for f in refused])
    with transaction.atomic():
        latest = Workflow.objects.filter(organization=org, slug=slug).aggregate(v=Max("version"))["v"] or 0
        return Workflow.objects.create(
            organization=org,
            slug=slug,
            name=definition.name,
            version=latest + 1,
            source=source,
            created_by=user,
        )


def ensure_default(org: Organization) -> Workflow:
    existing = current(org)
    if existing:
        return existing
    return save_version(org, org.workflow_slug, shipped_source("default"))


def triggered_by(org: Organization, kind: str, name: str) -> Workflow | None:
    """The organization's workflow started by this event or field (its newest version). A shipped workflow
    with that trigger is added for the organization the first time it is needed, so the ready ones work
    without setup (a clinic edits or replaces it like any other)."""
    latest: dict[str, Workflow] = {}
    for workflow in Workflow.objects.filter(organization=org).order_by("slug", "version"):
        latest[workflow.slug] = workflow
    for workflow in latest.values():
        trigger = parsed(workflow).trigger
        if trigger.kind == kind and trigger.name == name:
            return workflow
    for shipped in shipped_workflows():
        definition = wf.parse(shipped_source(shipped))
        if definition.trigger.kind == kind and definition.trigger.name == name and shipped not in latest:
            return save_version(org, shipped, shipped_source(shipped))
    return None


def shipped_workflows() -> list[str]:
    from duedesk import workflows

    return workflows.names()


def shipped_source(name: str) -> str:
    from duedesk import workflows

    return workflows.read(name)


def ready_workflows(org: Organization) -> list[dict]:
    """The workflows duedesk ships, each with what starts it and whether the organization has it."""
    have = set(Workflow.objects.filter(organization=org).values_list("slug", flat=True))
    out = []
    for name in shipped_workflows():
        definition = wf.parse(shipped_source(name))
        slug = org.workflow_slug if name == "default" else name
        out.append({"name": name, "slug": slug, "title": definition.name, "description": definition.description,
                    "trigger": definition.trigger, "added": slug in have, "in_use": slug == org.workflow_slug})
    return out


def add_ready(org: Organization, name: str, user=None) -> Workflow:
    """Add a shipped workflow to the organization (its first version), or return the one it has."""
    slug = org.workflow_slug if name == "default" else name
    return current(org, slug) or save_version(org, slug, shipped_source(name), user)


def use_for_new_invoices(org: Organization, slug: str) -> None:
    """New invoices are enrolled in this workflow (one started by a due date)."""
    workflow = current(org, slug)
    if workflow is None or parsed(workflow).trigger.kind != "due_date":
        raise ValueError(f"'{slug}' is not a workflow started by a due date")
    Organization.objects.filter(pk=org.pk).update(workflow_slug=slug)
