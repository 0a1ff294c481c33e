"""Compensation invariants: a saga's compensation passes; an activation undone twice, or a
finished compensation that left a completed activation behind, is reported."""

from __future__ import annotations

import json

import pytest

from apps.audit.actions import AuditAction
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from apps.connectors.base import BusinessError, ConnectorError
from apps.engine import services as engine
from apps.engine.models import InstanceStatus, Job, ProcessInstance
from apps.invariants.checks import run_checks
from apps.processes.services import version_deploy
from tests.engine.conftest import bpmn, run_jobs
from tests.support import connectors

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def _own_anchor_file(tmp_path, settings):
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")


@pytest.fixture
def compensated():
    def charge(inputs, context):
        raise BusinessError("CHARGE_FAILED", "declined")

    names = connectors.register_all(
        {
            "book_hotel": lambda i, c: {"hotel_booking": "H"},
            "book_flight": lambda i, c: {"flight_booking": "F"},
            "charge": charge,
            "cancel_hotel": lambda i, c: {},
            "cancel_flight": lambda i, c: {},
        }
    )
    result = version_deploy(xml=bpmn("trip_saga.bpmn"), actor=SYSTEM)
    instance = engine.instance_start(version=result.version, variables={"trip": "T"}, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    yield instance
    connectors.unregister_all(names)


def _messages(check: str) -> list[str]:
    return [v.message for v in run_checks(only=[check]).violations]


def test_a_saga_compensation_passes_every_check(compensated):
    chain_link_pending()
    assert [str(v) for v in run_checks().violations] == []


def test_an_activation_compensated_twice_is_reported(compensated):
    state = json.loads(compensated.state)
    activation = state["wf"]["data"]["fg_compensation"]["activations"][0]
    record(
        AuditAction.COMPENSATION_HANDLER,
        instance=compensated,
        actor=SYSTEM,
        data={"activation": activation["id"], "activity_id": activation["activity"]},
    )
    assert _messages("compensated_once") == [
        f"instance {compensated.pk}: activation {activation['id']} was compensated 2 times"
    ]


def test_a_finished_compensation_that_left_work_behind_is_reported(compensated):
    state = json.loads(compensated.state)
    activation = state["wf"]["data"]["fg_compensation"]["activations"][0]
    activation["state"] = "completed"
    ProcessInstance.objects.filter(pk=compensated.pk).update(state=json.dumps(state))
    assert _messages("compensation_complete") == [
        f"instance {compensated.pk}: compensation UndoBookings finished but BookHotel "
        f"(activation {activation['id']}) is still completed"
    ]


def test_a_cancel_with_compensation_passes_every_check(compensated):
    def flight_down(inputs, context):
        raise ConnectorError("flight API down", permanent=False)

    connectors.unregister_all(["book_flight"])
    connectors.register_all({"book_flight": flight_down})
    instance = engine.instance_start(
        version=compensated.version, variables={"trip": "U"}, actor=SYSTEM
    )
    [hotel] = Job.objects.filter(instance=instance, activity_id="BookHotel")
    engine.job_run(job_id=hotel.pk, worker_id="w")
    engine.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    chain_link_pending()
    assert [str(v) for v in run_checks().violations] == []
