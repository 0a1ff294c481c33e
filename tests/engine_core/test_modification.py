"""core.modification without Django: a token moves forward, back, into and out of a subprocess;
the waits before and after are named; targets that cannot hold a token are refused by code."""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState

from apps.engine.core.modification import (
    TokenMoveRefused,
    active_elements,
    move_targets,
    token_move,
)
from tests.engine_core.test_migration import flows, mi, runner, subprocess, user

TIMER = (
    '<bpmn:boundaryEvent id="t" attachedToRef="b"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
)


def chain():
    return runner(
        '<bpmn:startEvent id="s"/>'
        + user("a")
        + user("b")
        + TIMER
        + '<bpmn:serviceTask id="c" flowgate:connector="echo"/>'
        + '<bpmn:endEvent id="e"/><bpmn:endEvent id="late"/>'
        + flows(("s", "a"), ("a", "b"), ("b", "c"), ("c", "e"), ("t", "late"))
    )


def test_a_token_moves_forward_with_the_target_s_boundary_timer_and_back():
    handle = chain().start({"x": 1})
    assert [e.activity_id for e in active_elements(handle)] == ["a"]
    assert [e.activity_id for e in move_targets(handle)] == ["a", "b", "c", "e", "late"]

    move = token_move(handle, "a", "b")
    assert (move.cancelled, sorted(move.entered)) == (["a"], ["b", "t"])
    assert [(w.kind, w.activity_id) for w in move.waits_removed] == [("user_task", "a")]
    assert [(w.kind, w.activity_id) for w in move.waits_created] == [
        ("user_task", "b"),
        ("timer", "t"),
    ]
    assert (move.waiting_before, move.waiting_after) == (["a"], ["b", "t"])

    moved = chain().load(handle.dump())  # the state round-trips
    move = token_move(moved, "b", "c")
    assert sorted(move.cancelled) == ["b", "t"]
    assert [(w.kind, w.activity_id) for w in move.waits_created] == [("job", "c")]
    assert moved.effects().timers == ()

    move = token_move(moved, "c", "a")
    assert [(w.kind, w.activity_id) for w in move.waits_removed] == [("job", "c")]
    task = moved.effects().user_tasks[0]
    assert task.activity_id == "a"
    moved.complete_user_task(task.task_id, {"y": 2})
    assert [u.activity_id for u in moved.effects().user_tasks] == ["b"]
    assert moved.variables() == {"x": 1, "y": 2}


def test_the_moved_token_keeps_data_set_while_it_waited_and_can_end_the_instance():
    handle = chain().start({"x": 1})
    handle._wf.get_tasks(state=TaskState.READY)[0].data["x"] = (
        5  # as an operator's variable change does
    )
    token_move(handle, "a", "b")
    assert handle.variables()["x"] == 5
    move = token_move(handle, "b", "e")
    assert move.waiting_after == []
    assert handle.effects().status == "completed"
    with pytest.raises(TokenMoveRefused) as refused:
        token_move(handle, "b", "a")
    assert refused.value.code == "ended"


@pytest.mark.parametrize(
    ("source", "target", "code"),
    [
        ("a", "t", "boundary_event"),
        ("a", "s", "start_event"),
        ("a", "nowhere", "unknown_target"),
        ("b", "a", "not_active"),
    ],
)
def test_moves_that_cannot_be_made_are_refused_by_code(source, target, code):
    handle = chain().start({})
    with pytest.raises(TokenMoveRefused) as refused:
        token_move(handle, source, target)
    assert refused.value.code == code
    assert [u.activity_id for u in handle.effects().user_tasks] == ["a"]  # nothing changed


def with_sub():
    return runner(
        '<bpmn:startEvent id="s"/>'
        + user("a")
        + subprocess(user("inner"))
        + '<bpmn:endEvent id="e"/>'
        + flows(("s", "a"), ("a", "sub"), ("sub", "e"))
    )


def test_a_token_moves_to_a_subprocess_which_starts_from_its_beginning_and_out_of_it():
    handle = with_sub().start({})
    with pytest.raises(TokenMoveRefused) as refused:
        token_move(handle, "a", "inner")
    assert refused.value.code == "inside_scope"
    assert "move the token to 'sub' itself" in str(refused.value)

    token_move(handle, "a", "sub")
    assert [u.activity_id for u in handle.effects().user_tasks] == ["inner"]
    assert [e.activity_id for e in active_elements(handle)] == ["sub"]
    with pytest.raises(TokenMoveRefused) as refused:
        token_move(handle, "inner", "a")
    assert refused.value.code == "not_active"

    move = token_move(handle, "sub", "a")
    assert "sub" in move.cancelled
    assert [u.activity_id for u in handle.effects().user_tasks] == ["a"]
    assert handle._wf.subprocesses == {}
    restored = with_sub().load(handle.dump())
    restored.complete_user_task(restored.effects().user_tasks[0].task_id, {})
    assert [u.activity_id for u in restored.effects().user_tasks] == ["inner"]


def test_a_running_multi_instance_moves_as_one_element():
    handle = mi(3).start({})
    assert len(handle.effects().user_tasks) == 3
    assert [e.activity_id for e in active_elements(handle)] == ["vote"]
    token_move(handle, "vote", "e")
    assert handle.effects().user_tasks == ()
    assert handle.effects().status == "completed"


def test_a_joining_gateway_is_refused_a_splitting_one_decides_again():
    handle = runner(
        '<bpmn:startEvent id="s"/>'
        + user("a")
        + '<bpmn:exclusiveGateway id="g" default="f_g_low"/>'
        + user("low")
        + user("high")
        + '<bpmn:exclusiveGateway id="j"/><bpmn:endEvent id="e"/>'
        + '<bpmn:sequenceFlow id="f_g_high" sourceRef="g" targetRef="high">'
        + "<bpmn:conditionExpression>x &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>"
        + flows(("s", "a"), ("a", "g"), ("g", "low"), ("low", "j"), ("high", "j"), ("j", "e"))
    ).start({"x": 9})
    with pytest.raises(TokenMoveRefused) as refused:
        token_move(handle, "a", "j")
    assert refused.value.code == "joining_gateway"
    token_move(handle, "a", "g")
    assert [u.activity_id for u in handle.effects().user_tasks] == ["high"]
