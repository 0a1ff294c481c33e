"""Move running instances to another version of their process (issue #21).

``instance_migrate`` moves one instance (or, with ``dry_run``, only says whether and how it would
move); ``instances_migrate`` does the same for a batch, each instance in its own transaction
under its own lock, so one refusal stops no other. The engine work is ``core.migration``; the
write is the write path's ``persist_advance`` (decision 027), which brings the jobs, timers,
message subscriptions and inbox tasks in step with the new version.

Permissions are checked by the API views and pages that call these (operators: admins and
managers, as for moving a token).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.common.actors import Actor
from apps.common.errors import Conflict, FlowgateError, InvalidInput, NotFound
from apps.engine.core import migration as core_migration
from apps.engine.core.errors import EngineError
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from apps.engine.runners import runner_for_version
from apps.engine.runtime.hooks import step_reactivated
from apps.engine.runtime.repairs import archived_task_id_sql
from apps.engine.runtime.state import instance_lock, load, persist_advance
from apps.processes.models import ProcessVersion, VersionStatus

#: A batch runs in the request: more instances than this are refused (name ``instance_ids``).
MAX_BATCH = 500
MAX_MAPPING = 1000
MOVABLE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
LIVE_JOBS = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT)


def check_mapping(mapping: Any) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or len(mapping) > MAX_MAPPING:
        raise InvalidInput(
            f"mapping must be an object of at most {MAX_MAPPING} old id -> new id pairs.",
            code="invalid_mapping",
        )
    bad = [k for k, v in mapping.items() if not isinstance(v, str) or not v or len(v) > 200]
    if bad:
        raise InvalidInput(
            "Each mapping value must be an element id of the new version: "
            + ", ".join(sorted(map(str, bad))[:10]),
            code="invalid_mapping",
        )
    return dict(mapping)


def target_version(*, process_key: str, number: int) -> ProcessVersion:
    version = (
        ProcessVersion.objects.select_related("definition")
        .filter(definition__key=process_key, number=number)
        .first()
    )
    if version is None:
        raise NotFound(f"Process '{process_key}' has no version {number}.")
    if version.status != VersionStatus.DEPLOYED:
        raise Conflict(
            f"Version {number} of '{process_key}' is not deployed: instances can only move to a "
            "deployed version.",
            code="version_not_deployed",
        )
    return version


def migration_elements(*, version: ProcessVersion) -> list[tuple[str, str, str]]:
    """(element id, type, name) of a deployed version's elements: the mapping page's choices."""
    return core_migration.elements(runner_for_version(version.pk, version.checksum))


def _report(
    instance: ProcessInstance, plan: core_migration.MigrationPlan, *, moved: bool
) -> dict[str, Any]:
    return {
        "instance_id": instance.pk,
        "status": instance.status,
        "can_move": plan.can_move,
        "moved": moved,
        "active": [asdict(a) for a in plan.active],
        "problems": [asdict(p) for p in plan.problems],
    }


def _refusal(instance: ProcessInstance, code: str, message: str) -> dict[str, Any]:
    return {
        "instance_id": instance.pk,
        "status": instance.status,
        "can_move": False,
        "moved": False,
        "active": [],
        "problems": [{"activity_id": "", "code": code, "message": message}],
    }


def _move_one(
    instance_id: int,
    to: ProcessVersion,
    mapping: Mapping[str, str],
    *,
    actor: Actor,
    dry_run: bool,
    from_version: int | None = None,
    numbers: dict[int, int] | None = None,
) -> dict[str, Any]:
    """Plan (and unless ``dry_run``, do) one instance's move, in its own transaction.
    ``numbers``: version id -> number, shared by a batch (a version's number never changes)."""
    numbers = {} if numbers is None else numbers
    with transaction.atomic():
        instance = instance_lock(instance_id=instance_id)  # NotFound: the batch reports it
        if instance.process_key != to.definition.key:
            return _refusal(
                instance,
                "other_process",
                f"Instance {instance.pk} runs '{instance.process_key}', not '{to.definition.key}'.",
            )
        current = numbers.get(instance.version_id)
        if current is None:
            current = ProcessVersion.objects.only("number").get(pk=instance.version_id).number
            numbers[instance.version_id] = current
        if from_version is not None and current != from_version:
            return _refusal(
                instance,
                "other_version",
                f"Instance {instance.pk} runs version {current}, not {from_version}.",
            )
        if instance.version_id == to.pk:
            return _refusal(
                instance,
                "same_version",
                f"Instance {instance.pk} already runs version {to.number}.",
            )
        if instance.status not in MOVABLE:
            return _refusal(
                instance,
                "instance_not_active",
                f"Instance {instance.pk} is {instance.status}: only running or suspended "
                "instances move.",
            )
        # One query for the running check and the jobs that step aside on a real move.
        live_jobs = list(
            Job.objects.filter(instance=instance, status__in=LIVE_JOBS).values_list("pk", "status")
        )
        if any(status == JobStatus.RUNNING for _, status in live_jobs):
            return _refusal(
                instance,
                "step_running",
                "A step of this instance is running on a worker right now; try again when it "
                "has finished.",
            )
        handle = load(instance)
        runner = runner_for_version(to.pk, to.checksum)
        plan = core_migration.migration_plan(
            handle, runner, mapping, to_label=f"version {to.number}"
        )
        if dry_run or not plan.can_move:
            return _report(instance, plan, moved=False)
        old_user_tasks = [t.task_id for t in handle.effects().user_tasks]
        try:
            moved = core_migration.migrate(handle, runner, mapping, plan=plan)
        except EngineError as exc:
            return _refusal(instance, "migration_failed", str(exc))
        _retire_waits(instance, [pk for pk, _ in live_jobs], old_user_tasks)
        instance.version_id = to.pk
        # the locked row carries its version's checksum (instance_lock); the projections read it
        setattr(instance, "version_checksum", to.checksum)  # noqa: B010
        instance.called_versions = {}
        persist_advance(
            instance,
            moved,
            actor=actor,
            row_fields=("version", "called_versions"),
            event=(
                AuditAction.INSTANCE_MIGRATED,
                {
                    "before": {"version": current},
                    "after": {"version": to.number},
                    "data": {
                        "from_version": current,
                        "to_version": to.number,
                        "mapping": dict(mapping),
                        "active": [asdict(a) for a in plan.active],
                    },
                },
            ),
        )
        return _report(instance, plan, moved=True)


def _retire_waits(instance: ProcessInstance, job_ids: list[int], user_task_ids: list[str]) -> None:
    """The jobs (``job_ids``: pending or incident) and inbox tasks of the old version step aside
    under archived task ids, so the write path re-creates them from the new version (its
    connector and inputs; its candidates, form and SLA). Timers and message subscriptions keep
    their rows: the same wait goes on. Requires: the instance row is locked."""
    if job_ids:
        Job.objects.filter(pk__in=job_ids).update(task_id=archived_task_id_sql())
    for task_id in user_task_ids:
        step_reactivated.send(instance_id=instance.pk, task_id=task_id)


def instance_migrate(
    *,
    instance_id: int,
    to_version: int,
    mapping: Any = None,
    dry_run: bool = False,
    actor: Actor,
) -> dict[str, Any]:
    """Move one instance to version ``to_version`` of its process (or, ``dry_run``, report
    what would happen). A refusal is a 409 with the report's problems as details."""
    mapping = check_mapping(mapping)
    instance = ProcessInstance.objects.filter(pk=instance_id).only("process_key").first()
    if instance is None:
        raise NotFound(f"Process instance {instance_id} does not exist.")
    to = target_version(process_key=instance.process_key, number=to_version)
    report = _move_one(instance_id, to, mapping, actor=actor, dry_run=dry_run)
    if not dry_run and not report["moved"]:
        raise Conflict(
            "; ".join(p["message"] for p in report["problems"]),
            code="migration_refused",
            details=report["problems"],
        )
    return report


def batch_instances(
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: Iterable[int] | None = None,
) -> tuple[ProcessVersion, list[int]]:
    """The target version and the ids a batch moves: ``instance_ids``, else the running and
    suspended instances of ``from_version``. More than ``MAX_BATCH`` is a 400."""
    source = target_version(process_key=process_key, number=from_version)
    to = target_version(process_key=process_key, number=to_version)
    if instance_ids is None:
        ids = list(
            ProcessInstance.objects.filter(version=source, status__in=MOVABLE)
            .order_by("pk")
            .values_list("pk", flat=True)[: MAX_BATCH + 1]
        )
    else:
        ids = sorted({int(i) for i in instance_ids})
    if len(ids) > MAX_BATCH:
        raise InvalidInput(
            f"A migration moves at most {MAX_BATCH} instances at once; name them in "
            "instance_ids, in several batches.",
            code="batch_too_large",
        )
    return to, ids


def batch_item(
    instance_id: int,
    to: ProcessVersion,
    mapping: Mapping[str, str],
    *,
    actor: Actor,
    dry_run: bool,
    from_version: int,
    numbers: dict[int, int] | None = None,
) -> dict[str, Any]:
    """One instance of a batch, in its own transaction: its report, also when it is refused or
    does not exist (one refusal stops no other)."""
    try:
        return _move_one(
            instance_id,
            to,
            mapping,
            actor=actor,
            dry_run=dry_run,
            from_version=from_version,
            numbers=numbers,
        )
    except FlowgateError as exc:
        return {
            "instance_id": instance_id,
            "status": None,
            "can_move": False,
            "moved": False,
            "active": [],
            "problems": [{"activity_id": "", "code": exc.code, "message": exc.message}],
        }


def instances_migrate(
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: Iterable[int] | None = None,
    mapping: Any = None,
    dry_run: bool = False,
    actor: Actor,
) -> dict[str, Any]:
    """Move the running (and suspended) instances of ``from_version`` (or those of
    ``instance_ids``) to ``to_version`` in this request, each in its own transaction. Returns
    the report: ``{"movable", "moved", "refused", "instances": [per-instance report]}``. (A
    worker runs real batches from the API and the page: ``migration_runs``.)"""
    mapping = check_mapping(mapping)
    to, ids = batch_instances(
        process_key=process_key,
        from_version=from_version,
        to_version=to_version,
        instance_ids=instance_ids,
    )
    numbers: dict[int, int] = {}
    reports = [
        batch_item(
            i, to, mapping, actor=actor, dry_run=dry_run, from_version=from_version, numbers=numbers
        )
        for i in ids
    ]
    return {
        "process_key": process_key,
        "from_version": from_version,
        "to_version": to_version,
        "dry_run": dry_run,
        "mapping": mapping,
        "movable": sum(1 for r in reports if r["can_move"]),
        "moved": sum(1 for r in reports if r["moved"]),
        "refused": sum(1 for r in reports if not r["can_move"]),
        "instances": reports,
    }
