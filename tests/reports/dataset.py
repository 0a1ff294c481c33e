"""Rows with exact timestamps for the report tests (expected figures computed by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from apps.engine.models import Incident, Job, JobStatus, ProcessInstance
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes.models import ProcessDefinition, ProcessVersion, VersionStatus
from apps.reports.facts import task_facts_for_instance


def fixed_now() -> datetime:
    return timezone.now().replace(microsecond=0)


def version_for(key: str) -> ProcessVersion:
    definition, _ = ProcessDefinition.objects.get_or_create(key=key, defaults={"name": key})
    version = definition.versions.first()
    if version is None:
        version = ProcessVersion.objects.create(
            definition=definition,
            number=1,
            status=VersionStatus.DEPLOYED,
            xml="<definitions/>",
            checksum=key,
        )
    return version


def instance(
    key: str,
    *,
    created: datetime,
    ended: datetime | None = None,
    status: str | None = None,
    business_key: str = "",
    variables: dict | None = None,
) -> ProcessInstance:
    status = status or ("completed" if ended else "running")
    row = ProcessInstance.objects.create(
        version=version_for(key),
        process_key=key,
        status=status,
        state="{}",
        business_key=business_key,
        variables=variables or {},
    )
    ProcessInstance.objects.filter(pk=row.pk).update(
        created_at=created, ended_at=ended, updated_at=ended or created
    )
    row.refresh_from_db()
    return row


_task_seq = [0]


def task(
    inst: ProcessInstance,
    activity: str,
    *,
    created: datetime,
    completed: datetime | None = None,
    claimed: datetime | None = None,
    status: str | None = None,
    groups: tuple[str, ...] = ("manager",),
    due: datetime | None = None,
    assignee=None,
    completed_by=None,
) -> HumanTask:
    _task_seq[0] += 1
    status = status or (TaskStatus.COMPLETED if completed else TaskStatus.OPEN)
    row = HumanTask.objects.create(
        instance=inst,
        task_id=f"t{_task_seq[0]}",
        activity_id=activity,
        name=activity,
        process_key=inst.process_key,
        candidate_groups=list(groups),
        status=status,
        due_at=due,
        assignee=assignee,
        completed_by=completed_by,
    )
    HumanTask.objects.filter(pk=row.pk).update(
        created_at=created, completed_at=completed, claimed_at=claimed
    )
    # What the completion's listener writes in the same transaction (apps.reports.facts).
    task_facts_for_instance(inst)
    return row


def job(
    inst: ProcessInstance,
    activity: str,
    *,
    created: datetime,
    started: datetime | None = None,
    finished: datetime | None = None,
    status: str = JobStatus.DONE,
    attempts: int = 1,
    deferrals: int = 0,
    failed_attempts_seconds: float = 0.0,
) -> Job:
    _task_seq[0] += 1
    row = Job.objects.create(
        instance=inst,
        task_id=f"j{_task_seq[0]}",
        activity_id=activity,
        connector="echo",
        status=status,
        attempts=attempts,
        deferrals=deferrals,
        failed_attempts_seconds=failed_attempts_seconds,
        run_after=created,
        created_at=created,
        started_at=started,
        finished_at=finished,
    )
    task_facts_for_instance(inst)  # what the engine's advance listener writes
    return row


def incident(inst: ProcessInstance, activity: str, *, job_row: Job | None = None, message="boom"):
    return Incident.objects.create(
        instance=inst, job=job_row, activity_id=activity, message=message
    )


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
