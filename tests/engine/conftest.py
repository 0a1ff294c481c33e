from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.processes import services as process_services

BPMN_DIR = Path(__file__).parent / "bpmn"


def bpmn(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


@pytest.fixture
def deploy(db):
    def _deploy(name: str, *, user=None):
        result = process_services.version_deploy(
            xml=bpmn(name), actor=Actor.system("test"), user=user
        )
        assert result.deployed, result.version.problems
        return result.version

    return _deploy


def run_jobs(instance, *, worker_id: str = "test-worker", max_rounds: int = 50) -> int:
    """Run every due job of ``instance`` in-process, as a worker would (without a broker)."""
    from apps.engine import services
    from apps.engine.models import Job, JobStatus

    executed = 0
    for _ in range(max_rounds):
        pending = list(
            Job.objects.filter(instance=instance, status=JobStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if not pending:
            break
        for job_id in pending:
            executed += services.job_run(job_id=job_id, worker_id=worker_id)
    return executed


@pytest.fixture
def test_connectors():
    """The recording test connectors (tests/support/connectors.py), for this test only."""
    from tests.support import connectors

    names = connectors.register_all()
    yield connectors
    connectors.unregister_all(names)


@pytest.fixture
def local_connectors():
    """Register ``{name: function}`` connectors for one test; removed afterwards."""
    from tests.support import connectors

    registered: list[str] = []

    def add(functions: dict, *, chainable: bool = False) -> None:
        registered.extend(connectors.register_all(functions, chainable=chainable))

    yield add
    connectors.unregister_all(registered)
