"""Invariants of a Flowgate database: what must hold after any crash, restart or race.

Each check is a plain function ``check(ctx) -> list[Violation]`` that only reads. ``run_checks``
runs them all; ``manage.py check_invariants`` prints the result and exits non-zero on a violation.
The chaos suite (tests/chaos) runs them after every injected fault; see docs/reliability.md.

Time bounds: a worker that dies leaves a RUNNING job whose lease the sweeper (beat task
``engine.sweep_jobs``) recovers within one sweep interval; a due timer is fired within one
timer-sweep interval (``engine.fire_timers``). The checks allow those intervals plus ``slack``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.audit.verification import chain_verify
from apps.engine.models import (
    Incident,
    InstanceStatus,
    Job,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    Timer,
)
from apps.engine.runners import runner_for_version
from apps.engine.runtime.state import WAIT_LIMIT, WAIT_MESSAGES, WAIT_TASKS, WAIT_TIMERS
from apps.inbox.models import LIVE_TASK_STATUSES, HumanTask, TaskStatus
from apps.invariants.compensation import compensated_once, finished_compensation_is_complete
from apps.invariants.end_reached import completed_instances_reached_an_end
from apps.invariants.violations import DEFAULT_SLACK_SECONDS, Context, Violation

LIVE_JOB = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT)
FINISHED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)
ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
TASK_DONE_ACTIONS = (
    AuditAction.TASK_COMPLETED,
    AuditAction.TASK_APPROVED,
    AuditAction.TASK_REJECTED,
)


def _ago(ctx: Context, at: datetime) -> str:
    return f"{(ctx.now - at).total_seconds():.0f}s"


# --- jobs ----------------------------------------------------------------------------------------


def jobs_stuck(ctx: Context) -> list[Violation]:
    """No job of a running instance is stuck: a RUNNING job's expired lease is recovered by the next
    sweep, and a due PENDING job is taken (or re-enqueued by the sweeper) in time."""
    found = []
    lease_bound = ctx.job_sweep_every + ctx.slack
    for job in Job.objects.filter(
        status=JobStatus.RUNNING,
        instance__status=InstanceStatus.RUNNING,
        lease_expires_at__lt=ctx.now - timedelta(seconds=lease_bound),
    ).order_by("pk"):
        expired = job.lease_expires_at or ctx.now  # never null here: the filter compared it
        found.append(
            Violation(
                "job_stuck",
                f"job {job.pk} ({job.activity_id}, instance {job.instance_id}) is running on a "
                f"lease that expired {_ago(ctx, expired)} ago; the sweeper should "
                f"have taken it back within {lease_bound:g}s",
            )
        )
    pending_bound = ctx.lost_after + ctx.job_sweep_every + ctx.slack
    for job in Job.objects.filter(
        status=JobStatus.PENDING,
        instance__status=InstanceStatus.RUNNING,
        run_after__lt=ctx.now - timedelta(seconds=pending_bound),
    ).order_by("pk"):
        found.append(
            Violation(
                "job_stuck",
                f"job {job.pk} ({job.activity_id}, instance {job.instance_id}) has been due for "
                f"{_ago(ctx, job.run_after)} without a worker taking it (bound {pending_bound:g}s)",
            )
        )
    return found


def job_results_applied_once(ctx: Context) -> list[Violation]:
    """Each job's result is applied exactly once: a done job has one ``job.succeeded`` event (or one
    routed business error), any other job none."""
    succeeded = Counter(
        dict(
            AuditEvent.objects.filter(action=AuditAction.JOB_SUCCEEDED, job_id__isnull=False)
            .values("job_id")
            .annotate(n=Count("position"))
            .values_list("job_id", "n")
        )
    )
    routed = Counter(
        AuditEvent.objects.filter(
            action=AuditAction.JOB_FAILED, job_id__isnull=False, data__routed=True
        ).values_list("job_id", flat=True)
    )
    found = []
    for job_id, status, activity_id in Job.objects.order_by("pk").values_list(
        "pk", "status", "activity_id"
    ):
        applied = succeeded.get(job_id, 0) + routed.get(job_id, 0)
        if status == JobStatus.DONE and applied != 1:
            found.append(
                Violation(
                    "job_applied_once",
                    f"job {job_id} ({activity_id}) is done but its result was applied {applied} "
                    "times (job.succeeded or routed job.failed events), not once",
                )
            )
        elif status != JobStatus.DONE and applied:
            found.append(
                Violation(
                    "job_applied_once",
                    f"job {job_id} ({activity_id}) is {status} but has {applied} applied-result "
                    "event(s)",
                )
            )
    return found


# --- instances -----------------------------------------------------------------------------------


def _waiting_on_something():
    return (
        Exists(Job.objects.filter(instance=OuterRef("pk"), status__in=LIVE_JOB))
        | Exists(
            Timer.objects.filter(instance=OuterRef("pk"), fired_at__isnull=True, cancelled=False)
        )
        | Exists(MessageSubscription.objects.filter(instance=OuterRef("pk")))
        | Exists(HumanTask.objects.filter(instance=OuterRef("pk"), status__in=LIVE_TASK_STATUSES))
    )


def instances_waiting_on_something(ctx: Context) -> list[Violation]:
    """No running instance waits on nothing (it would never move again)."""
    idle = (
        ProcessInstance.objects.filter(status=InstanceStatus.RUNNING)
        .exclude(_waiting_on_something())
        .order_by("pk")
        .values_list("pk", "process_key", "is_test_run", "waits")
    )
    return [
        Violation(
            "instance_idle",
            f"instance {pk} ({key}) is running but waits on nothing: no live job, timer, "
            "message subscription or open task",
        )
        for pk, key, test_run, waits in idle
        # a designer's test run waits on its user tasks without inbox rows (the panel has them)
        if not (test_run and waits & WAIT_TASKS)
    ]


def open_tasks_of_finished_instances(ctx: Context) -> list[Violation]:
    """No task stays open in an inbox when its instance has finished."""
    rows = (
        HumanTask.objects.filter(status__in=LIVE_TASK_STATUSES, instance__status__in=FINISHED)
        .order_by("pk")
        .values_list("pk", "name", "instance_id", "instance__status")
    )
    return [
        Violation(
            "task_of_finished_instance",
            f"task {pk} '{name}' is open but its instance {instance_id} is {status}",
        )
        for pk, name, instance_id, status in rows
    ]


def _ids(values) -> str:
    return "{" + ", ".join(sorted(values)) + "}" if values else "nothing"


def instance_states_match_tokens(ctx: Context) -> list[Violation]:
    """The status column, the ``waits`` bits and the job, timer, subscription and task rows say
    what the engine state (the tokens) says."""
    found: list[Violation] = []
    live_jobs: dict[int, set[str]] = defaultdict(set)
    for instance_id, task_id in Job.objects.filter(status__in=LIVE_JOB).values_list(
        "instance_id", "task_id"
    ):
        live_jobs[instance_id].add(task_id)
    timers: dict[int, set[str]] = defaultdict(set)
    for instance_id, task_id in Timer.objects.filter(
        fired_at__isnull=True, cancelled=False
    ).values_list("instance_id", "task_id"):
        timers[instance_id].add(task_id)
    subscriptions: dict[int, set[str]] = defaultdict(set)
    for instance_id, task_id in MessageSubscription.objects.values_list("instance_id", "task_id"):
        subscriptions[instance_id].add(task_id)
    tasks: dict[int, set[str]] = defaultdict(set)
    for instance_id, task_id in HumanTask.objects.filter(status__in=LIVE_TASK_STATUSES).values_list(
        "instance_id", "task_id"
    ):
        tasks[instance_id].add(task_id)

    def add(pk: int, message: str) -> None:
        found.append(Violation("instance_tokens", f"instance {pk}: {message}"))

    instances = ProcessInstance.objects.select_related("version").order_by("pk")
    for instance in instances.iterator(chunk_size=200):
        pk = instance.pk
        rows = {
            "live jobs": live_jobs.get(pk, set()),
            "timers": timers.get(pk, set()),
            "message subscriptions": subscriptions.get(pk, set()),
        }
        if instance.status in FINISHED:
            for what, ids in rows.items():
                if ids:
                    add(pk, f"is {instance.status} but still has {what} {_ids(ids)}")
            if instance.ended_at is None:
                add(pk, f"is {instance.status} but has no ended_at")
            if instance.status == InstanceStatus.CANCELLED:
                continue  # a cancelled state keeps its last tokens; the rows above must be gone
        elif instance.ended_at is not None:
            add(pk, f"is {instance.status} but has ended_at {instance.ended_at.isoformat()}")
        try:
            runner = runner_for_version(
                instance.version_id, instance.version.checksum, instance.called_versions or None
            )
            effects = runner.load(instance.state).effects()
        except Exception as exc:  # a state that does not load is itself the finding
            add(pk, f"its engine state does not load: {type(exc).__name__}: {exc}")
            continue
        engine_status = effects.status
        expected = "completed" if instance.status == InstanceStatus.COMPLETED else "running"
        if engine_status != expected:
            add(pk, f"is {instance.status} but its engine state is {engine_status}")
            continue
        if instance.status == InstanceStatus.COMPLETED:
            continue
        tokens = {
            "live jobs": {s.task_id for s in effects.service_tasks},
            "timers": {t.task_id for t in effects.timers},
            "message subscriptions": {m.task_id for m in effects.message_waits},
        }
        rows["open tasks"] = tasks.get(pk, set())
        # A designer's test run has no inbox tasks: its user tasks live in the test panel.
        tokens["open tasks"] = (
            set() if instance.is_test_run else {u.task_id for u in effects.user_tasks}
        )
        for what, expected_ids in tokens.items():
            if rows[what] != expected_ids:
                add(
                    pk,
                    f"the engine state waits on {what} {_ids(expected_ids)} but the rows are "
                    f"{_ids(rows[what])}",
                )
        bits = (
            (WAIT_TIMERS if effects.timers else 0)
            | (WAIT_MESSAGES if effects.message_waits else 0)
            | (WAIT_TASKS if effects.user_tasks else 0)
        )
        # WAIT_LIMIT (an engine-limit incident may be open) is not the engine state's to say
        if instance.waits & ~WAIT_LIMIT != bits:
            add(pk, f"waits is {instance.waits} but the engine state waits on {bits}")
    return found


# --- audit ---------------------------------------------------------------------------------------


def _event_counts(action: str | tuple, key: str = "instance_id") -> Counter:
    actions = (action,) if isinstance(action, str) else action
    return Counter(
        dict(
            AuditEvent.objects.filter(action__in=actions, **{f"{key}__isnull": False})
            .values(key)
            .annotate(n=Count("position"))
            .values_list(key, "n")
        )
    )


def one_event_per_state_change(ctx: Context) -> list[Violation]:
    """Each state change has exactly one audit event: an instance's start and its end, a task's
    creation, an incident's opening."""
    found: list[Violation] = []
    started = _event_counts(AuditAction.INSTANCE_STARTED)
    completed = _event_counts(AuditAction.INSTANCE_COMPLETED)
    cancelled = _event_counts(AuditAction.INSTANCE_CANCELLED)
    for pk, status in ProcessInstance.objects.order_by("pk").values_list("pk", "status"):
        expected = {
            AuditAction.INSTANCE_STARTED: (started, 1),
            AuditAction.INSTANCE_COMPLETED: (completed, int(status == InstanceStatus.COMPLETED)),
            AuditAction.INSTANCE_CANCELLED: (cancelled, int(status == InstanceStatus.CANCELLED)),
        }
        for action, (counts, want) in expected.items():
            got = counts.get(pk, 0)
            if got != want:
                found.append(
                    Violation(
                        "one_event_per_change",
                        f"instance {pk} ({status}) has {got} {action} event(s), expected {want}",
                    )
                )
    created = _event_counts(AuditAction.TASK_CREATED, key="task_id")
    for pk, instance_id in HumanTask.objects.order_by("pk").values_list("pk", "instance_id"):
        got = created.get(pk, 0)
        if got != 1:
            found.append(
                Violation(
                    "one_event_per_change",
                    f"task {pk} (instance {instance_id}) has {got} task.created event(s), "
                    "expected 1",
                )
            )
    opened = Counter(
        AuditEvent.objects.filter(action=AuditAction.INCIDENT_OPENED).values_list(
            "data__incident_id", flat=True
        )
    )
    for pk, instance_id in Incident.objects.order_by("pk").values_list("pk", "instance_id"):
        got = opened.get(pk, 0)
        if got != 1:
            found.append(
                Violation(
                    "one_event_per_change",
                    f"incident {pk} (instance {instance_id}) has {got} incident.opened event(s), "
                    "expected 1",
                )
            )
    return found


