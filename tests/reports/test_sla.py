from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import ProcessInstance
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask
from apps.reports.selectors import sla_report
from tests.api.test_engine_api import client_for
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _approve(instance, approver, *, took: timedelta, approved: bool = True):
    task = HumanTask.objects.get(instance=instance)
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": approved}, actor=Actor.for_user(approver)
    )
    done = HumanTask.objects.get(pk=task.pk)
    HumanTask.objects.filter(pk=task.pk).update(created_at=done.completed_at - took)


def test_sla_report_measures_cycle_times_step_durations_and_backlog(deploy, make_user):
    version = deploy("approval.bpmn")
    approver = make_user("approver")
    first, second, waiting = (
        services.instance_start(version=version, variables={"amount": n}, actor=SYSTEM)
        for n in (1, 2, 3)
    )
    _approve(first, approver, took=timedelta(seconds=60))
    _approve(second, approver, took=timedelta(seconds=180), approved=False)
    run_jobs(first)
    for instance, seconds in ((first, 600), (second, 1200)):
        ended = ProcessInstance.objects.get(pk=instance.pk).ended_at
        ProcessInstance.objects.filter(pk=instance.pk).update(
            created_at=ended - timedelta(seconds=seconds)
        )
    HumanTask.objects.filter(instance=waiting).update(due_at=timezone.now() - timedelta(hours=1))

    report = sla_report(process_key="expense_approval")
    [process] = report["processes"]
    assert (process["started"], process["completed"], process["running"]) == (3, 2, 1)
    assert (process["cycle_time"]["p50_s"], process["cycle_time"]["max_s"]) == (600.0, 1200.0)
    review = next(a for a in report["activities"] if a["activity_id"] == "review")
    assert review["kind"] == "user_task"
    assert (
        review["duration"]["count"],
        review["duration"]["avg_s"],
        review["duration"]["max_s"],
    ) == (2, 120.0, 180.0)
    assert (review["open"], review["overdue"]) == (1, 1)
    book = next(a for a in report["activities"] if a["activity_id"] == "book")
    assert (book["kind"], book["duration"]["count"]) == ("service_task", 1)
    assert report["activities"][0]["activity_id"] == "review"  # the bottleneck comes first


def test_sla_api_is_for_auditors_managers_and_admins(make_user):
    assert client_for(make_user("approver")).get("/api/v1/reports/sla/").status_code == 403
    ok = client_for(make_user("auditor")).get("/api/v1/reports/sla/")
    assert ok.status_code == 200 and ok.json()["processes"] == []
    bad = client_for(make_user("manager")).get("/api/v1/reports/sla/?since=yesterday")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_filter"


def test_sla_page_renders_for_auditors(client, make_user):
    client.force_login(make_user("auditor"))
    response = client.get("/admin-reports/sla/")
    assert response.status_code == 200
    assert b"No instances in this period" in response.content
    client.force_login(make_user("approver"))
    assert client.get("/admin-reports/sla/").status_code == 403
