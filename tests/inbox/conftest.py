from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.engine.conftest import deploy, run_jobs  # noqa: F401 - shared fixtures

BPMN = Path(__file__).parent / "bpmn"


@pytest.fixture
def deploy_inbox(db):
    """Deploy one of tests/inbox/bpmn/*.bpmn; returns the version."""

    def _deploy(name: str):
        result = process_services.version_deploy(
            xml=(BPMN / name).read_bytes(), actor=Actor.system("test")
        )
        assert result.deployed, result.version.problems
        return result.version

    return _deploy


@pytest.fixture
def people(make_user):
    """The demo cast: a requester, two approvers, a manager, an outsider (a role with no part in
    these processes) and an auditor (reads everything, changes nothing)."""
    return {
        "requester": make_user("approver", username="requester"),
        "approver": make_user("approver", username="approver1"),
        "approver2": make_user("approver", username="approver2"),
        "manager": make_user("manager", "approver", username="boss"),
        "outsider": make_user("designer", username="outsider"),
        "auditor": make_user("auditor", username="auditor1"),
    }


def start(process_key: str, user, **variables):
    return engine.instance_start(
        process_key=process_key, variables=variables, actor=Actor.for_user(user), started_by=user
    )


def open_task(instance, activity_id: str | None = None) -> HumanTask:
    qs = HumanTask.objects.filter(instance=instance, status="open")
    if activity_id:
        qs = qs.filter(activity_id=activity_id)
    return qs.get()
