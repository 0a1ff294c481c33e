"""A designer's test run is isolated: its user tasks reach no inbox and notify nobody, and it is
left out of My requests, the reports, SLOs, SLIs and /metrics. What marks it is
``ProcessInstance.is_test_run``, set only by the test run service: a requester who picks the
business key "designer test run" starts an ordinary instance, which the test panel cannot
reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.common.errors import NotFound
from apps.designer import selectors as designer_selectors
from apps.designer import testrun
from apps.engine import services as engine
from apps.inbox import selectors as inbox_selectors
from apps.inbox.models import HumanTask
from apps.processes import gallery
from apps.processes.services import version_deploy
from apps.reports import metrics
from apps.reports.facts import task_facts_sync
from apps.reports.models import JobFact
from apps.reports.selectors import Period, process_summary
from apps.reports.services import slo_set
from apps.reports.slo import slis, slo_status

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
LARGE = {"amount": 5000, "description": "laptop"}


@pytest.fixture
def expense():
    cache.clear()
    return version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=SYSTEM
    ).version


def _started(text: str) -> str:
    return next(
        line
        for line in text.splitlines()
        if line.startswith('flowgate_instances_started_total{process_key="expense_approval"}')
    )


def test_a_test_run_reaches_no_inbox_report_metric_or_request_list(
    expense, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    designer = make_user("designer", email="d@example.com")
    manager = make_user("manager", email="m@example.com")
    slo_set(process_key="expense_approval", objective_percent=90, target_seconds=60, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        run = testrun.testrun_start(
            version=expense, variables=LARGE, stubs={}, actor=SYSTEM, user=designer
        )
    assert run.is_test_run is True
    assert testrun.trace_of(run, expense.xml).as_dict()["waiting"] == ["manager_approval"]
    assert HumanTask.objects.count() == 0  # no inbox task, so nobody is notified either
    assert list(inbox_selectors.tasks_visible(user=manager)) == []
    assert mailoutbox == []
    # The designer finishes it from the panel; its steps are no facts for the reports.
    with django_capture_on_commit_callbacks(execute=True):
        testrun.testrun_complete_task(
            instance_id=run.pk,
            activity_id="manager_approval",
            data={},
            approved=True,
            stubs={},
            actor=SYSTEM,
        )

    # An ordinary request of the same process, for comparison: it counts everywhere.
    with django_capture_on_commit_callbacks(execute=True):
        real = engine.instance_start(
            version=expense, variables=LARGE, actor=SYSTEM, started_by=designer
        )
    [task] = HumanTask.objects.all()
    assert task.instance_id == real.pk
    assert [t.pk for t in inbox_selectors.tasks_visible(user=manager)] == [task.pk]

    assert [i.pk for i in inbox_selectors.my_requests(user=designer)] == [real.pk]
    assert designer_selectors.open_instance_counts(keys=["expense_approval"]) == {
        "expense_approval": 1
    }
    with pytest.raises(NotFound):
        inbox_selectors.request_get(user=designer, instance_id=run.pk)
    now = timezone.now()
    period = Period(since=now - timedelta(hours=1), until=now + timedelta(minutes=1))
    [summary] = process_summary(period=period)
    assert (summary["started"], summary["completed"], summary["running"]) == (1, 0, 1)
    [sli] = slis(period_since=period.since, period_until=period.until)
    assert sli["instances"] == 1
    task_facts_sync()
    assert set(JobFact.objects.values_list("instance_id", flat=True)) <= {real.pk}
    [slo] = slo_status(now=now + timedelta(minutes=5))
    assert slo["judged"] == 1  # the real request, running past its target; not the test run
    assert _started(metrics.exposition().decode()).endswith(" 1.0")


def test_a_business_key_does_not_make_a_test_run(expense, make_user):
    """The business key used to be the mark: any requester could choose it, and the test panel
    then completed that instance's manager approval."""
    designer = make_user("designer")
    instance = engine.instance_start(
        version=expense,
        variables=LARGE,
        business_key=testrun.TEST_RUN_KEY,
        actor=SYSTEM,
        started_by=make_user("requester"),
    )
    assert instance.is_test_run is False
    assert HumanTask.objects.filter(instance=instance).count() == 1
    client = APIClient()
    client.force_authenticate(designer)
    assert client.get(f"/api/v1/test-runs/{instance.pk}/").status_code == 404
    refused = client.post(
        f"/api/v1/test-runs/{instance.pk}/tasks/manager_approval/complete/",
        {"approved": True},
        format="json",
    )
    assert refused.status_code == 404
    instance.refresh_from_db()
    assert instance.status == "running"
    assert HumanTask.objects.get(instance=instance).status == "open"


def test_a_test_run_is_seen_by_the_designer_who_started_it_and_admins(expense, make_user):
    owner, other, admin = make_user("designer"), make_user("designer"), make_user("admin")
    client = APIClient()
    client.force_authenticate(owner)
    started = client.post(
        "/api/v1/processes/expense_approval/test-runs/",
        {"variables": LARGE, "stubs": {}},
        format="json",
    )
    run_id = started.json()["instance_id"]
    assert client.get(f"/api/v1/test-runs/{run_id}/").status_code == 200
    client.force_authenticate(other)
    assert client.get(f"/api/v1/test-runs/{run_id}/").status_code == 404
    client.force_authenticate(admin)
    assert client.get(f"/api/v1/test-runs/{run_id}/").status_code == 200
