"""SLA and bottleneck figures, computed from the engine's own rows (instances, tasks, jobs)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.inbox.models import HumanTask, TaskStatus

SAMPLE_LIMIT = 20_000


def _summary(seconds: list[float]) -> dict:
    if not seconds:
        return {"count": 0, "avg_s": None, "p50_s": None, "p95_s": None, "max_s": None}
    ordered = sorted(seconds)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 3)

    return {
        "count": len(ordered),
        "avg_s": round(statistics.fmean(ordered), 3),
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "max_s": round(ordered[-1], 3),
    }


def sla_report(*, process_key: str = "", since: datetime | None = None) -> dict:
    """Per process: instance counts and cycle times; per activity: waiting and working times;
    open and overdue tasks; incidents. ``since`` defaults to 30 days ago."""
    since = since or timezone.now() - timedelta(days=30)
    instances = ProcessInstance.objects.filter(created_at__gte=since)
    tasks = HumanTask.objects.filter(created_at__gte=since)
    jobs = Job.objects.filter(created_at__gte=since)
    if process_key:
        instances = instances.filter(process_key=process_key)
        tasks = tasks.filter(process_key=process_key)
        jobs = jobs.filter(instance__process_key=process_key)

    counts = {
        row["process_key"]: row
        for row in instances.values("process_key").annotate(
            started=Count("id"),
            completed=Count("id", filter=Q(status=InstanceStatus.COMPLETED)),
            running=Count("id", filter=Q(status=InstanceStatus.RUNNING)),
            cancelled=Count("id", filter=Q(status=InstanceStatus.CANCELLED)),
        )
    }
    durations: dict[str, list[float]] = defaultdict(list)
    for key, created, ended in instances.filter(status=InstanceStatus.COMPLETED).values_list(
        "process_key", "created_at", "ended_at"
    )[:SAMPLE_LIMIT]:
        if ended:
            durations[key].append((ended - created).total_seconds())
    processes = [
        {
            "process_key": key,
            "started": row["started"],
            "completed": row["completed"],
            "running": row["running"],
            "cancelled": row["cancelled"],
            "cycle_time": _summary(durations.get(key, [])),
        }
        for key, row in sorted(counts.items())
    ]

    now = timezone.now()
    task_times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, activity, created, completed in tasks.filter(status=TaskStatus.COMPLETED).values_list(
        "process_key", "activity_id", "created_at", "completed_at"
    )[:SAMPLE_LIMIT]:
        task_times[(key, activity)].append((completed - created).total_seconds())
    job_times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, activity, created, finished in jobs.filter(status=JobStatus.DONE).values_list(
        "instance__process_key", "activity_id", "created_at", "finished_at"
    )[:SAMPLE_LIMIT]:
        if finished:
            job_times[(key, activity)].append((finished - created).total_seconds())
    open_tasks = {
        (row["process_key"], row["activity_id"]): row
        for row in tasks.filter(status=TaskStatus.OPEN)
        .values("process_key", "activity_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
    }
    activities = []
    for (key, activity), times in [*task_times.items(), *job_times.items()]:
        waiting = open_tasks.get((key, activity), {})
        activities.append(
            {
                "process_key": key,
                "activity_id": activity,
                "kind": "user_task" if (key, activity) in task_times else "service_task",
                "duration": _summary(times),
                "open": waiting.get("open", 0),
                "overdue": waiting.get("overdue", 0),
            }
        )
    for (key, activity), row in open_tasks.items():
        if (key, activity) not in task_times:
            activities.append(
                {
                    "process_key": key,
                    "activity_id": activity,
                    "kind": "user_task",
                    "duration": _summary([]),
                    "open": row["open"],
                    "overdue": row["overdue"],
                }
            )
    # Bottlenecks first: the slowest typical step.
    activities.sort(key=lambda a: (a["duration"]["p95_s"] or 0, a["open"]), reverse=True)
    incidents = Incident.objects.filter(created_at__gte=since)
    if process_key:
        incidents = incidents.filter(instance__process_key=process_key)
    return {
        "since": since.isoformat(),
        "process_key": process_key or None,
        "processes": processes,
        "activities": activities,
        "incidents": {
            "open": incidents.filter(status=IncidentStatus.OPEN).count(),
            "total": incidents.count(),
        },
    }
