"""Reads the designer pages need from more than one app (processes + engine)."""

from __future__ import annotations

from django.db.models import Count

from apps.engine.models import InstanceStatus, ProcessInstance

OPEN_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)


def open_instance_counts(*, keys: list[str]) -> dict[str, int]:
    """Running or suspended instances per process key (all versions)."""
    rows = (
        ProcessInstance.objects.filter(version__definition__key__in=keys, status__in=OPEN_STATUSES)
        .values("version__definition__key")
        .annotate(n=Count("id"))
    )
    return {row["version__definition__key"]: row["n"] for row in rows}
