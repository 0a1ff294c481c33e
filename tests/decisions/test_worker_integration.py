"""Business rule tasks on a real Celery worker against real PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.processes.decisions import dmn_deploy
from apps.processes.services import version_deploy
from tests.engine_core.dmn.support import dmn_file
from tests.support.worker import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("test")
ROUTING = (Path(__file__).parent / "bpmn" / "purchase_routing.bpmn").read_bytes()
CASES = [(500, "US", "cfo"), (500, "DE", "team_lead"), (5000, "FR", "manager")]


def test_a_real_worker_runs_business_rule_tasks():
    from portal.celery import app

    app.control.purge()
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    version = version_deploy(xml=ROUTING, actor=SYSTEM).version
    worker = WorkerProcess(concurrency=1, name="decisions").start()
    try:
        ids = [
            services.instance_start(
                version=version, variables={"amount": amount, "country": country}, actor=SYSTEM
            ).pk
            for amount, country, _ in CASES
        ]
        wait_until(
            lambda: (
                ProcessInstance.objects.filter(pk__in=ids, status=InstanceStatus.COMPLETED).count()
                == len(ids)
            ),
            timeout=90,
            message="the instances to complete",
        )
    finally:
        worker.stop()
    for pk, (_, _, approver) in zip(ids, CASES, strict=True):
        assert ProcessInstance.objects.get(pk=pk).variables["routing"]["approver"] == approver
        assert AuditEvent.objects.filter(action="decision.evaluated", instance_id=pk).count() == 1
