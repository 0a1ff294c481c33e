"""The completed-task fact table (decision 017): written once per task as it completes, and the
per-activity figures read from it equal the ones computed from the inbox's own rows."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.common.actors import Actor
from apps.common.errors import Conflict
from apps.engine import services as engine
from apps.engine.models import Job, JobStatus
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.processes import services as process_services
from apps.reports.demo import report_demo_seed
from apps.reports.facts import (
    job_facts_sweep,
    task_facts_for_instance,
    task_facts_record,
    task_facts_sync,
)
from apps.reports.models import JobFact, TaskFact
from apps.reports.selectors import Period, activity_summary, heatmap
from apps.reports.tasks import refresh_snapshots
from tests.engine.conftest import run_jobs
from tests.reports import dataset as ds
from tests.reports.test_selectors import now, period, seeded  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
BPMN = Path(__file__).parent / "bpmn" / "expense_demo.bpmn"


def _both(**kwargs):
    return activity_summary(**kwargs), activity_summary(facts=False, **kwargs)


def test_fact_path_equals_the_live_computation_on_the_seeded_set(seeded, period, now):  # noqa: F811
    # given the hand-computed data set (8 completed tasks in the period, one before it;
    # three finished steps)
    assert (TaskFact.objects.count(), JobFact.objects.count()) == (9, 3)
    # when the figures come from the facts and from the inbox rows, then they are equal
    for kwargs in (
        {"period": period, "now": now},
        {"period": period, "now": now, "risk_hours": 1},
        {"period": period, "now": now, "process_key": "exp"},
        {"period": Period(since=now - timedelta(days=30), until=now), "now": now},
        {"period": Period(since=now - timedelta(days=1), until=now), "now": now},
    ):
        facts, live = _both(**kwargs)
        assert facts == live, kwargs
    version_id = ds.version_for("exp").pk
    facts, live = _both(period=period, now=now, version_id=version_id)
    assert facts == live
    # the heatmap sorts only the durations; its figures are the full computation's
    figures = {
        a["activity_id"]: a
        for a in heatmap(version_id=version_id, period=period, now=now)["activities"]
    }
    assert set(figures) == {a["activity_id"] for a in live}
    for a in live:
        assert figures[a["activity_id"]]["p95_s"] == a["duration"]["p95_s"]
        assert figures[a["activity_id"]]["mean_waiting_s"] == a["waiting"]["avg_s"]
        assert figures[a["activity_id"]]["count_waiting"] == a["open"]


def test_fact_path_equals_the_live_computation_on_the_demo_history():
    report_demo_seed()
    until = ds.fixed_now() + timedelta(hours=1)
    window = Period(since=until - timedelta(days=31), until=until)
    facts, live = _both(period=window, now=until)
    assert facts == live
    approval = next(a for a in facts if a["activity_id"] == "manager_approval")
    assert (approval["sla"]["met"], approval["sla"]["warned"], approval["sla"]["breached"]) == (
        60,
        10,
        30,
    )


@pytest.fixture
def version(db):
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def test_a_completion_writes_its_fact_once(version, make_user):
    # given an approval waiting in the inbox
    instance = engine.instance_start(version=version, variables={"amount": 5000}, actor=SYSTEM)
    task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    assert not TaskFact.objects.exists()
    approver = make_user("manager")
    # when it is completed through the inbox service
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
    )
    # then exactly one fact, with the task's own figures
    task.refresh_from_db()
    fact = TaskFact.objects.get()
    assert (fact.task_id, fact.instance_id, fact.version_id) == (task.pk, instance.pk, version.pk)
    assert (fact.process_key, fact.activity_id) == (task.process_key, "manager_approval")
    assert (fact.created_at, fact.completed_at) == (task.created_at, task.completed_at)
    expected = (task.completed_at - task.created_at).total_seconds()
    assert fact.duration == pytest.approx(expected, abs=0.001)
    assert fact.waiting + fact.working == pytest.approx(fact.duration, abs=0.001)
    assert fact.completed_by_id == approver.pk
    # and a second delivery of the same completion changes nothing
    with pytest.raises(Conflict):
        inbox.task_complete(
            task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
    task_facts_record(instance=instance, now=task.completed_at, actor=SYSTEM)
    assert task_facts_for_instance(instance) == 0
    assert task_facts_sync() == 0
    assert TaskFact.objects.count() == 1
    # when the worker finishes the next step, its job fact is written by the next sweep, once
    assert not JobFact.objects.exists()
    run_jobs(instance)
    job = Job.objects.get(instance=instance, activity_id="notify_requester")
    assert job.status == JobStatus.DONE
    assert not JobFact.objects.exists()  # not on the engine's hot path
    assert job_facts_sweep() == 1
    assert job_facts_sweep() == 0
    fact = JobFact.objects.get()
    assert (fact.job_id, fact.process_key, fact.activity_id) == (
        job.pk,
        instance.process_key,
        "notify_requester",
    )
    assert fact.duration == pytest.approx(
        (job.finished_at - job.created_at).total_seconds(), abs=0.001
    )
    run_jobs(instance)
    assert task_facts_sync() == 0
    assert (TaskFact.objects.count(), JobFact.objects.count()) == (1, 1)


def test_the_job_sweep_writes_only_recent_jobs_and_each_once(now, settings):  # noqa: F811
    settings.FLOWGATE_REPORTS_JOB_FACTS_WINDOW_SECONDS = 600
    inst = ds.instance("p", created=now - timedelta(hours=2))
    ds.job(inst, "recent", created=now - timedelta(minutes=3), started=now, finished=now)
    ds.job(inst, "old", created=now - timedelta(hours=2), finished=now - timedelta(hours=1))
    JobFact.objects.all().delete()
    assert job_facts_sweep(now=now) == 1
    assert list(JobFact.objects.values_list("activity_id", flat=True)) == ["recent"]
    assert job_facts_sweep(now=now) == 0
    assert task_facts_sync() == 1  # the catch-up still finds the older one


def test_a_worker_advance_writes_no_fact_on_the_hot_path(version, make_user):
    instance = engine.instance_start(version=version, variables={"amount": 5}, actor=SYSTEM)
    task_facts_record(instance=instance, now=timezone.now(), actor=SYSTEM, by_worker=True)
    assert not JobFact.objects.exists() and not TaskFact.objects.exists()


def test_a_failed_completion_leaves_no_fact(version, make_user):
    instance = engine.instance_start(version=version, variables={"amount": 5000}, actor=SYSTEM)
    task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    approver = make_user("manager")
    with pytest.raises(RuntimeError), transaction.atomic():
        inbox.task_complete(
            task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
        assert TaskFact.objects.count() == 1  # written inside the completion's transaction
        raise RuntimeError("the request failed after the completion")
    assert not TaskFact.objects.exists()


def test_sync_catches_up_rows_written_outside_the_services_once(now):  # noqa: F811
    inst = ds.instance("exp", created=now - timedelta(days=1))
    row = HumanTask.objects.create(
        instance=inst,
        task_id="imported",
        activity_id="approve",
        name="approve",
        process_key="exp",
        status=TaskStatus.COMPLETED,
    )
    HumanTask.objects.filter(pk=row.pk).update(
        created_at=now - timedelta(hours=5), completed_at=now - timedelta(hours=2)
    )
    assert task_facts_sync(since=now - timedelta(hours=1)) == 0  # completed before `since`
    assert task_facts_sync(since=now - timedelta(hours=3)) == 1
    assert task_facts_sync() == 0
    assert TaskFact.objects.get().duration == 3 * 3600
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFact.objects.create(
            task_id=row.pk,
            instance_id=inst.pk,
            version_id=inst.version_id,
            process_key="exp",
            activity_id="approve",
            created_at=now,
            completed_at=now,
            duration=0,
            waiting=0,
            working=0,
        )


def test_sync_command_reports_what_it_added(now):  # noqa: F811
    inst = ds.instance("exp", created=now - timedelta(days=1))
    ds.job(inst, "book", created=now - timedelta(hours=3), started=now, finished=now)
    JobFact.objects.all().delete()
    out = StringIO()
    call_command("report_facts_sync", "--hours", "24", stdout=out)
    assert "1 added" in out.getvalue()
    call_command("report_facts_sync", stdout=out)
    assert "0 added" in out.getvalue()
    fact = JobFact.objects.get()
    assert (fact.waiting, fact.working, fact.started) == (3 * 3600, 0, True)


def test_the_beat_task_catches_up_recent_rows_first(now, settings):  # noqa: F811
    settings.FLOWGATE_REPORTS_FACTS_CATCH_UP_HOURS = 2
    inst = ds.instance("exp", created=now - timedelta(days=1))
    ds.job(inst, "book", created=now - timedelta(hours=1), started=now, finished=now)
    ds.job(inst, "book", created=now - timedelta(hours=9), finished=now - timedelta(hours=8))
    JobFact.objects.all().delete()
    refresh_snapshots()
    assert list(JobFact.objects.values_list("finished_at", "started")) == [(now, True)]
