"""``decision.evaluated`` is part of the step's transaction (decision 036): written with the
business rule task's result, or not at all when that step is rolled back or its lease was lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, Job, JobStatus
from apps.engine.runtime import jobs as runtime_jobs
from apps.processes.decisions import dmn_deploy
from apps.processes.services import version_deploy
from tests.engine.conftest import run_jobs
from tests.engine_core.dmn.support import dmn_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
ROUTING = (Path(__file__).parent / "bpmn" / "purchase_routing.bpmn").read_bytes()


def _waiting_job():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    version = version_deploy(xml=ROUTING, actor=SYSTEM).version
    instance = services.instance_start(
        version=version, variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    return instance, instance.jobs.get()


def _evaluations(instance) -> int:
    return AuditEvent.objects.filter(action="decision.evaluated", instance_id=instance.pk).count()


def test_a_step_whose_write_fails_rolls_back_its_evaluation_event(monkeypatch):
    # given a business rule task whose result cannot be written (the database refuses)
    instance, job = _waiting_job()

    def refuse(*args, **kwargs):
        raise RuntimeError("the write failed")

    monkeypatch.setattr(runtime_jobs, "persist_job_result", refuse)
    claimed = runtime_jobs.job_claim(job_id=job.pk, worker_id="w1")
    # when the worker runs it
    with pytest.raises(RuntimeError, match="the write failed"):
        runtime_jobs.job_execute(claimed, worker_id="w1")
    # then the evaluation left nothing: no event, no result, the job still the worker's
    assert _evaluations(instance) == 0
    instance.refresh_from_db()
    assert "routing" not in instance.variables
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    # and run again (the lease expired, another worker took it) it is recorded once, with it
    monkeypatch.undo()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.PENDING, lease_expires_at=None)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert _evaluations(instance) == 1


def test_a_step_whose_lease_was_lost_leaves_no_evaluation_event():
    instance, job = _waiting_job()
    claimed = runtime_jobs.job_claim(job_id=job.pk, worker_id="w1")
    context = runtime_jobs.job_context(claimed)
    result = runtime_jobs.execute_connector(claimed, context)
    assert [action for action, _ in context.audit_events] == ["decision.evaluated"]
    # meanwhile another worker took the job over (our lease expired)
    Job.objects.filter(pk=job.pk).update(locked_by="w2")
    created = runtime_jobs.job_complete(
        claimed, worker_id="w1", result=result, audit_events=context.audit_events
    )
    assert created == []
    assert _evaluations(instance) == 0
    instance.refresh_from_db()
    assert "routing" not in instance.variables


def test_the_event_is_written_with_the_result_it_explains():
    instance, job = _waiting_job()
    run_jobs(instance)
    events = list(
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("position")
        .values_list("action", "job_id")
    )
    evaluated = events.index(("decision.evaluated", job.pk))
    assert events[evaluated + 1] == ("job.succeeded", job.pk)
