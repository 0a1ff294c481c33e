"""Bulk status updates go through the tables: only rows that may take the step move."""

from __future__ import annotations

from django.utils import timezone

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import (
    INCIDENT_TRANSITIONS,
    JOB_TRANSITIONS,
    Incident,
    IncidentStatus,
    Job,
    JobStatus,
)

SYSTEM = Actor.system("test")


def test_bulk_update_moves_only_rows_that_may_take_the_step(deploy):
    # given an instance with one pending job, and a second one already done
    version = deploy("bench_auto.bpmn")
    instance = services.instance_start(version=version, variables={"n": 7}, actor=SYSTEM)
    pending = Job.objects.get(instance=instance)
    done = Job.objects.create(
        instance=instance,
        task_id="other",
        activity_id="other",
        connector="noop",
        status=JobStatus.DONE,
        run_after=timezone.now(),
    )
    # when both are asked to become running
    moved = JOB_TRANSITIONS.update(Job.objects.filter(instance=instance), JobStatus.RUNNING)
    # then only the pending one runs: done -> running is not in the table
    assert moved == 1
    assert dict(Job.objects.filter(instance=instance).values_list("pk", "status")) == {
        pending.pk: JobStatus.RUNNING,
        done.pk: JobStatus.DONE,
    }


def test_bulk_incident_update_leaves_closed_incidents(deploy):
    version = deploy("bench_auto.bpmn")
    instance = services.instance_start(version=version, variables={"n": 7}, actor=SYSTEM)
    open_one = Incident.objects.create(instance=instance, activity_id="a", message="m")
    retried = Incident.objects.create(
        instance=instance, activity_id="a", message="m", status=IncidentStatus.RETRIED
    )
    now = timezone.now()
    moved = INCIDENT_TRANSITIONS.update(
        Incident.objects.filter(instance=instance), IncidentStatus.RESOLVED, resolved_at=now
    )
    assert moved == 1
    assert dict(Incident.objects.filter(instance=instance).values_list("pk", "status")) == {
        open_one.pk: IncidentStatus.RESOLVED,
        retried.pk: IncidentStatus.RETRIED,
    }
