"""The console's cancel with compensation: the box on the instance page, the same operator check
as cancel, the completed booking undone before the instance ends cancelled."""

from __future__ import annotations

import pytest

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.connectors.base import ConnectorError
from apps.engine import services as engine
from apps.engine.models import Job, ProcessInstance
from apps.processes import services as process_services
from tests.engine.conftest import bpmn, run_jobs
from tests.support import connectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def saga_half_done():
    calls: list[str] = []

    def flight_down(inputs, context):
        raise ConnectorError("flight API down", permanent=False)

    names = connectors.register_all(
        {
            "book_hotel": lambda i, c: calls.append("hotel") or {"hotel_booking": "H"},
            "book_flight": flight_down,
            "charge": lambda i, c: {},
            "cancel_hotel": lambda i, c: calls.append("cancel_hotel") or {},
            "cancel_flight": lambda i, c: calls.append("cancel_flight") or {},
        }
    )
    result = process_services.version_deploy(xml=bpmn("trip_saga.bpmn"), actor=Actor.system("t"))
    instance = engine.instance_start(
        version=result.version, variables={"trip": "T"}, actor=Actor.system("t")
    )
    [hotel] = Job.objects.filter(instance=instance, activity_id="BookHotel")
    engine.job_run(job_id=hotel.pk, worker_id="page-test")
    yield instance, calls
    connectors.unregister_all(names)


def test_cancel_with_compensation_from_the_instance_page(client, make_user, saga_half_done):
    instance, calls = saga_half_done
    url = f"/admin-reports/instances/{instance.pk}/cancel/"
    form = {"confirm": "yes", "compensate": "on", "reason": "customer called"}
    client.force_login(make_user("auditor"))
    assert client.post(url, form).status_code == 403
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"
    client.force_login(make_user("manager"))
    page = client.get(f"/admin-reports/instances/{instance.pk}/").content.decode()
    assert 'name="compensate"' in page
    answer = client.post(url, form, follow=True)
    assert [str(m) for m in answer.context["messages"]] == [
        "Undoing 1 completed step (newest first: Book hotel); the instance ends cancelled "
        "when the last compensation step is done."
    ]
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"
    run_jobs(instance)
    assert ProcessInstance.objects.get(pk=instance.pk).status == "cancelled"
    assert calls == ["hotel", "cancel_hotel"]
    actions = list(
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("position")
        .values_list("action", flat=True)
    )
    assert actions.count(AuditAction.COMPENSATION_HANDLER) == 1
    assert actions[-1] == AuditAction.INSTANCE_CANCELLED


def test_cancel_with_compensation_of_a_suspended_instance_from_the_page(
    client, make_user, saga_half_done
):
    instance, calls = saga_half_done
    actor = Actor.system("t")
    engine.instance_suspend(instance_id=instance.pk, actor=actor)
    client.force_login(make_user("manager"))
    page = client.get(f"/admin-reports/instances/{instance.pk}/").content.decode()
    assert 'name="compensate"' in page
    form = {"confirm": "yes", "compensate": "on"}
    answer = client.post(f"/admin-reports/instances/{instance.pk}/cancel/", form, follow=True)
    assert [str(m) for m in answer.context["messages"]] == [
        "The suspended instance runs again to undo its work. Undoing 1 completed step (newest "
        "first: Book hotel); the instance ends cancelled when the last compensation step is done."
    ]
    run_jobs(instance)
    assert ProcessInstance.objects.get(pk=instance.pk).status == "cancelled"
    assert calls == ["hotel", "cancel_hotel"]


def test_cancel_with_compensation_with_nothing_to_undo_says_it_simply_cancelled(
    client, make_user, saga_half_done
):
    instance, _ = saga_half_done
    fresh = engine.instance_start(
        version=instance.version, variables={"trip": "T"}, actor=Actor.system("t")
    )
    client.force_login(make_user("manager"))
    form = {"confirm": "yes", "compensate": "on"}
    answer = client.post(f"/admin-reports/instances/{fresh.pk}/cancel/", form, follow=True)
    assert [str(m) for m in answer.context["messages"]] == [
        "The instance is cancelled: it had no completed work to undo."
    ]
    assert ProcessInstance.objects.get(pk=fresh.pk).status == "cancelled"
