"""The operations console's cancel with compensation in the browser: a manager ticks "Undo
completed work first", the completed booking is undone by its handler, then the instance is
cancelled; the audit list on the page shows the compensation."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.connectors.base import ConnectorError
from apps.engine import services as engine_services
from apps.engine.models import Job, ProcessInstance
from apps.processes import services as process_services
from tests.engine.conftest import bpmn, run_jobs
from tests.factories import UserFactory
from tests.support import connectors

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def half_booked():
    calls: list[str] = []

    def flight_down(inputs, context):
        raise ConnectorError("flight API down", permanent=False)

    names = connectors.register_all(
        {
            "book_hotel": lambda i, c: calls.append("hotel") or {"hotel_booking": "H-1"},
            "book_flight": flight_down,
            "charge": lambda i, c: {},
            "cancel_hotel": lambda i, c: calls.append(f"cancel {i['booking']}") or {},
            "cancel_flight": lambda i, c: calls.append("cancel flight") or {},
        }
    )
    process_services.version_deploy(xml=bpmn("trip_saga.bpmn"), actor=Actor.system("test"))
    instance = engine_services.instance_start(
        process_key="trip_saga", variables={"trip": "T1"}, actor=Actor.system("test")
    )
    [hotel] = Job.objects.filter(instance=instance, activity_id="BookHotel")
    engine_services.job_run(job_id=hotel.pk, worker_id="e2e")
    yield instance, calls
    connectors.unregister_all(names)


def test_a_manager_cancels_with_compensation_from_the_console(page, login_as, half_booked):
    instance, calls = half_booked
    assert calls == ["hotel"]
    login_as(page, UserFactory(roles=["manager"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    page.get_by_label("Confirm cancel (cannot be undone)").check()
    page.get_by_label("Undo completed work first").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel instance").click()
    assert "Undoing 1 completed step (newest first: Book hotel)" in page.inner_text(".fg-messages")
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"
    run_jobs(instance)  # the handler's job, as a worker would run it
    assert calls == ["hotel", "cancel H-1"]
    assert ProcessInstance.objects.get(pk=instance.pk).status == "cancelled"
    page.reload()
    text = page.inner_text("main")
    assert "compensation.handler" in text
    assert "instance.cancelled" in text


def test_a_manager_cancels_a_suspended_instance_with_compensation(page, login_as, half_booked):
    instance, calls = half_booked
    engine_services.instance_suspend(instance_id=instance.pk, actor=Actor.system("test"))
    login_as(page, UserFactory(roles=["manager"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    page.get_by_label("Confirm cancel (cannot be undone)").check()
    page.get_by_label("Undo completed work first").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel instance").click()
    message = page.inner_text(".fg-messages")
    assert "The suspended instance runs again to undo its work." in message
    assert "Undoing 1 completed step (newest first: Book hotel)" in message
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"
    run_jobs(instance)
    assert calls == ["hotel", "cancel H-1"]
    assert ProcessInstance.objects.get(pk=instance.pk).status == "cancelled"
    page.reload()
    text = page.inner_text("main")
    assert "instance.resumed" in text
    assert "instance.cancelled" in text
