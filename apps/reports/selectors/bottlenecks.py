# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""The bottleneck heatmap of one process version, and the slowest instances at one of its
activities (the heatmap's drill-down)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F
from django.utils import timezone

from apps.engine.models import Job, JobStatus
from apps.inbox.models import HumanTask, TaskStatus
from apps.reports.models import JobFact, TaskFact
from apps.reports.selectors.activities import activity_summary
from apps.reports.selectors.common import Period
from apps.reports.sql import fetch, seconds_between


def heatmap(*, version_id: int, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Per activity of one version: p95 duration, mean waiting time, count waiting now."""
    # Only the duration's percentiles: waiting needs its mean, working nothing (one sort, not 3).
    rows = activity_summary(period=period, version_id=version_id, now=now, measures=("duration",))
    activities = [
        {
            "activity_id": a["activity_id"],
            "kind": a["kind"],
            "completed": a["completed"],
            "p95_s": a["duration"]["p95_s"],
            "mean_waiting_s": a["waiting"]["avg_s"],
            "count_waiting": a["open"],
            "breached_rate": a["sla"]["breached_rate"],
        }
        for a in rows
    ]
    activities.sort(key=lambda a: a["activity_id"])
    return {"version_id": version_id, "activities": activities}


BUSIEST_SAMPLE = 2000


def busiest_version_id(*, version_ids: list[int], period: Period) -> int | None:
    """Of the given versions, the one with the most steps among the period's newest
    BUSIEST_SAMPLE completed tasks and service steps (each), else the most open tasks and steps
    now: the heatmap's default, so it does not open on a process without data. None when none
    of them has any. A sample, not the period: counting a month of facts on every visit cost
    more than the page (120 ms of 130 on the benchmark's million tasks)."""
    counts: dict[int, int] = {}
    in_period = {"created_at__gte": period.since, "created_at__lt": period.until}
    for model in (TaskFact, JobFact):
        newest = (
            model.objects.filter(version_id__in=version_ids, **in_period)
            .order_by("-created_at")
            .values_list("id", flat=True)[:BUSIEST_SAMPLE]
        )
        for row in model.objects.filter(id__in=newest).values("version_id").annotate(n=Count("id")):
            counts[row["version_id"]] = counts.get(row["version_id"], 0) + row["n"]
    if not counts:
        for rows in (
            HumanTask.objects.filter(
                instance__version_id__in=version_ids, status=TaskStatus.OPEN
            ).values(version_id=F("instance__version_id")),
            Job.objects.filter(
                instance__version_id__in=version_ids,
                instance__is_test_run=False,
                status__in=(JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT),
            ).values(version_id=F("instance__version_id")),
        ):
            for row in rows.annotate(n=Count("id")):
                counts[row["version_id"]] = counts.get(row["version_id"], 0) + row["n"]
    if not counts:
        return None
    # the most steps; on a tie the first of version_ids (the page's own order)
    return max(version_ids, key=lambda v: (counts.get(v, 0), -version_ids.index(v)))


def slowest_instances(
    *, version_id: int, activity_id: str, now: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """The instances that spent (or are spending) longest at ``activity_id`` of a version:
    completed tasks/steps by duration and open ones by age, slowest first."""
    sql = f"""
        SELECT instance_id, business_key, duration, is_open FROM (
            SELECT t.instance_id AS instance_id, i.business_key AS business_key,
                   CASE WHEN t.status = 'open'
                        THEN {seconds_between("t.created_at", "%(now)s")}
                        ELSE {seconds_between("t.created_at", "t.completed_at")} END AS duration,
                   CASE WHEN t.status = 'open' THEN 1 ELSE 0 END AS is_open
            FROM inbox_humantask t JOIN engine_processinstance i ON i.id = t.instance_id
            WHERE i.version_id = %(version_id)s AND t.activity_id = %(activity_id)s
              AND t.status IN ('open', 'completed')
            UNION ALL
            SELECT j.instance_id, i.business_key,
                   CASE WHEN j.finished_at IS NULL
                        THEN {seconds_between("j.created_at", "%(now)s")}
                        ELSE {seconds_between("j.created_at", "j.finished_at")} END,
                   CASE WHEN j.finished_at IS NULL THEN 1 ELSE 0 END
            FROM engine_job j JOIN engine_processinstance i ON i.id = j.instance_id
            WHERE i.version_id = %(version_id)s AND j.activity_id = %(activity_id)s
              AND j.status <> 'cancelled' AND NOT i.is_test_run
        ) AS x ORDER BY duration DESC, instance_id LIMIT %(limit)s"""
    rows = fetch(
        sql,
        {
            "now": now or timezone.now(),
            "version_id": version_id,
            "activity_id": activity_id,
            "limit": int(limit),
        },
    )
    return [
        {
            "instance_id": r["instance_id"],
            "business_key": r["business_key"],
            "duration_s": round(float(r["duration"]), 3),
            "open": bool(r["is_open"]),
        }
        for r in rows
    ]
