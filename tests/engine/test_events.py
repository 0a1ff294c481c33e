"""Timers, messages, business errors and timer starts through the durable runtime."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import NotFound, Unprocessable
from apps.connectors.base import BusinessError
from apps.engine import services
from apps.engine.models import (
    InstanceStatus,
    JobStatus,
    MessageSubscription,
    ProcessInstance,
    StartSchedule,
    Timer,
)
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
CORE_BPMN = Path(__file__).resolve().parents[1] / "engine_core" / "bpmn"


def payments(inputs, context):
    raise BusinessError("CARD_DECLINED", "card declined by the bank")


def report(inputs, context):
    return {"reported": True}


@pytest.fixture(autouse=True)
def _event_connectors(local_connectors):
    local_connectors({"payments": payments, "report": report})


def deploy_core(name: str):
    result = process_services.version_deploy(xml=(CORE_BPMN / name).read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def test_a_timer_is_a_row_and_fires_once_when_due():
    version = deploy_core("timer_intermediate.bpmn")
    wake_at = (timezone.now() + timedelta(hours=2)).isoformat()
    instance = services.instance_start(
        version=version, variables={"wake_at": wake_at}, actor=SYSTEM
    )
    timer = Timer.objects.get(instance=instance, fired_at__isnull=True)
    assert timer.activity_id == "cool_off"
    assert timedelta(minutes=29) < timer.due_at - timezone.now() <= timedelta(minutes=30)
    assert services.timers_fire_due() == 0  # not due yet
    later = timezone.now() + timedelta(minutes=31)
    assert services.timers_fire_due(now=later) == 1
    assert services.timers_fire_due(now=later) == 0  # fired exactly once
    waiting = Timer.objects.get(instance=instance, fired_at__isnull=True, cancelled=False)
    assert waiting.activity_id == "until_date"
    assert services.timers_fire_due(now=timezone.now() + timedelta(hours=3)) == 1
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert (
        AuditEvent.objects.filter(instance_id=instance.pk, action=AuditAction.TIMER_FIRED).count()
        == 2
    )


def test_messages_start_and_correlate_by_key():
    deploy_core("messages.bpmn")
    started = services.message_correlate(
        name="order_placed", correlation_key="A1", variables={"order_id": "A1"}, actor=SYSTEM
    )
    assert len(started) == 1
    instance = started[0]
    assert instance.business_key == "A1"
    assert list(
        MessageSubscription.objects.filter(instance=instance).values_list(
            "message_name", "correlation_key"
        )
    ) == [("order_shipped", "A1")]
    with pytest.raises(NotFound):
        services.message_correlate(name="order_shipped", correlation_key="B2", actor=SYSTEM)
    services.message_correlate(name="order_shipped", correlation_key="A1", actor=SYSTEM)
    subs = set(
        MessageSubscription.objects.filter(instance=instance).values_list(
            "message_name", "correlation_key"
        )
    )
    assert subs == {("invoice_paid", "INV-A1"), ("order_cancelled", "A1")}
    services.message_correlate(
        name="invoice_paid", correlation_key="INV-A1", variables={"paid": 10}, actor=SYSTEM
    )
    instance.refresh_from_db()
    assert (instance.status, instance.variables["paid"]) == (InstanceStatus.COMPLETED, 10)
    assert not MessageSubscription.objects.filter(instance=instance).exists()


def test_a_message_start_whose_next_wait_cannot_read_its_key_is_refused_and_creates_nothing(
    make_user,
):
    # the process waits next on a message keyed by `order_id`; a start without it used to be a 500
    deploy_core("messages.bpmn")
    with pytest.raises(Unprocessable) as refused:
        services.message_correlate(name="order_placed", variables={}, actor=SYSTEM)
    assert (refused.value.code, refused.value.message) == (
        "process_stuck",
        "The process could not continue with this data: Expression 'order_id' failed: unknown "
        "variable 'order_id'",
    )
    assert not ProcessInstance.objects.exists()
    assert not MessageSubscription.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.INSTANCE_STARTED).exists()
    client = APIClient()
    client.force_authenticate(make_user("approver"))
    response = client.post("/api/v1/messages/", {"name": "order_placed"}, format="json")
    assert (response.status_code, response.json()["error"]) == (422, "process_stuck")
    assert not ProcessInstance.objects.exists()


def test_a_business_error_routes_to_the_error_boundary_event():
    version = deploy_core("errors.bpmn")
    instance = services.instance_start(version=version, variables={"amount": 10}, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    assert "CARD_DECLINED" in job.last_error
    assert list(
        HumanTask.objects.filter(instance=instance).values_list("activity_id", flat=True)
    ) == ["fix_payment"]
    assert not instance.incidents.exists()


def test_unknown_connectors_are_reported_at_deploy():
    xml = (CORE_BPMN / "errors.bpmn").read_bytes().replace(b'"payments"', b'"no_such_connector"')
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed is False
    assert [p["code"] for p in result.version.problems] == ["unknown_connector"]
    assert (
        "No connector is registered as 'no_such_connector'" in result.version.problems[0]["message"]
    )


def test_timer_start_events_become_schedules_that_start_instances():
    version = deploy_core("timer_start.bpmn")
    schedules = {s.event_id: s for s in StartSchedule.objects.filter(version=version)}
    assert set(schedules) == {"nightly", "once", "every_hour"}
    assert schedules["once"].next_due_at.isoformat() == "2030-01-31T09:00:00+00:00"
    assert (schedules["nightly"].next_due_at.hour, schedules["nightly"].next_due_at.minute) == (
        2,
        0,
    )
    hourly = schedules["every_hour"]
    due = hourly.next_due_at
    # Only the hourly schedule takes part below (the nightly one may fall due within the hour).
    StartSchedule.objects.filter(version=version).exclude(event_id="every_hour").update(
        active=False
    )
    assert services.start_schedules_fire_due(now=due) == 1
    hourly.refresh_from_db()
    assert hourly.next_due_at == due + timedelta(hours=1)
    started = ProcessInstance.objects.get(version=version)
    run_jobs(started)
    started.refresh_from_db()
    assert (started.status, started.variables["reported"]) == (InstanceStatus.COMPLETED, True)
