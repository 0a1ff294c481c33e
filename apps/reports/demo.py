"""Demo history for the reports (``manage.py seed_report_demo``; called by bootstrap_demo).

For the demo process ``expense_approval`` (ids in the shared demo contract) it writes 30 days of
history in which the user task ``manager_approval`` breaches its SLA (warning 20 h, breach 24 h)
in exactly 30 % of the completed approvals, an SLO "90 % complete within 2 days" that is *at
risk* (12 of 150 instances late: a fifth of the error budget left), a few approvals open now
(two breached, two at risk) and two failed notification steps waiting in the incidents list.

Finished history is written as rows with back-dated timestamps (no engine run per instance;
they carry the state of one instance really run to its end). The open work is real: instances
started through the engine, so a manager can complete them and an operator can retry the
failed steps. Idempotent: a second run finds its marker business keys and adds nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.actions import AuditAction
from apps.audit.services import audit_event, record_many
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import (
    JOB_TRANSITIONS,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from apps.processes.models import ProcessVersion, VersionStatus
from apps.reports.facts import task_facts_for_instance
from apps.reports.services import activity_sla_set, slo_set

PROCESS_KEY = "expense_approval"
APPROVAL = "manager_approval"
MARKER = "DEMO-EXP-"
HOUR = 3600.0
DEMO_BPMN = (
    Path(__file__).resolve().parents[1] / "processes" / "demo_bpmn" / "expense_approval.bpmn"
)
SYSTEM = Actor.system("report-demo")
HISTORY_WORKER = Actor.system("worker")

# Hours the 100 completed approvals took: 60 met (< 20 h), 10 warned (20-24 h),
# 18 breached within 2 days, 12 breached beyond 2 days (the SLO's late instances).
MET = [1 + i * 18 / 59 for i in range(60)]
WARNED = [20.5 + i * 3 / 9 for i in range(10)]
BREACHED = [25 + i * 22 / 17 for i in range(18)] + [49 + i * 11 / 11 for i in range(12)]
AUTO_APPROVED = 50
OPEN_AGES_HOURS = (30, 27, 22, 21, 5, 1)  # two breached, two at risk within 4 h, two fine


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    completed: int
    approvals: int
    approvals_breached: int
    open_tasks: int
    incidents: int


def _version() -> ProcessVersion:
    version = (
        ProcessVersion.objects.filter(definition__key=PROCESS_KEY, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .first()
    )
    if version is None:
        result = process_services.version_deploy(xml=DEMO_BPMN.read_bytes(), actor=SYSTEM)
        if not result.deployed:
            raise RuntimeError(f"The demo process does not deploy: {result.version.problems}")
        version = result.version
    return version


def _managers() -> list[User]:
    group = Group.objects.filter(name="manager").first()
    users = list(group.user_set.order_by("username")) if group else []
    if not users:
        user, _ = User.objects.get_or_create(username="demo-manager")
        if group is None:
            group, _ = Group.objects.get_or_create(name="manager")
        user.groups.add(group)
        users = [user]
    return users


def _run_to_end(version: ProcessVersion) -> ProcessInstance:
    """One real low-amount instance run to its end: its state is the finished rows' state."""
    instance = engine.instance_start(
        version=version,
        variables={"amount": 10, "description": "Demo template"},
        business_key=f"{MARKER}TEMPLATE",
        actor=SYSTEM,
    )
    for _ in range(10):
        pending = list(
            Job.objects.filter(instance=instance, status=JobStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if not pending:
            break
        for job_id in pending:
            engine.job_run(job_id=job_id, worker_id="report-demo")
    instance.refresh_from_db()
    task_facts_for_instance(instance)  # its job facts now, not at the beat's next sweep
    return instance


def _backdate(model, pk: int, **fields) -> None:
    model.objects.filter(pk=pk).update(**fields)


def _moved(moment: datetime | None, *, since: datetime, to: datetime) -> datetime | None:
    """``moment`` kept at the same distance from ``to`` as it was from ``since``."""
    return to + (moment - since) if moment else None


def report_demo_seed(*, now: datetime | None = None, seed: int = 12) -> DemoSummary:
    if ProcessInstance.objects.filter(business_key__startswith=MARKER).exists():
        return DemoSummary(False, 0, 0, 0, 0, 0)
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    version = _version()
    managers = _managers()
    activity_sla_set(
        process_key=PROCESS_KEY,
        activity_id=APPROVAL,
        warning_seconds=20 * 3600,
        breach_seconds=24 * 3600,
        actor=SYSTEM,
    )
    slo_set(
        process_key=PROCESS_KEY,
        objective_percent=90,
        target_seconds=2 * 86400,
        window_days=30,
        actor=SYSTEM,
    )
    template = _run_to_end(version)
    approvals = MET + WARNED + BREACHED
    rng.shuffle(approvals)
    with transaction.atomic():
        completed = 0
        events: list = []
        for index, hours in enumerate(approvals):
            events += _history_instance(
                version, template, now, rng, index, approval_hours=hours, managers=managers
            )
            completed += 1
        for index in range(AUTO_APPROVED):
            events += _history_instance(
                version, template, now, rng, 1000 + index, approval_hours=None, managers=managers
            )
            completed += 1
        record_many(events)
    open_tasks = 0
    for age in OPEN_AGES_HOURS:
        instance = engine.instance_start(
            version=version,
            variables={"amount": 1500 + age * 100, "description": f"Open demo expense ({age} h)"},
            business_key=f"{MARKER}OPEN-{age}H",
            actor=SYSTEM,
        )
        created = now - timedelta(hours=age)
        _backdate(ProcessInstance, instance.pk, created_at=created, updated_at=created)
        task = HumanTask.objects.filter(instance=instance, activity_id=APPROVAL).first()
        if task is not None:
            # the task's due and SLA times move back with it, so the inbox's overdue and at-risk
            # views agree with the dashboard (two breached, two at risk)
            _backdate(
                HumanTask,
                task.pk,
                created_at=created,
                **{
                    name: _moved(getattr(task, name), since=task.created_at, to=created)
                    for name in ("due_at", "sla_warning_at", "sla_breach_at")
                },
            )
            open_tasks += 1
    incidents = 0
    for n in (1, 2):
        with transaction.atomic():  # the worker hears of the job only once it is failed
            incidents += _failed_instance(version, now, n)
    return DemoSummary(
        created=True,
        completed=completed,
        approvals=len(approvals),
        approvals_breached=len(BREACHED),
        open_tasks=open_tasks,
        incidents=incidents,
    )


def _failed_instance(version: ProcessVersion, now: datetime, n: int) -> int:
    """A real low-amount instance whose first service step failed for good."""
    instance = engine.instance_start(
        version=version,
        variables={"amount": 200 * n, "description": f"Demo expense, ledger down ({n})"},
        business_key=f"{MARKER}FAILED-{n}",
        actor=SYSTEM,
    )
    job = Job.objects.filter(instance=instance, status=JobStatus.PENDING).first()
    if job is None:
        return 0
    error = "ConnectionError: the ledger service did not answer (demo)"
    rows = Job.objects.filter(pk=job.pk)
    # its last attempt ran and failed: pending -> running -> incident, along the job table
    JOB_TRANSITIONS.update(rows, JobStatus.RUNNING, attempts=job.max_attempts)
    JOB_TRANSITIONS.update(
        rows, JobStatus.INCIDENT, last_error=error, finished_at=now - timedelta(minutes=30)
    )
    engine.open_incident(instance, job, message=error, stack="", kind="job_failed")
    return 1


def _history_instance(
    version: ProcessVersion,
    template: ProcessInstance,
    now: datetime,
    rng: random.Random,
    index: int,
    *,
    approval_hours: float | None,
    managers: list[User],
) -> list:
    """One finished instance of the history and its audit events (started, the approval's
    outcome, completed). The trail cannot be backdated: the events are recorded now, each with
    the historical instant it stands for in ``data.at`` and ``data.demo_history``."""
    start = now - timedelta(days=3 + rng.random() * 25)
    amount = rng.randint(1001, 9000) if approval_hours is not None else rng.randint(20, 1000)
    approved = approval_hours is None or rng.random() < 0.8
    clock = start
    variables = {"amount": amount, "description": f"Demo expense {index}", "approved": approved}
    events: list = []
    instance = ProcessInstance.objects.create(
        version=version,
        process_key=PROCESS_KEY,
        business_key=f"{MARKER}{index:04d}",
        status=InstanceStatus.COMPLETED,
        state=template.state,
        variables=variables,
        steps=template.steps,
    )
    if approval_hours is not None:
        took = timedelta(seconds=round(approval_hours * HOUR))
        claimed = clock + took * 0.7
        task = HumanTask.objects.create(
            instance=instance,
            task_id=str(uuid.UUID(int=rng.getrandbits(128))),
            activity_id=APPROVAL,
            name="Manager approval",
            process_key=PROCESS_KEY,
            candidate_groups=["manager"],
            status=TaskStatus.COMPLETED,
            data={"approved": approved},
            outcome="approved" if approved else "rejected",
            completed_by=managers[index % len(managers)],
            assignee=managers[index % len(managers)],
        )
        clock = clock + took
        _backdate(HumanTask, task.pk, created_at=start, claimed_at=claimed, completed_at=clock)
        manager = managers[index % len(managers)]
        events.append(
            _history_event(
                AuditAction.TASK_CREATED,
                instance,
                start,
                actor=SYSTEM,
                task_id=task.pk,
                data={"activity_id": APPROVAL, "candidate_groups": ["manager"]},
            )
        )
        events.append(
            _history_event(
                AuditAction.TASK_APPROVED if approved else AuditAction.TASK_REJECTED,
                instance,
                clock,
                actor=Actor.for_user(manager),
                task_id=task.pk,
                after={"data": {"approved": approved}, "outcome": task.outcome},
            )
        )
    else:
        queued, worked = (
            timedelta(seconds=rng.randint(1, 4)),
            timedelta(milliseconds=rng.randint(5, 80)),
        )
        events.append(_job(instance, "auto_approve", "set_variables", clock, queued, worked, rng))
        clock += queued + worked
    if approved:
        queued, worked = (
            timedelta(seconds=rng.randint(1, 20)),
            timedelta(milliseconds=rng.randint(200, 2500)),
        )
        events.append(_job(instance, "notify_requester", "email", clock, queued, worked, rng))
        clock += queued + worked
    _backdate(ProcessInstance, instance.pk, created_at=start, ended_at=clock, updated_at=clock)
    task_facts_for_instance(instance)  # written outside the services: record its facts
    events.insert(0, _history_event(AuditAction.INSTANCE_STARTED, instance, start, actor=SYSTEM))
    events.append(
        _history_event(
            AuditAction.INSTANCE_COMPLETED,
            instance,
            clock,
            actor=SYSTEM,
            after={"status": InstanceStatus.COMPLETED, "variables": variables},
        )
    )
    return events


def _history_event(
    action: AuditAction, instance, at: datetime, *, actor: Actor, data: dict | None = None, **fields
):
    return audit_event(
        action,
        actor=actor,
        process_key=instance.process_key,
        version_id=instance.version_id,
        instance_id=instance.pk,
        data={**(data or {}), "at": at.isoformat(), "demo_history": True},
        **fields,
    )


def _job(instance, activity_id, connector, created, queued, worked, rng):
    """A done job of the history; returns its ``job.succeeded`` event (each applied result has
    exactly one, as the invariant checker requires)."""
    job = Job.objects.create(
        instance=instance,
        task_id=str(uuid.UUID(int=rng.getrandbits(128))),
        activity_id=activity_id,
        connector=connector,
        status=JobStatus.DONE,
        attempts=1,
        run_after=created,
        created_at=created,
        started_at=created + queued,
        finished_at=created + queued + worked,
    )
    return _history_event(
        AuditAction.JOB_SUCCEEDED,
        instance,
        created + queued + worked,
        actor=HISTORY_WORKER,
        job_id=job.pk,
        data={"activity_id": activity_id, "connector": connector, "attempt": 1},
    )
