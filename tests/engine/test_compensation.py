"""Compensation through the runtime (decision 034): a trip-booking saga on real job runs, audit
events, incidents and retries of a handler, the operator's cancel with compensation."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict
from apps.connectors.base import BusinessError, ConnectorError
from apps.engine import services
from apps.engine.models import Incident, IncidentStatus, InstanceStatus, Job, JobStatus
from apps.engine.runtime.compensation import RESUMED_TO_COMPENSATE
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.invariants.checks import run_checks
from apps.processes import services as process_services
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


class Trip:
    """The saga's connectors: they record every call (name, inputs, idempotency key)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, str]] = []
        self.charge_fails = True
        self.cancel_hotel_failures = 0
        self.flight_down = False
        self.charge_broken = False

    def book(self, name: str):
        def run(inputs, context):
            self.calls.append((name, dict(inputs), context.idempotency_key))
            if name == "flight" and self.flight_down:
                raise ConnectorError("flight API down", permanent=False)
            return {f"{name}_booking": f"{name.upper()}-{context.instance_id}"}

        return run

    def charge(self, inputs, context):
        self.calls.append(("charge", dict(inputs), context.idempotency_key))
        if self.charge_fails:
            raise BusinessError("CHARGE_FAILED", "card declined")
        if self.charge_broken:
            raise ConnectorError("400 Bad Request: card unknown", permanent=True)
        return {"charged": True}

    def cancel(self, name: str):
        def run(inputs, context):
            self.calls.append((f"cancel_{name}", dict(inputs), context.idempotency_key))
            if name == "hotel" and self.cancel_hotel_failures > 0:
                self.cancel_hotel_failures -= 1
                raise ConnectorError("hotel API down", permanent=True)
            return {f"{name}_cancelled": True}

        return run

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture
def trip(local_connectors):
    saga = Trip()
    local_connectors(
        {
            "book_hotel": saga.book("hotel"),
            "book_flight": saga.book("flight"),
            "charge": saga.charge,
            "cancel_hotel": saga.cancel("hotel"),
            "cancel_flight": saga.cancel("flight"),
        }
    )
    return saga


def _start(deploy, variables=None):
    deploy("trip_saga.bpmn")
    return services.instance_start(
        process_key="trip_saga", variables=variables or {"trip": "T1"}, actor=SYSTEM
    )


def _events(instance_id: int, prefix: str = "compensation.") -> list[tuple[str, dict]]:
    rows = AuditEvent.objects.filter(instance_id=instance_id, action__startswith=prefix)
    return [(row.action, row.data) for row in rows.order_by("position")]


def test_failed_charge_undoes_both_bookings_newest_first_once_each(deploy, trip):
    instance = _start(deploy)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert trip.names() == ["hotel", "flight", "charge", "cancel_flight", "cancel_hotel"]
    cancel_flight, cancel_hotel = trip.calls[3], trip.calls[4]
    assert cancel_flight[1] == {"booking": f"FLIGHT-{instance.pk}"}
    assert cancel_hotel[1] == {"booking": f"HOTEL-{instance.pk}", "trip": "T1"}
    # every handler job carries its own key (instance, activity instance), distinct from the
    # bookings it undoes
    assert len({key for _, _, key in trip.calls}) == 5
    events = _events(instance.pk)
    assert [action for action, _ in events] == [
        AuditAction.COMPENSATION_STARTED,
        AuditAction.COMPENSATION_HANDLER,
        AuditAction.COMPENSATION_HANDLER,
        AuditAction.COMPENSATION_FINISHED,
    ]
    assert [a["activity_id"] for a in events[0][1]["activations"]] == ["BookFlight", "BookHotel"]
    assert [(d["activity_id"], d["handler"]) for _, d in events[1:3]] == [
        ("BookFlight", "CancelFlight"),
        ("BookHotel", "CancelHotel"),
    ]
    assert events[2][1]["outputs"] == {"hotel_booking": f"HOTEL-{instance.pk}"}
    assert "compensation" not in instance.variables
    assert "fg_compensation" not in instance.variables


def test_a_successful_trip_compensates_nothing(deploy, trip):
    trip.charge_fails = False
    instance = _start(deploy)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert trip.names() == ["hotel", "flight", "charge"]
    assert _events(instance.pk) == []


def test_a_handler_that_fails_for_good_opens_an_incident_and_its_retry_continues(deploy, trip):
    trip.cancel_hotel_failures = 1
    instance = _start(deploy)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    [incident] = Incident.objects.filter(instance=instance, status=IncidentStatus.OPEN)
    assert incident.activity_id == "CancelHotel"
    assert "hotel API down" in incident.message
    assert trip.names() == ["hotel", "flight", "charge", "cancel_flight", "cancel_hotel"]
    services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    # the flight is not undone again; the hotel's retry sends the same idempotency key
    assert trip.names()[3:] == ["cancel_flight", "cancel_hotel", "cancel_hotel"]
    assert trip.calls[4][2] == trip.calls[5][2]
    handlers = [d["activity_id"] for a, d in _events(instance.pk) if a.endswith("handler")]
    assert handlers == ["BookFlight", "BookHotel"]


