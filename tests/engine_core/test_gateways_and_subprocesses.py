"""Exclusive, parallel, inclusive and event-based gateways; embedded subprocess; call activity."""

from datetime import timedelta

import pytest

from apps.engine.core.compile import compile_bpmn
from apps.engine.core.errors import WorkflowRuntimeError
from apps.engine.core.runner import ProcessRunner
from tests.engine_core.helpers import Clock, activities, fixture, restore, runner


@pytest.mark.parametrize(
    ("amount", "expected_task", "status"),
    [(5000, "big_review", "running"), (500, "medium_review", "running"), (5, None, "completed")],
)
def test_exclusive_gateway_conditions_and_default(amount, expected_task, status):
    r = runner("exclusive.bpmn")
    instance = r.start({"amount": amount})
    if expected_task is None:
        assert "end_small" in activities(instance.effects(), "completed")
    effects = restore(r, instance).effects()
    assert effects.status == status
    assert [t.activity_id for t in effects.user_tasks] == ([expected_task] if expected_task else [])


def test_exclusive_gateway_with_missing_variable_is_a_runtime_error():
    r = runner("exclusive.bpmn")
    with pytest.raises(WorkflowRuntimeError) as info:
        r.start({})
    assert info.value.activity_id == "amount_check"


def test_exclusive_gateway_without_a_matching_condition_is_a_runtime_error():
    r = runner("inclusive.bpmn")  # has a default: never stuck
    assert r.start({"wants_email": False, "wants_sms": False}).effects().status == "running"
    xml = (
        fixture("exclusive.bpmn")
        .replace(b' default="to_small"', b"")
        .replace(
            b'<bpmn:sequenceFlow id="to_small" sourceRef="amount_check" targetRef="end_small"/>',
            b'<bpmn:sequenceFlow id="to_small" sourceRef="amount_check" targetRef="end_small">'
            b"<bpmn:conditionExpression>amount &lt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    )
    strict = ProcessRunner(compile_bpmn(xml).spec_json)
    with pytest.raises(WorkflowRuntimeError, match="No conditions satisfied") as info:
        strict.start({"amount": 50})
    assert info.value.activity_id == "amount_check"


def test_parallel_split_and_join_with_restore_between_branches():
    r = runner("bench.bpmn")
    instance = r.start({})
    [fetch] = instance.effects().service_tasks
    instance = restore(r, instance)
    instance.complete_service_task(fetch.task_id, {"n": 7})
    jobs = {j.activity_id: j for j in instance.effects().service_tasks}
    assert set(jobs) == {"left", "right"}
    instance = restore(r, instance)
    instance.complete_service_task(jobs["right"].task_id, {"r": 2})
    effects = instance.effects()
    assert [j.activity_id for j in effects.service_tasks] == ["left"]
    assert effects.status == "running"
    instance = restore(r, instance)
    instance.complete_service_task(jobs["left"].task_id, {"l": 1})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.variables == {"n": 7, "r": 2, "l": 1}
    assert activities(effects, "completed")[-3:] == ["left", "join", "end"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"wants_email": True, "wants_sms": True}, {"send_email", "send_sms"}),
        ({"wants_email": False, "wants_sms": True}, {"send_sms"}),
        ({"wants_email": False, "wants_sms": False}, {"write_log"}),
    ],
)
def test_inclusive_gateway_takes_every_true_branch_and_joins(variables, expected):
    r = runner("inclusive.bpmn")
    instance = r.start(variables)
    jobs = instance.effects().service_tasks
    assert {j.activity_id for j in jobs} == expected
    for job in jobs:
        assert instance.effects().status == "running"
        instance = restore(r, instance)
        instance.complete_service_task(job.task_id, {})
    assert instance.effects().status == "completed"


def test_event_based_gateway_message_wins():
    clock = Clock()
    r = runner("event_gateway.bpmn", clock=clock)
    instance = r.start({"order_id": "A1"})
    effects = instance.effects()
    [wait] = effects.message_waits
    assert (wait.activity_id, wait.message_name, wait.correlation_key) == (
        "paid",
        "payment_received",
        "A1",
    )
    [timer] = effects.timers
    assert timer.activity_id == "timeout"
    assert timer.task_id == wait.task_id
    assert timer.due_at == clock.now + timedelta(hours=1)
    instance = restore(r, instance)
    assert instance.correlate_message("payment_received", {"paid": 10}, "B2") is False
    assert instance.correlate_message("payment_received", {"paid": 10}, "A1") is True
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.variables["paid"] == 10
    assert "end_paid" in activities(effects, "completed")
    assert "end_timeout" not in activities(effects, "completed")


def test_event_based_gateway_timer_wins():
    clock = Clock()
    r = runner("event_gateway.bpmn", clock=clock)
    start = clock.now
    instance = restore(r, r.start({"order_id": "A1"}))
    instance.fire_due_timers(start.replace(minute=59))
    assert instance.effects().status == "running"
    instance = restore(r, instance)
    instance.fire_due_timers(clock.advance(hours=1, seconds=1))
    effects = instance.effects()
    assert effects.status == "completed"
    assert "end_timeout" in activities(effects, "completed")
    assert effects.message_waits == ()


def test_embedded_subprocess_runs_its_own_flow():
    r = runner("subprocess.bpmn")
    instance = r.start({})
    effects = instance.effects()
    [task] = effects.user_tasks
    assert task.activity_id == "fill_in"
    assert activities(effects, "entered") == ["start", "prepare", "prepare_start", "fill_in"]
    instance = restore(r, instance)
    instance.complete_user_task(task.task_id, {"document": "doc-1"})
    [job] = instance.effects().service_tasks
    assert (job.activity_id, job.inputs) == ("archive", {"doc": "doc-1"})
    instance = restore(r, instance)
    instance.complete_service_task(job.task_id, {})
    assert instance.effects().status == "completed"
    assert instance.effects().variables == {"document": "doc-1"}


def test_call_activity_runs_the_called_process_with_parent_variables():
    r = runner("call_parent.bpmn", called={"child_process": fixture("call_child.bpmn")})
    instance = r.start({"x": 1})
    [child_task] = instance.effects().user_tasks
    assert child_task.activity_id == "child_task"
    instance = restore(r, instance)
    instance.complete_user_task(child_task.task_id, {"y": 2})
    effects = instance.effects()
    [after] = effects.user_tasks
    assert after.activity_id == "after_call"
    assert effects.variables == {"x": 1, "y": 2}
    instance = restore(r, instance)
    instance.complete_user_task(after.task_id, {})
    assert instance.effects().status == "completed"
