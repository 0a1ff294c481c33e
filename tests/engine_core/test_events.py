"""Messages with correlation keys, error end/boundary, escalation."""

import pytest

from apps.engine.core.errors import EngineError
from tests.engine_core.helpers import activities, restore, runner


def test_message_start_then_catch_and_receive_task_correlated_by_key():
    r = runner("messages.bpmn")
    instance = r.start({"channel": "web"}, message=("order_placed", {"order_id": 7}))
    effects = instance.effects()
    assert activities(effects, "completed") == ["order_start"]
    assert [(w.activity_id, w.message_name, w.correlation_key) for w in effects.message_waits] == [
        ("wait_shipped", "order_shipped", "7")
    ]
    instance = restore(r, instance)
    assert instance.correlate_message("order_shipped", {"carrier": "dhl"}, "8") is False
    assert instance.correlate_message("order_invented", {}, "7") is False
    assert instance.correlate_message("order_shipped", {"carrier": "dhl"}, "7") is True
    effects = instance.effects()
    assert sorted(
        (w.activity_id, w.message_name, w.correlation_key) for w in effects.message_waits
    ) == [
        ("cancelled", "order_cancelled", "7"),
        ("wait_invoice", "invoice_paid", "INV-7"),
    ]
    instance = restore(r, instance)
    assert instance.correlate_message("invoice_paid", {"paid": True}, "INV-7") is True
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.variables == {"channel": "web", "order_id": 7, "carrier": "dhl", "paid": True}
    assert effects.message_waits == ()


def test_message_boundary_event_interrupts_the_receive_task():
    r = runner("messages.bpmn")
    instance = r.start({}, message=("order_placed", {"order_id": 9}))
    instance.correlate_message("order_shipped", {}, "9")
    instance = restore(r, instance)
    assert instance.correlate_message("order_cancelled", {"reason": "customer"}, "9") is True
    effects = instance.effects()
    assert effects.status == "completed"
    assert activities(effects, "cancelled") == ["wait_invoice"]
    assert "end_cancelled" in activities(effects, "completed")
    assert effects.variables["reason"] == "customer"


def test_message_start_needs_a_known_message():
    with pytest.raises(EngineError, match="does not start on the message 'nope'"):
        runner("messages.bpmn").start({}, message=("nope", {}))


def test_business_error_from_a_connector_routes_to_the_error_boundary():
    r = runner("errors.bpmn")
    instance = r.start({"amount": 10})
    [job] = instance.effects().service_tasks
    assert job.activity_id == "charge"
    instance = restore(r, instance)
    before = instance.dump()
    assert instance.fail_service_task(job.task_id, error_code="TIMEOUT", message="no") is False
    assert instance.dump() == before
    assert (
        instance.fail_service_task(job.task_id, error_code="CARD_DECLINED", message="Nope") is True
    )
    effects = instance.effects()
    assert effects.service_tasks == ()
    assert [t.activity_id for t in effects.user_tasks] == ["fix_payment"]
    assert effects.variables["errorCode"] == "CARD_DECLINED"
    assert effects.variables["errorMessage"] == "Nope"
    assert activities(effects, "cancelled") == ["charge"]


def test_error_end_event_in_subprocess_is_caught_by_its_boundary():
    r = runner("errors.bpmn")
    effects = r.start({"amount": 0}).effects()
    assert effects.status == "completed"
    completed = activities(effects, "completed")
    assert "invalid_end" in completed
    assert "end_invalid" in completed
    assert "charge" not in activities(effects, "entered")


def test_escalation_from_subprocess_triggers_non_interrupting_boundary():
    r = runner("escalation.bpmn")
    instance = r.start({"amount": 5000})
    effects = instance.effects()
    assert sorted(t.activity_id for t in effects.user_tasks) == ["inform_manager", "pack"]
    for task in effects.user_tasks:
        instance = restore(r, instance)
        instance.complete_user_task(task.task_id, {})
    assert instance.effects().status == "completed"
    small = r.start({"amount": 5}).effects()
    assert [t.activity_id for t in small.user_tasks] == ["pack"]


def test_signal_thrown_in_one_branch_is_caught_in_another_of_the_same_instance():
    r = runner("signal.bpmn")
    instance = r.start({})
    effects = instance.effects()
    assert [t.activity_id for t in effects.user_tasks] == ["prepare"]
    assert effects.status == "running"
    instance = restore(r, instance)
    instance.complete_user_task(effects.user_tasks[0].task_id, {})
    effects = instance.effects()
    assert effects.status == "completed"
    assert {"announce_ready", "wait_ready", "end_waiter"} <= set(activities(effects, "completed"))


def test_error_from_a_service_task_in_a_subprocess_reaches_the_catch_all_boundary_outside():
    r = runner("error_nested.bpmn")
    instance = r.start({})
    [job] = instance.effects().service_tasks
    assert job.activity_id == "book_carrier"
    instance = restore(r, instance)
    assert instance.fail_service_task(job.task_id, error_code="NO_CARRIER", message="none") is True
    effects = instance.effects()
    assert effects.service_tasks == ()
    assert [t.activity_id for t in effects.user_tasks] == ["ship_manually"]
    assert {"shipping", "book_carrier"} <= set(activities(effects, "cancelled"))
