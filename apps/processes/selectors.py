from __future__ import annotations

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from apps.common.errors import NotFound
from apps.processes.models import (
    ProcessDefinition,
    ProcessVersion,
    VersionStatus,
    WebhookTrigger,
)

STATUS_FILTERS = ("deployed", "draft")


def versions_bpmn_files(version_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{version id: (file name, BPMN XML)} for the versions that exist (evidence packages)."""
    return {
        version.pk: (f"{version.definition.key}-v{version.number}-id{version.pk}.bpmn", version.xml)
        for version in ProcessVersion.objects.filter(pk__in=version_ids).select_related(
            "definition"
        )
    }


def versions_names(version_ids: list[int]) -> dict[int, tuple[str, int]]:
    """{version id: (process name, version number)} for the versions that exist (audit pages)."""
    return {
        pk: (name or key, number)
        for pk, name, key, number in ProcessVersion.objects.filter(pk__in=version_ids).values_list(
            "pk", "definition__name", "definition__key", "number"
        )
    }


def definitions_list(*, search: str = "", status: str = "") -> QuerySet[ProcessDefinition]:
    """Definitions with their latest deployed version, last deploy time, owner (who uploaded
    version 1) and version count. ``status``: "deployed" (has a deployed version) or "draft"
    (never deployed)."""
    first_version = ProcessVersion.objects.filter(definition=OuterRef("pk")).order_by("number")
    deployed = Q(versions__status=VersionStatus.DEPLOYED)
    qs = ProcessDefinition.objects.annotate(
        latest_number=Max("versions__number", filter=deployed),
        last_deployed_at=Max("versions__created_at", filter=deployed),
        version_count=Count("versions"),
        last_number=Max("versions__number"),
        owner_username=Subquery(first_version.values("created_by__username")[:1]),
    )
    if search:
        qs = qs.filter(
            Q(key__icontains=search) | Q(name__icontains=search) | Q(description__icontains=search)
        )
    if status == "deployed":
        qs = qs.filter(latest_number__isnull=False)
    elif status == "draft":
        qs = qs.filter(latest_number__isnull=True)
    return qs.order_by("key")


def definition_get(*, key: str) -> ProcessDefinition:
    definition = ProcessDefinition.objects.filter(key=key).first()
    if definition is None:
        raise NotFound(f"Process '{key}' does not exist.", code="process_not_found")
    return definition


def versions_of(*, key: str) -> QuerySet[ProcessVersion]:
    return (
        ProcessVersion.objects.filter(definition__key=key)
        .select_related("created_by", "rollback_of")
        .defer("spec_json")
        .order_by("-number")
    )


def version_get(*, version_id: int) -> ProcessVersion:
    version = (
        ProcessVersion.objects.select_related("definition", "created_by", "rollback_of")
        .defer("spec_json")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise NotFound(f"Process version {version_id} does not exist.", code="version_not_found")
    return version


def version_by_number(*, key: str, number: int) -> ProcessVersion:
    version = (
        ProcessVersion.objects.select_related("definition", "created_by", "rollback_of")
        .defer("spec_json")
        .filter(definition__key=key, number=number)
        .first()
    )
    if version is None:
        raise NotFound(f"Process '{key}' has no version {number}.", code="version_not_found")
    return version


def latest_xml(*, key: str) -> str | None:
    version = (
        ProcessVersion.objects.filter(definition__key=key).order_by("-number").only("xml").first()
    )
    return version.xml if version else None


def webhooks_of(*, key: str) -> QuerySet[WebhookTrigger]:
    """A process's webhook triggers, newest first."""
    return (
        WebhookTrigger.objects.filter(definition__key=key)
        .select_related("definition")
        .order_by("-id")
    )
