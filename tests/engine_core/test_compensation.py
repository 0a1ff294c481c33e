"""BPMN compensation (decision 034): parse/validate, reverse order, once per activation, outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from apps.engine.core.compensation import RECORD_KEY
from apps.engine.core.compile import compile_bpmn
from apps.engine.core.errors import BpmnValidationError, TaskStateError
from apps.engine.core.runner import ProcessRunner
from tests.engine_core.helpers import T0, fixture, restore, runner


def _complete_job(r, instance, result, expected_activity):
    [job] = instance.effects().service_tasks
    assert job.activity_id == expected_activity
    instance = restore(r, instance)
    instance.complete_service_task(job.task_id, result)
    return instance, job


def _record(instance) -> dict:
    return json.loads(instance.dump())["wf"]["data"][RECORD_KEY]


def _problems(xml: bytes) -> list[tuple[str | None, str]]:
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(xml)
    return [(p.element_id, p.code) for p in info.value.problems]


def test_camunda_modeler_saga_deploys():
    compiled = compile_bpmn(fixture("trip_saga.bpmn"))
    plan = json.loads(compiled.spec_json)["compensation"]
    assert plan["compensable"] == ["BookFlight", "BookHotel"]
    assert plan["handler_ids"] == [
        "CancelFlight",
        "CancelFlight__2",
        "CancelHotel",
        "CancelHotel__2",
    ]
    assert plan["copies"] == {"CancelFlight__2": "CancelFlight", "CancelHotel__2": "CancelHotel"}


def test_saga_success_compensates_nothing():
    r = runner("trip_saga.bpmn")
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    instance, _ = _complete_job(r, instance, {"charged": True}, "Charge")
    effects = instance.effects()
    assert effects.status == "completed"
    assert RECORD_KEY not in effects.variables
    assert [a["state"] for a in _record(instance)["activations"]] == ["completed", "completed"]


def test_saga_failure_runs_handlers_in_reverse_order_once_with_the_outputs_they_undo():
    r = runner("trip_saga.bpmn")
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    [charge] = instance.effects().service_tasks
    instance = restore(r, instance)
    assert instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    instance, flight = _complete_job(r, instance, {"flight_cancelled": True}, "CancelFlight")
    assert flight.connector == "cancel_flight"
    assert flight.inputs == {"booking": "F-9"}
    instance, hotel = _complete_job(r, instance, {"hotel_cancelled": True}, "CancelHotel")
    assert hotel.inputs == {"booking": "H-1", "trip": "T1"}
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.service_tasks == ()
    assert "compensation" not in effects.variables
    assert effects.variables["flight_cancelled"] is True
    record = _record(instance)
    assert [(a["activity"], a["state"], a["handler"]) for a in record["activations"]] == [
        ("BookHotel", "compensated", "CancelHotel"),
        ("BookFlight", "compensated", "CancelFlight"),
    ]
    [run] = record["runs"]
    assert run["throw"] == "UndoBookings"
    assert run["state"] == "finished"
    assert run["activations"] == [record["activations"][1]["id"], record["activations"][0]["id"]]


def test_only_completed_activities_are_compensated_by_cancel_with_compensation():
    r = runner("trip_saga.bpmn")
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance = restore(r, instance)  # BookFlight is running: it never completed
    assert instance.cancel_with_compensation() is True
    effects = instance.effects()
    # the cancel step runs a second copy of the handler; people see the modeller's element
    [job] = effects.service_tasks
    assert (job.activity_id, job.name) == ("CancelHotel", "Cancel hotel")
    assert effects.status == "running"
    with pytest.raises(TaskStateError):
        restore(r, instance).cancel_with_compensation()
    instance, job = _complete_job(r, instance, {}, "CancelHotel")
    assert [e.activity_id for e in instance.events if e.kind == "completed"][:1] == ["CancelHotel"]
    [handler] = [e for e in instance.effects().compensation if e.kind == "handler"]
    assert handler.data["handler"] == "CancelHotel"
    assert job.inputs == {"booking": "H-1", "trip": "T1"}
    assert instance.effects().status == "cancelled"
    assert [a["state"] for a in _record(instance)["activations"]] == ["compensated"]


def test_cancel_with_compensation_of_a_process_without_compensation_does_nothing():
    r = runner("user_service.bpmn")
    instance = r.start({})
    assert instance.cancel_with_compensation() is False
    assert instance.effects().status == "running"


def test_multi_instance_and_subprocess_are_compensated_per_activation_newest_first():
    r = runner("compensation_scopes.bpmn")
    instance = r.start({"rooms": ["r1", "r2"]})
    instance, _ = _complete_job(r, instance, {"booking": "B1"}, "book_room")
    instance, _ = _complete_job(r, instance, {"booking": "B2"}, "book_room")
    instance, _ = _complete_job(r, instance, {"hall": "H"}, "reserve")
    [review] = instance.effects().user_tasks
    instance = restore(r, instance)
    instance.complete_user_task(review.task_id, {"outcome": "undo"})
    # the subprocess finished last: its inner work is undone first, by a person (user task)
    [release] = instance.effects().user_tasks
    assert release.activity_id == "release"
    assert release.candidate_groups == ("ops",)
    instance = restore(r, instance)
    instance.complete_user_task(release.task_id, {})
    instance, second = _complete_job(r, instance, {}, "cancel_room")
    instance, first = _complete_job(r, instance, {}, "cancel_room")
    assert (second.inputs, first.inputs) == (
        {"room": "r2", "booking": "B2"},
        {"room": "r1", "booking": "B1"},
    )
    assert instance.effects().status == "completed"
    states = {
        a["activity"] + str(a["outputs"].get("room", "")): a["state"]
        for a in _record(instance)["activations"]
    }
    assert states == {
        "book_roomr1": "compensated",
        "book_roomr2": "compensated",
        "reserve": "compensated",
        "venue": "compensated",
    }


def test_activity_ref_compensates_only_that_activity():
    xml = fixture("compensation_scopes.bpmn").replace(
        b'<bpmn:endEvent id="undo" name="Undo everything"><bpmn:compensateEventDefinition/>',
        b'<bpmn:endEvent id="undo" name="Undo venue"><bpmn:compensateEventDefinition activityRef="venue"/>',
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    instance = r.start({"rooms": ["r1"]})
    instance, _ = _complete_job(r, instance, {"booking": "B1"}, "book_room")
    instance, _ = _complete_job(r, instance, {"hall": "H"}, "reserve")
    [review] = instance.effects().user_tasks
    instance.complete_user_task(review.task_id, {"outcome": "undo"})
    [release] = instance.effects().user_tasks
    instance.complete_user_task(release.task_id, {})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.service_tasks == ()
    assert [
        a["state"] for a in _record(instance)["activations"] if a["activity"] == "book_room"
    ] == ["completed"]


def test_handler_with_sequence_flows_is_a_problem_on_the_handler():
    xml = fixture("trip_saga.bpmn").replace(
        b'<bpmn:sequenceFlow id="Flow_6" sourceRef="UndoBookings" targetRef="Failed" />',
        b'<bpmn:sequenceFlow id="Flow_6" sourceRef="UndoBookings" targetRef="Failed" />'
        b'<bpmn:sequenceFlow id="Flow_x" sourceRef="CancelHotel" targetRef="Failed" />',
    )
    assert _problems(xml) == [("CancelHotel", "compensation_handler_with_flows")]


def test_compensation_boundary_without_handler_is_a_problem_on_the_boundary():
    xml = fixture("trip_saga.bpmn").replace(
        b'<bpmn:association id="Association_2" associationDirection="One" sourceRef="FlightComp" targetRef="CancelFlight" />',
        b"",
    )
    assert _problems(xml) == [
        ("FlightComp", "compensation_without_handler"),
        ("CancelFlight", "compensation_handler_unused"),
    ]


def test_throw_whose_activity_ref_is_not_compensable_is_a_problem_on_the_throw():
    xml = fixture("trip_saga.bpmn").replace(
        b'<bpmn:compensateEventDefinition id="CompensateEventDefinition_3" />',
        b'<bpmn:compensateEventDefinition id="CompensateEventDefinition_3" activityRef="Charge" />',
    )
    assert _problems(xml) == [("UndoBookings", "compensation_activity_not_compensable")]


def test_throw_without_wait_for_completion_continues_at_once():
    xml = fixture("trip_saga.bpmn").replace(
        b'<bpmn:compensateEventDefinition id="CompensateEventDefinition_3" />',
        b'<bpmn:compensateEventDefinition id="CompensateEventDefinition_3" waitForCompletion="false" />',
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    [flight] = instance.effects().service_tasks
    instance.complete_service_task(flight.task_id, {"flight_booking": "F"})
    [charge] = instance.effects().service_tasks
    instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    effects = instance.effects()
    assert "Failed" in [e.activity_id for e in instance.events if e.kind == "completed"]
    assert [j.activity_id for j in effects.service_tasks] == ["CancelFlight"]


def test_effects_report_started_each_handler_and_finished():
    r = runner("trip_saga.bpmn")
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    [charge] = instance.effects().service_tasks
    instance = restore(r, instance)
    instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    [started] = instance.effects().compensation
    assert started.kind == "started"
    assert started.data["throw"] == "UndoBookings"
    assert [a["activity_id"] for a in started.data["activations"]] == ["BookFlight", "BookHotel"]
    instance, _ = _complete_job(r, instance, {}, "CancelFlight")
    [handler] = instance.effects().compensation
    assert (handler.kind, handler.data["activity_id"], handler.data["handler"]) == (
        "handler",
        "BookFlight",
        "CancelFlight",
    )
    assert handler.data["outputs"] == {"flight_booking": "F-9"}
    instance, _ = _complete_job(r, instance, {}, "CancelHotel")
    assert [(e.kind, e.data.get("activity_id")) for e in instance.effects().compensation] == [
        ("handler", "BookHotel"),
        ("finished", None),
    ]


def test_a_throw_inside_a_subprocess_compensates_only_that_subprocess():
    xml = fixture("compensation_scopes.bpmn").replace(
        b'<bpmn:endEvent id="venue_end"/>',
        b'<bpmn:endEvent id="venue_end"><bpmn:compensateEventDefinition/></bpmn:endEvent>',
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    instance = r.start({"rooms": ["r1"]})
    instance, _ = _complete_job(r, instance, {"booking": "B1"}, "book_room")
    instance, _ = _complete_job(r, instance, {"hall": "H"}, "reserve")
    [release] = instance.effects().user_tasks
    assert release.activity_id == "release"
    instance.complete_user_task(release.task_id, {})
    [review] = instance.effects().user_tasks
    assert review.activity_id == "review"
    assert instance.effects().service_tasks == ()
    states = {a["activity"]: a["state"] for a in _record(instance)["activations"]}
    assert states == {"book_room": "completed", "reserve": "compensated", "venue": "completed"}


def test_change_request_template_rolls_back_the_applied_change_by_compensation():
    template = Path(__file__).parents[2] / "apps/processes/demo_bpmn/change_request.bpmn"
    r = ProcessRunner(compile_bpmn(template.read_bytes()).spec_json)
    instance = r.start({"title": "DB upgrade", "risk": "low", "window_start": T0.isoformat()})
    for _ in range(2):
        [vote] = instance.effects().user_tasks[:1]
        instance.complete_user_task(vote.task_id, {"cab_decision": "approved"})
    instance.fire_due_timers(T0)
    instance, _ = _complete_job(r, instance, {"change_id": "C-7"}, "implement")
    [verify] = instance.effects().service_tasks
    assert instance.fail_service_task(
        verify.task_id, error_code="implementation_failed", message="checks red"
    )
    [rollback] = instance.effects().service_tasks
    assert rollback.activity_id == "roll_back"
    assert rollback.inputs["json"] == {"title": "DB upgrade", "applied": {"change_id": "C-7"}}
    instance.complete_service_task(rollback.task_id, {})
    effects = instance.effects()
    assert effects.status == "completed"
    assert "rolled_back" in [e.activity_id for e in instance.events if e.kind == "completed"]


def test_a_subprocess_handler_runs_its_own_flow_with_the_outputs():
    handler = re.compile(rb'<bpmn:serviceTask id="CancelFlight".*?</bpmn:serviceTask>', re.S)
    xml = handler.sub(
        b'<bpmn:subProcess id="CancelFlight" name="Cancel flight" isForCompensation="true">'
        b'<bpmn:startEvent id="cf_start"/>'
        b'<bpmn:userTask id="cf_confirm" name="Confirm refund" camunda:candidateGroups="ops"/>'
        b'<bpmn:endEvent id="cf_end"/>'
        b'<bpmn:sequenceFlow id="cf1" sourceRef="cf_start" targetRef="cf_confirm"/>'
        b'<bpmn:sequenceFlow id="cf2" sourceRef="cf_confirm" targetRef="cf_end"/>'
        b"</bpmn:subProcess>",
        fixture("trip_saga.bpmn"),
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    [charge] = instance.effects().service_tasks
    instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    [confirm] = instance.effects().user_tasks
    assert (confirm.activity_id, confirm.candidate_groups) == ("cf_confirm", ("ops",))
    instance = restore(r, instance)
    instance.complete_user_task(confirm.task_id, {"refund": "ok"})
    instance, hotel = _complete_job(r, instance, {}, "CancelHotel")
    assert hotel.inputs["booking"] == "H-1"
    assert [a["state"] for a in _record(instance)["activations"]] == ["compensated"] * 2
    assert instance.effects().status == "completed"


def test_problems_in_a_handler_are_reported_once_on_the_modelled_element():
    xml = fixture("trip_saga.bpmn")
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(xml, known_connectors={"book_hotel", "book_flight", "charge", "cancel_hotel"})
    assert [(p.element_id, p.code) for p in info.value.problems] == [
        ("CancelFlight", "unknown_connector")
    ]


def test_the_transforms_own_events_are_not_reported_as_steps():
    r = runner("trip_saga.bpmn")
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    [charge] = instance.effects().service_tasks
    instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    instance, _ = _complete_job(r, instance, {}, "CancelFlight")
    instance, _ = _complete_job(r, instance, {}, "CancelHotel")
    completed = [e.activity_id for e in instance.events if e.kind == "completed"]
    # the throw is a multi-instance: its last instance and the throw itself complete here
    assert completed == ["CancelHotel", "UndoBookings", "UndoBookings", "Failed"]


def _end_throw(wait: str, activity_ref: str = "") -> bytes:
    """The saga with its failure path ending in a compensation *end* event."""
    ref = f' activityRef="{activity_ref}"' if activity_ref else ""
    throw = re.compile(rb'<bpmn:intermediateThrowEvent id="UndoBookings".*?</bpmn:endEvent>', re.S)
    return throw.sub(
        b'<bpmn:endEvent id="UndoBookings" name="Undo bookings">'
        b"<bpmn:incoming>Flow_5</bpmn:incoming>"
        b'<bpmn:compensateEventDefinition id="CompensateEventDefinition_3"'
        + ref.encode()
        + f' waitForCompletion="{wait}" />'.encode()
        + b"</bpmn:endEvent>",
        fixture("trip_saga.bpmn"),
    ).replace(b'<bpmn:sequenceFlow id="Flow_6" sourceRef="UndoBookings" targetRef="Failed" />', b"")


def _fail_after_bookings(r):
    instance = r.start({"trip": "T1"})
    instance, _ = _complete_job(r, instance, {"hotel_booking": "H-1"}, "BookHotel")
    instance, _ = _complete_job(r, instance, {"flight_booking": "F-9"}, "BookFlight")
    [charge] = instance.effects().service_tasks
    instance = restore(r, instance)
    assert instance.fail_service_task(charge.task_id, error_code="CHARGE_FAILED", message="no")
    return instance


def _completed_steps(instance) -> list[str]:
    return [e.activity_id for e in instance.events if e.kind == "completed"]


def test_an_end_throw_without_wait_for_completion_ends_at_once_and_the_handlers_still_run():
    r = ProcessRunner(compile_bpmn(_end_throw("false")).spec_json)
    instance = _fail_after_bookings(r)
    # the end event is done before any handler ran; the process is not, until they have
    assert _completed_steps(instance) == ["ChargeFailed", "UndoBookings"]
    assert [j.activity_id for j in instance.effects().service_tasks] == ["CancelFlight"]
    assert instance.effects().status == "running"
    instance, flight = _complete_job(r, instance, {}, "CancelFlight")
    assert flight.inputs == {"booking": "F-9"}
    assert "UndoBookings" not in _completed_steps(instance)
    instance, hotel = _complete_job(r, instance, {}, "CancelHotel")
    assert hotel.inputs == {"booking": "H-1", "trip": "T1"}
    assert instance.effects().status == "completed"
    assert [a["state"] for a in _record(instance)["activations"]] == ["compensated"] * 2


def test_an_end_throw_that_waits_completes_after_its_handlers():
    r = ProcessRunner(compile_bpmn(_end_throw("true")).spec_json)
    instance = _fail_after_bookings(r)
    assert _completed_steps(instance) == ["ChargeFailed"]
    instance, _ = _complete_job(r, instance, {}, "CancelFlight")
    instance, _ = _complete_job(r, instance, {}, "CancelHotel")
    assert _completed_steps(instance)[-2:] == ["UndoBookings", "UndoBookings"]
    assert instance.effects().status == "completed"


def test_a_throw_without_wait_for_completion_keeps_its_activity_ref():
    r = ProcessRunner(compile_bpmn(_end_throw("false", "BookFlight")).spec_json)
    instance = _fail_after_bookings(r)
    instance, _ = _complete_job(r, instance, {}, "CancelFlight")
    assert instance.effects().status == "completed"
    states = {a["activity"]: a["state"] for a in _record(instance)["activations"]}
    assert states == {"BookHotel": "completed", "BookFlight": "compensated"}


def test_a_user_task_handler_copy_shows_the_modelled_element_in_the_inbox():
    r = runner("compensation_scopes.bpmn")
    instance = r.start({"rooms": ["r1"]})
    instance, _ = _complete_job(r, instance, {"booking": "B1"}, "book_room")
    instance, _ = _complete_job(r, instance, {"hall": "H"}, "reserve")
    instance = restore(r, instance)
    assert instance.cancel_with_compensation() is True
    [release] = instance.effects().user_tasks
    assert (release.activity_id, release.name) == ("release", "Release hall")


_CALLER = fixture("trip_caller.bpmn")  # a call activity "trip" calling trip_saga


def test_a_call_activity_to_a_process_with_compensation_is_a_clear_problem_on_the_call():
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(_CALLER, called={"trip_saga": fixture("trip_saga.bpmn")})
    [problem] = info.value.problems
    assert (problem.element_id, problem.code) == ("trip", "called_process_compensation")
    assert problem.message.startswith(
        "Call activity 'Book trip' calls 'trip_saga', which uses compensation: compensation "
        "does not reach into or run inside a called process."
    )


def test_a_call_activity_without_compensation_inside_still_deploys():
    caller = _CALLER.replace(b'calledElement="trip_saga"', b'calledElement="order"')
    compiled = compile_bpmn(caller, called={"order": fixture("user_service.bpmn")})
    assert compiled.called_process_ids == frozenset({"order"})


def test_a_call_activity_with_its_own_handler_is_undone_as_a_whole():
    caller = _CALLER.replace(b'calledElement="trip_saga"', b'calledElement="order"').replace(
        b'<bpmn:endEvent id="e"/>',
        b'<bpmn:boundaryEvent id="trip_comp" attachedToRef="trip">'
        b"<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
        b'<bpmn:manualTask id="undo_trip" name="Undo trip" isForCompensation="true"/>'
        b'<bpmn:association id="a1" sourceRef="trip_comp" targetRef="undo_trip"/>'
        b'<bpmn:endEvent id="e"><bpmn:compensateEventDefinition/></bpmn:endEvent>',
    )
    compiled = compile_bpmn(caller, called={"order": fixture("user_service.bpmn")})
    plan = json.loads(compiled.spec_json)["compensation"]
    assert (plan["compensable"], plan["handler_ids"]) == (["trip"], ["undo_trip", "undo_trip__2"])
