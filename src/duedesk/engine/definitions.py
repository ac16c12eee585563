"""Workflow versions: storing a new version and parsing (cached) the one an enrollment runs."""

from __future__ import annotations

from functools import lru_cache

from django.db import transaction
from django.db.models import Max

from duedesk.core import workflow as wf
from duedesk.engine.models import Workflow
from duedesk.records.models import Organization


@lru_cache(maxsize=256)
def _parse_cached(source: str) -> wf.Workflow:
    return wf.parse(source)


def parsed(workflow: Workflow) -> wf.Workflow:
    return _parse_cached(workflow.source)


def current(org: Organization, slug: str | None = None) -> Workflow | None:
    slug = slug or org.workflow_slug
    return Workflow.objects.filter(organization=org, slug=slug).order_by("-version").first()


def save_version(org: Organization, slug: str, source: str, user=None) -> Workflow:
    """Validate and store a new version. Raises core.workflow.WorkflowError listing every problem."""
    definition = wf.parse(source)
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
    source, _ = wf.load_default()
    return save_version(org, org.workflow_slug, source)
