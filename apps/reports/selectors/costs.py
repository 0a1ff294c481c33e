"""Cost per process (issue 23, decision 039): what running a process costs in a period, from rows
Flowgate already keeps; no new bookkeeping.

Per process, over the service steps (jobs) created in the period, test runs left out:

- ``steps``: the steps (jobs) created; ``finished_steps``: those done (a ``JobFact`` each);
- ``connector_calls``: the calls actually made (``Job.attempts``: a deferred call, held back by a
  circuit or a limit, spends no attempt and is counted apart as ``deferred_calls``);
- ``worker_seconds``: the connector time of every attempt of the steps: the finishing attempt's
  (``JobFact.working``, started -> finished) plus the attempts that failed or were deferred
  (``Job.failed_attempts_seconds``, added up by the engine as each one ends; decision 039
  addendum), plus the attempts whose worker died (``Job.lost_attempts_seconds``: start -> lease
  expiry, timed when the sweeper or another worker reclaims the step; addendum 2), also given
  apart as ``lost_worker_seconds``;
- ``completed_instances``: instances of the process that completed in the period, and the three
  figures per completed instance (null when none completed);
- ``stored_bytes``: what the instances completed in the period keep in the database (their state
  and variables, audit payloads, task rows, comments, attachment metadata, step inputs;
  ``apps/reports/storage.py``), and ``stored_bytes_per_instance``, its average over the measured
  ones (``measured_instances``). Measures stored by the report refresh are summed; instances
  completed since the last refresh are measured here, at most ``LIVE_MEASURE_LIMIT`` of them.

Four grouped queries and one look-up of unmeasured instances, whatever the number of processes
(six more when some completed since the last refresh).
"""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from apps.engine.models import InstanceStatus, Job, ProcessInstance
from apps.reports.models import InstanceStorage, JobFact
from apps.reports.selectors.common import Period
from apps.reports.storage import instances_measure, measured

#: Instances completed since the last refresh that a report measures itself (the rest wait for
#: the refresh; the average per instance is over the measured ones).
LIVE_MEASURE_LIMIT = 500


def _per(total: float, count: int) -> float | None:
    return round(total / count, 3) if count else None


def process_costs(*, period: Period, process_key: str = "") -> list[dict]:
    """One row per process with steps in the period (or completions), by process key."""
    in_period = Q(created_at__gte=period.since, created_at__lt=period.until)
    jobs = Job.objects.filter(in_period, instance__is_test_run=False)
    facts = JobFact.objects.filter(in_period).exclude(
        instance_id__in=ProcessInstance.objects.filter(is_test_run=True).values("id")
    )
    completed = ProcessInstance.objects.filter(
        status=InstanceStatus.COMPLETED,
        is_test_run=False,
        ended_at__gte=period.since,
        ended_at__lt=period.until,
    )
    if process_key:
        jobs = jobs.filter(instance__process_key=process_key)
        facts = facts.filter(process_key=process_key)
        completed = completed.filter(process_key=process_key)
    stored = InstanceStorage.objects.filter(ended_at__gte=period.since, ended_at__lt=period.until)
    if process_key:
        stored = stored.filter(process_key=process_key)
    rows: dict[str, dict] = {}

    def row(key: str) -> dict:
        return rows.setdefault(
            key,
            {
                "process_key": key,
                "steps": 0,
                "finished_steps": 0,
                "connector_calls": 0,
                "deferred_calls": 0,
                "worker_seconds": 0.0,
                "lost_worker_seconds": 0.0,
                "completed_instances": 0,
                "stored_bytes": 0,
                "measured_instances": 0,
            },
        )

    for job_sum in jobs.values("instance__process_key").annotate(
        n=Count("id"),
        calls=Sum("attempts"),
        deferred=Sum("deferrals"),
        unfinished=Sum("failed_attempts_seconds"),
        lost=Sum("lost_attempts_seconds"),
    ):
        lost = float(job_sum["lost"] or 0)
        row(job_sum["instance__process_key"]).update(
            steps=job_sum["n"],
            connector_calls=job_sum["calls"] or 0,
            deferred_calls=job_sum["deferred"] or 0,
            worker_seconds=float(job_sum["unfinished"] or 0) + lost,
            lost_worker_seconds=round(lost, 3),
        )
    for fact_sum in facts.values("process_key").annotate(n=Count("id"), working=Sum("working")):
        item = row(fact_sum["process_key"])
        item["finished_steps"] = fact_sum["n"]
        item["worker_seconds"] += float(fact_sum["working"] or 0)
    for done in completed.values("process_key").annotate(n=Count("id")):
        row(done["process_key"])["completed_instances"] = done["n"]
    for kept in stored.order_by().values("process_key").annotate(n=Count("pk"), b=Sum("bytes")):
        item = row(kept["process_key"])
        item["stored_bytes"] += int(kept["b"] or 0)
        item["measured_instances"] += kept["n"]
    fresh = completed.filter(~measured())
    for measure in instances_measure(
        fresh.order_by("pk").values_list("pk", flat=True)[:LIVE_MEASURE_LIMIT]
    ).values():
        item = row(measure["process_key"])
        item["stored_bytes"] += measure["bytes"]
        item["measured_instances"] += 1
    for item in rows.values():
        item["worker_seconds"] = round(item["worker_seconds"], 3)
        done = item["completed_instances"]
        item["steps_per_instance"] = _per(item["steps"], done)
        item["calls_per_instance"] = _per(item["connector_calls"], done)
        item["worker_seconds_per_instance"] = _per(item["worker_seconds"], done)
        item["stored_bytes_per_instance"] = _per(item["stored_bytes"], item["measured_instances"])
    return [rows[key] for key in sorted(rows)]
