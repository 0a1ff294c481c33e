"""core.migration without Django: what a plan refuses (scopes that changed), and what a move keeps."""

from __future__ import annotations

from apps.engine.core.compile import compile_bpmn
from apps.engine.core.migration import migrate, migration_plan
from apps.engine.core.runner import ProcessRunner

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="d" targetNamespace="t">'
)


def runner(body: str) -> ProcessRunner:
    xml = (
        HEAD + f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    )
    return ProcessRunner(compile_bpmn(xml.encode()).spec_json)


def user(task_id: str, extra: str = "") -> str:
    return f'<bpmn:userTask id="{task_id}" flowgate:candidateGroups="a">{extra}</bpmn:userTask>'


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in pairs
    )


def subprocess(inner: str) -> str:
    return (
        f'<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/>{inner}<bpmn:endEvent id="se"/>'
        + flows(("ss", "inner"), ("inner", "se"))
        + "</bpmn:subProcess>"
    )


def with_subprocess(inner: str) -> ProcessRunner:
    return runner(
        '<bpmn:startEvent id="s"/>'
        + subprocess(inner)
        + '<bpmn:endEvent id="e"/>'
        + flows(("s", "sub"), ("sub", "e"))
    )


def mi(cardinality: int) -> ProcessRunner:
    loop = (
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>"
        f"{cardinality}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
    )
    return runner(
        '<bpmn:startEvent id="s"/>'
        + user("vote", loop)
        + '<bpmn:endEvent id="e"/>'
        + flows(("s", "vote"), ("vote", "e"))
    )


def problems(plan) -> list[tuple[str, str]]:
    return [(p.activity_id, p.code) for p in plan.problems]


def test_an_active_element_in_a_changed_subprocess_is_refused():
    old = with_subprocess(user("inner"))
    instance = old.load(old.start({}).dump())
    changed = with_subprocess(
        user("inner", "<bpmn:documentation>new</bpmn:documentation>").replace(
            'candidateGroups="a"', 'candidateGroups="b"'
        )
    )
    plan = migration_plan(instance, changed, {})
    assert ("inner", "scope_changed") in problems(plan)
    assert [(a.activity_id, a.scope) for a in plan.active if a.scope] == [("inner", "sub")]


def test_an_active_element_in_an_unchanged_subprocess_moves():
    old = with_subprocess(user("inner"))
    instance = old.load(old.start({"x": 1}).dump())
    same = with_subprocess(user("inner"))
    assert problems(migration_plan(instance, same, {})) == []
    moved = same.load(migrate(instance, same, {}).dump())
    [task] = moved.effects().user_tasks
    assert task.activity_id == "inner"
    moved.complete_user_task(task.task_id, {})
    assert (moved.effects().status, moved.effects().variables) == ("completed", {"x": 1})


def test_an_active_multi_instance_whose_cardinality_changed_is_refused():
    old = mi(2)
    instance = old.load(old.start({}).dump())
    assert len(instance.effects().user_tasks) == 2
    plan = migration_plan(instance, mi(3), {})
    assert ("vote", "scope_changed") in problems(plan)
    assert problems(migration_plan(instance, mi(2), {})) == []


def test_finished_steps_the_new_version_dropped_leave_the_history_and_the_rest_runs():
    old = runner(
        '<bpmn:startEvent id="s"/>'
        + user("a")
        + user("b")
        + '<bpmn:endEvent id="e"/>'
        + flows(("s", "a"), ("a", "b"), ("b", "e"))
    )
    new = runner(
        '<bpmn:startEvent id="s"/>'
        + user("b")
        + user("c")
        + '<bpmn:endEvent id="e"/>'
        + flows(("s", "b"), ("b", "c"), ("c", "e"))
    )
    instance = old.load(old.start({}).dump())
    [a] = instance.effects().user_tasks
    instance.complete_user_task(a.task_id, {"a": 1})
    moved = new.load(migrate(old.load(instance.dump()), new, {}).dump())
    [b] = moved.effects().user_tasks
    assert b.activity_id == "b"
    moved.complete_user_task(b.task_id, {"b": 2})
    [c] = moved.effects().user_tasks
    assert c.activity_id == "c"
    moved.complete_user_task(c.task_id, {})
    assert (moved.effects().status, moved.effects().variables) == ("completed", {"a": 1, "b": 2})