def test_cancel_with_compensation_undoes_completed_bookings_then_cancels(deploy, trip):
    trip.flight_down = True
    instance = _start(deploy)
    [hotel] = Job.objects.filter(instance=instance, status=JobStatus.PENDING)
    services.job_run(job_id=hotel.pk, worker_id="w")  # the hotel is booked; the flight waits
    assert trip.names() == ["hotel", "flight"]
    done = services.instance_cancel_with_compensation(
        instance_id=instance.pk, actor=SYSTEM, reason="customer called"
    )
    assert (done.undoing, done.resumed) == (("Book hotel",), False)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    [flight] = Job.objects.filter(instance=instance, activity_id="BookFlight")
    assert flight.status == JobStatus.CANCELLED
    with pytest.raises(Conflict):
        services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert trip.names() == ["hotel", "flight", "cancel_hotel"]
    # the cancel step's copy of the handler is shown as the modelled element
    [cancel_job] = Job.objects.filter(instance=instance, connector="cancel_hotel")
    assert cancel_job.activity_id == "CancelHotel"
    [(_, handled)] = [e for e in _events(instance.pk) if e[0] == AuditAction.COMPENSATION_HANDLER]
    assert (handled["activity_id"], handled["handler"]) == ("BookHotel", "CancelHotel")
    actions = [a for a, _ in _events(instance.pk, prefix="")]
    assert actions[-1] == AuditAction.INSTANCE_CANCELLED
    assert actions.count(AuditAction.COMPENSATION_HANDLER) == 1
    assert actions.count(AuditAction.COMPENSATION_FINISHED) == 1


def test_cancel_with_compensation_of_a_suspended_instance_resumes_it_to_undo_then_cancels(
    deploy, trip
):
    trip.flight_down = True
    instance = _start(deploy)
    [hotel] = Job.objects.filter(instance=instance, status=JobStatus.PENDING)
    services.job_run(job_id=hotel.pk, worker_id="w")
    services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)
    done = services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    assert (done.undoing, done.resumed) == (("Book hotel",), True)
    assert done.summary().startswith("The suspended instance runs again to undo its work.")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    resumed = AuditEvent.objects.filter(
        instance_id=instance.pk, action=AuditAction.INSTANCE_RESUMED
    ).get()
    assert resumed.data == {"reason": RESUMED_TO_COMPENSATE}
    [flight] = Job.objects.filter(instance=instance, activity_id="BookFlight")
    assert flight.status == JobStatus.CANCELLED
    services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)  # mid-compensation
    with pytest.raises(Conflict) as again:
        services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    assert again.value.message == (
        "The instance is already being cancelled with compensation. It is suspended: resume "
        "it to let its compensation finish."
    )
    services.instance_resume(instance_id=instance.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert trip.names() == ["hotel", "flight", "cancel_hotel"]


def test_cancel_with_compensation_with_nothing_completed_cancels_at_once_and_says_so(deploy, trip):
    instance = _start(deploy)  # the hotel is not booked yet: nothing to undo
    services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)
    done = services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    assert (done.undoing, done.resumed) == ((), False)
    assert done.summary() == "The instance is cancelled: it had no completed work to undo."
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert not AuditEvent.objects.filter(
        instance_id=instance.pk, action=AuditAction.INSTANCE_RESUMED
    ).exists()
    assert not Job.objects.filter(instance=instance, status=JobStatus.PENDING).exists()
    assert trip.names() == []


def test_cancel_with_compensation_of_a_process_without_compensation_cancels_at_once(deploy):
    deploy("approval.bpmn")
    instance = services.instance_start(
        process_key="expense_approval", variables={"amount": 10}, actor=SYSTEM
    )
    done = services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    assert done.undoing == ()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED


def test_cancel_with_compensation_of_an_instance_stuck_on_an_incident(deploy, trip):
    """The charge fails for good (an incident): the operator undoes both bookings and cancels;
    the incident is resolved with the instance and the invariants hold."""
    trip.charge_fails = False
    trip.charge_broken = True
    instance = _start(deploy)
    run_jobs(instance)
    [incident] = Incident.objects.filter(instance=instance, status=IncidentStatus.OPEN)
    assert incident.activity_id == "Charge"
    services.instance_cancel_with_compensation(instance_id=instance.pk, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert trip.names() == ["hotel", "flight", "charge", "cancel_flight", "cancel_hotel"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert not Job.objects.filter(
        instance=instance, status__in=[JobStatus.PENDING, JobStatus.RUNNING, JobStatus.INCIDENT]
    ).exists()
    assert [str(v) for v in run_checks().violations if "audit" not in v.check] == []


def test_a_user_task_handler_waits_in_the_inbox_and_its_completion_continues(
    make_user, local_connectors
):
    local_connectors(
        {
            "rooms": lambda inputs, context: {"booking": "B"},
            "rooms_cancel": lambda inputs, context: {},
            "halls": lambda inputs, context: {"hall": "H"},
        }
    )
    xml = (
        (Path(__file__).parents[1] / "engine_core" / "bpmn" / "compensation_scopes.bpmn")
        .read_bytes()
        .replace(b'flowgate:candidateGroups="ops"', b'flowgate:candidateGroups="approver"')
    )
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    instance = services.instance_start(
        version=result.version, variables={"rooms": ["r1"]}, actor=SYSTEM
    )
    run_jobs(instance)
    approver = make_user("approver")
    [review] = HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    assert review.activity_id == "review"
    inbox.task_complete(
        task_id=review.pk, user=approver, data={"outcome": "undo"}, actor=Actor.for_user(approver)
    )
    [release] = HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    assert (release.activity_id, release.name, release.candidate_groups) == (
        "release",
        "Release hall",
        ["approver"],
    )
    inbox.task_complete(task_id=release.pk, user=approver, data={}, actor=Actor.for_user(approver))
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    handlers = [d["activity_id"] for a, d in _events(instance.pk) if a.endswith("handler")]
    assert handlers == ["reserve", "book_room"]


def test_deploying_a_caller_of_a_process_with_compensation_names_the_call_activity(deploy, trip):
    deploy("trip_saga.bpmn")
    xml = (Path(__file__).parents[1] / "engine_core" / "bpmn" / "trip_caller.bpmn").read_bytes()
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert not result.deployed
    assert [(p["element_id"], p["code"]) for p in result.version.problems] == [
        ("trip", "called_process_compensation")
    ]