def one_completion_per_task(ctx: Context) -> list[Violation]:
    """A completed task has exactly one completion event (completed, approved or rejected); an
    open or cancelled task has none."""
    done = _event_counts(TASK_DONE_ACTIONS, key="task_id")
    found = []
    for pk, status in HumanTask.objects.order_by("pk").values_list("pk", "status"):
        got = done.get(pk, 0)
        want = int(status == TaskStatus.COMPLETED)
        if got != want:
            found.append(
                Violation(
                    "one_completion_per_task",
                    f"task {pk} ({status}) has {got} completion event(s), expected {want}",
                )
            )
    return found


def audit_chain_intact(ctx: Context) -> list[Violation]:
    """The hash chain verifies (apps.audit's own verifier, read-only)."""
    result = chain_verify()
    if result.intact:
        return []
    return [Violation("audit_chain", f"the audit chain does not verify: {result.summary()}")]


# --- timers --------------------------------------------------------------------------------------


def timers_fire_once_and_on_time(ctx: Context) -> list[Violation]:
    """Each timer fires at most once (one ``timer.fired`` event per instance, activity and due
    time; a fired row has its event) and none is overdue beyond the timer sweep plus slack."""
    found: list[Violation] = []
    fired_events = Counter(
        (instance_id, data.get("activity_id"), data.get("due_at"))
        for instance_id, data in AuditEvent.objects.filter(
            action=AuditAction.TIMER_FIRED
        ).values_list("instance_id", "data")
    )
    for (instance_id, activity_id, due_at), n in sorted(
        fired_events.items(), key=lambda item: (item[0][0] or 0, str(item[0][1]), str(item[0][2]))
    ):
        if n > 1:
            found.append(
                Violation(
                    "timer_once",
                    f"timer {activity_id} of instance {instance_id} due {due_at} fired {n} times",
                )
            )
    for timer in Timer.objects.filter(fired_at__isnull=False).order_by("pk"):
        if not fired_events.get((timer.instance_id, timer.activity_id, timer.due_at.isoformat())):
            found.append(
                Violation(
                    "timer_once",
                    f"timer {timer.pk} ({timer.activity_id}, instance {timer.instance_id}) is "
                    "marked fired but no timer.fired event records it",
                )
            )
    bound = ctx.timer_sweep_every + ctx.slack
    for timer in Timer.objects.filter(
        fired_at__isnull=True,
        cancelled=False,
        instance__status=InstanceStatus.RUNNING,
        due_at__lt=ctx.now - timedelta(seconds=bound),
    ).order_by("pk"):
        found.append(
            Violation(
                "timer_overdue",
                f"timer {timer.pk} ({timer.activity_id}, instance {timer.instance_id}) was due "
                f"{_ago(ctx, timer.due_at)} ago and has not fired (bound {bound:g}s)",
            )
        )
    return found


