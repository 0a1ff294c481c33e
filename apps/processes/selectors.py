from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from apps.common.errors import NotFound
from apps.processes.models import ProcessDefinition, ProcessVersion, VersionStatus


def versions_bpmn_files(version_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{version id: (file name, BPMN XML)} for the versions that exist (evidence packages)."""
    return {
        version.pk: (f"{version.definition.key}-v{version.number}-id{version.pk}.bpmn", version.xml)
        for version in ProcessVersion.objects.filter(pk__in=version_ids).select_related(
            "definition"
        )
    }


def definitions_list(*, search: str = "") -> QuerySet[ProcessDefinition]:
    qs = ProcessDefinition.objects.annotate(
        latest_number=Max("versions__number", filter=Q(versions__status=VersionStatus.DEPLOYED)),
        version_count=Count("versions"),
    )
    if search:
        qs = qs.filter(Q(key__icontains=search) | Q(name__icontains=search))
    return qs.order_by("key")


def definition_get(*, key: str) -> ProcessDefinition:
    definition = ProcessDefinition.objects.filter(key=key).first()
    if definition is None:
        raise NotFound(f"Process '{key}' does not exist.", code="process_not_found")
    return definition


def versions_of(*, key: str) -> QuerySet[ProcessVersion]:
    return ProcessVersion.objects.filter(definition__key=key).defer("spec_json").order_by("-number")


def version_get(*, version_id: int) -> ProcessVersion:
    version = (
        ProcessVersion.objects.select_related("definition")
        .defer("spec_json")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise NotFound(f"Process version {version_id} does not exist.", code="version_not_found")
    return version


def latest_xml(*, key: str) -> str | None:
    version = (
        ProcessVersion.objects.filter(definition__key=key).order_by("-number").only("xml").first()
    )
    return version.xml if version else None
