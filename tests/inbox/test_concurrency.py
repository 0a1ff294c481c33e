"""Two approvers click "approve" at the same moment (real threads, real connections, PostgreSQL):
exactly one succeeds, the other gets a clear 409, nothing is doubled."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict
from apps.engine.models import Job
from apps.inbox import services
from apps.inbox.models import HumanTask, TaskComment
from tests.inbox.conftest import open_task, start

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def race(*callables):
    """Run each callable in its own thread (own connection), released together."""
    barrier = threading.Barrier(len(callables))
    results: list = [None] * len(callables)

    def runner(index, fn):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", fn())
        except Exception as exc:  # collected for the assertions
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def approval(deploy_inbox, people, make_user):
    deploy_inbox("expense.bpmn")
    instance = start("expense_approval", people["requester"], amount=5000, description="Car")
    second = make_user("manager", username="boss2")
    return instance, open_task(instance), people["manager"], second


def test_two_approvers_at_once_in_the_service(approval):
    instance, task, first, second = approval

    def approve(user, comment):
        return services.task_complete(
            task_id=task.pk,
            user=user,
            data={"approved": True, "comment": comment},
            actor=Actor.for_user(user),
        )

    results = race(lambda: approve(first, "one"), lambda: approve(second, "two"))
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"]
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, Conflict)
    winner = next(value for kind, value in results if kind == "ok").completed_by
    assert error.message == f"Task {task.pk} is already completed by {winner.username}."
    task.refresh_from_db()
    assert task.status == "completed" and task.completed_by_id == winner.pk
    assert AuditEvent.objects.filter(action="task.approved", task_id=task.pk).count() == 1
    assert TaskComment.objects.filter(task=task).count() == 1
    assert Job.objects.filter(instance=instance, activity_id="notify_requester").count() == 1
    assert HumanTask.objects.filter(instance=instance).count() == 1


def test_two_approvers_at_once_over_http(approval):
    _, task, first, second = approval

    def post(user):
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            f"/api/v1/tasks/{task.pk}/complete/", {"data": {"approved": True}}, format="json"
        )
        return response.status_code, response.json()

    results = race(lambda: post(first), lambda: post(second))
    statuses = sorted(value[0] for _, value in results)
    assert statuses == [200, 409]
    loser = next(value[1] for _, value in results if value[0] == 409)
    assert loser["error"] == "task_not_open"
    assert AuditEvent.objects.filter(action="task.approved", task_id=task.pk).count() == 1