CHECKS: dict[str, Callable[[Context], list[Violation]]] = {
    "job_stuck": jobs_stuck,
    "instance_idle": instances_waiting_on_something,
    "job_applied_once": job_results_applied_once,
    "one_completion_per_task": one_completion_per_task,
    "one_event_per_change": one_event_per_state_change,
    "audit_chain": audit_chain_intact,
    "timers": timers_fire_once_and_on_time,
    "task_of_finished_instance": open_tasks_of_finished_instances,
    "instance_tokens": instance_states_match_tokens,
    "completed_without_end": completed_instances_reached_an_end,
    "compensated_once": compensated_once,
    "compensation_complete": finished_compensation_is_complete,
}


@dataclass
class Report:
    instances: int
    violations: list[Violation]
    checks: list[str]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "instances": self.instances,
            "checks": self.checks,
            "violations": [{"check": v.check, "message": v.message} for v in self.violations],
        }


def run_checks(
    *, slack: float = DEFAULT_SLACK_SECONDS, now: datetime | None = None, only=None
) -> Report:
    """Run every check (or those named in ``only``) against one clock reading."""
    ctx = Context(now=now or timezone.now(), slack=slack)
    names = [name for name in CHECKS if not only or name in only]
    violations: list[Violation] = []
    for name in names:
        violations.extend(CHECKS[name](ctx))
    return Report(
        instances=ProcessInstance.objects.count(),
        violations=violations,
        checks=names,
    )
