"""Stored bytes per completed instance (issue 23, decision 039 addendum 2): what one instance
keeps in the database once it has completed, for the cost per process.

Counted, as the UTF-8 length in bytes of each value's stored text (JSON columns as their text):

- ``state_bytes``: the instance's serialized engine state and its variables;
- ``audit_bytes``: the payloads (``before``, ``after``, ``data``) of its audit events;
- ``task_bytes``: its human tasks' documentation, form and submitted data, its comments' bodies,
  and its attachments' metadata (stored path, name, content type; the files themselves live in
  the file storage, not in the database, and are not counted);
- ``job_bytes``: its service steps' inputs and last error messages.

Not counted: fixed-width columns (ids, times, statuses, short names), row headers, indexes,
compression (PostgreSQL's TOAST) and the audit chain's hash rows: they cost about the same for
every instance, and the point is what grows with the process's data. Same numbers in PostgreSQL
(``octet_length``) and SQLite (``length`` of the value as a BLOB).

An instance is measured once, by the report refresh (``instance_storage_record``, every
5 minutes), after it completed: later writes about it (a comment on a finished request) are not
counted, and a purge does not remove its measure (the cost was paid).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import BigIntegerField, Exists, Expression, Func, Max, OuterRef, Sum
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.engine.models import InstanceStatus, Job, ProcessInstance
from apps.inbox.models import HumanTask, TaskAttachment, TaskComment
from apps.reports.models import InstanceStorage

#: How far before the latest measured completion the refresh looks again for instances not yet
#: measured (a completion whose transaction committed after a later one).
LOOK_BACK = timedelta(hours=1)
#: Instance ids per measuring batch (the IN lists of the grouped queries).
BATCH = 500


class OctetLength(Func):
    """Bytes of a column's stored text (0 for NULL), the same in PostgreSQL and SQLite."""

    output_field = BigIntegerField()
    template = "COALESCE(OCTET_LENGTH(CAST(%(expressions)s AS text)), 0)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="COALESCE(LENGTH(CAST(%(expressions)s AS BLOB)), 0)",
            **extra,
        )


def _bytes(*columns: str) -> Expression:
    total: Any = OctetLength(columns[0])
    for column in columns[1:]:
        total = total + OctetLength(column)
    return total


def _per_instance(queryset: Any, *columns: str) -> dict[int, int]:
    return {
        row["instance_id"]: int(row["b"] or 0)
        for row in queryset.order_by().values("instance_id").annotate(b=Sum(_bytes(*columns)))
    }


def instances_measure(instance_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored bytes of each given instance (see the module docstring), by id: six grouped
    queries per batch of ``BATCH`` ids. Reads only."""
    ids = list(instance_ids)
    measured: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), BATCH):
        measured.update(_measure_batch(ids[start : start + BATCH]))
    return measured


def _measure_batch(ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    audit = _per_instance(AuditEvent.objects.filter(instance_id__in=ids), "before", "after", "data")
    tasks = _per_instance(
        HumanTask.objects.filter(instance_id__in=ids), "documentation", "form", "data"
    )
    comments = _per_instance(TaskComment.objects.filter(instance_id__in=ids), "body")
    files = _per_instance(
        TaskAttachment.objects.filter(instance_id__in=ids), "file", "name", "content_type"
    )
    jobs = _per_instance(Job.objects.filter(instance_id__in=ids), "inputs", "last_error")
    result: dict[int, dict[str, Any]] = {}
    for pk, process_key, ended_at, state in (
        ProcessInstance.objects.filter(pk__in=ids)
        .order_by()
        .annotate(b=_bytes("state", "variables"))
        .values_list("pk", "process_key", "ended_at", "b")
    ):
        sizes = {
            "state_bytes": int(state),
            "audit_bytes": audit.get(pk, 0),
            "task_bytes": tasks.get(pk, 0) + comments.get(pk, 0) + files.get(pk, 0),
            "job_bytes": jobs.get(pk, 0),
        }
        row = {"process_key": process_key, "ended_at": ended_at, **sizes}
        row["bytes"] = sum(sizes.values())
        result[pk] = row
    return result


def completed_unmeasured(*, since: datetime | None = None) -> Any:
    """Completed instances (test runs left out) that have no stored measure yet."""
    candidates = ProcessInstance.objects.filter(
        status=InstanceStatus.COMPLETED, is_test_run=False, ended_at__isnull=False
    )
    if since is not None:
        candidates = candidates.filter(ended_at__gte=since)
    return candidates.filter(~measured())


def measured() -> Exists:
    """For a queryset of instances: the instance has a stored measure (NOT EXISTS when negated:
    an anti-join, where ``NOT IN`` over a large table degrades in PostgreSQL)."""
    return Exists(InstanceStorage.objects.filter(instance_id=OuterRef("pk")))


def instance_storage_record(*, limit: int = 5000, now: datetime | None = None) -> int:
    """Measure the completed instances not measured yet (oldest completion first, at most
    ``limit`` a run) and store their bytes. Looks back ``LOOK_BACK`` from the latest measured
    completion, not over every instance. Safe to run twice or concurrently (a row per instance,
    conflicts ignored). Returns the number measured."""
    now = now or timezone.now()
    latest = InstanceStorage.objects.aggregate(m=Max("ended_at"))["m"]
    ids = list(
        completed_unmeasured(since=latest - LOOK_BACK if latest else None)
        .order_by("ended_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    rows = [
        InstanceStorage(instance_id=pk, measured_at=now, **measure)
        for pk, measure in instances_measure(ids).items()
    ]
    InstanceStorage.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
