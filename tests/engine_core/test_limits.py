"""Bounds on engine work (decision 022): long loops run to their end, runaway models stop with a
reason instead of running for minutes, and "completed" means an end was reached."""

from __future__ import annotations

import time

import pytest

from apps.engine.core.compile import compile_bpmn
from apps.engine.core.errors import BpmnValidationError, WorkflowRuntimeError
from apps.engine.core.limits import EngineLimits, tree_size
from apps.engine.core.runner import ProcessRunner
from apps.engine.core.spiff_patches import LIVE_STATES, live_tasks
from tests.engine_core.helpers import compiled, fixture, restore, runner


def linear_process(steps: int, process_id: str = "linear") -> bytes:
    """start -> t0 -> t1 -> ... -> end, all plain tasks (no waits)."""
    nodes = [f'<bpmn:task id="t{i}"/>' for i in range(steps)]
    flows = []
    previous = "start"
    for i in range(steps):
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}"/>')
        previous = f"t{i}"
    flows.append(f'<bpmn:sequenceFlow id="f_end" sourceRef="{previous}" targetRef="end"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" '
        'targetNamespace="http://flowgate.dev/test">'
        f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="start"/>'
        + "".join(nodes)
        + '<bpmn:endEvent id="end"/>'
        + "".join(flows)
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


def run_counter_loop(r: ProcessRunner, turns: int, *, restore_every: int = 0):
    instance = r.start({"i": 0, "n": turns})
    done = 0
    while True:
        waiting = instance.effects().service_tasks
        if not waiting:
            return instance, done
        instance.complete_service_task(waiting[0].task_id, {})
        done += 1
        if restore_every and done % restore_every == 0:
            instance = restore(r, instance)


# -- long loops run to their end --------------------------------------------------------------


def test_a_counted_loop_of_600_turns_completes_with_its_variables():
    # given a gateway loop that counts i up to n (about 2 tasks per turn: 1,200 levels deep,
    # past SpiffWorkflow's iterator depth of 1,000, where it used to end "completed" with {})
    r = runner("loop_counter.bpmn")
    # when it runs 600 turns, saved and restored every 100 as the runtime does
    started = time.monotonic()
    instance, turns = run_counter_loop(r, 600, restore_every=100)
    elapsed = time.monotonic() - started
    # then it reached its end event with the right variables
    effects = instance.effects()
    assert turns == 600
    assert effects.status == "completed"
    assert effects.variables == {"i": 600, "n": 600}
    assert effects.halted is None
    assert elapsed < 30  # about 2 s on the reference machine: each step is not a tree walk


def test_a_loop_stopped_half_way_is_running_not_completed():
    r = runner("loop_counter.bpmn")
    instance, _ = run_counter_loop(r, 0)  # n = 0: ends after the first turn
    assert instance.effects().status == "completed"
    instance = r.start({"i": 0, "n": 600})
    for _ in range(550):
        [task] = instance.effects().service_tasks
        instance.complete_service_task(task.task_id, {})
    instance = restore(r, instance)
    effects = instance.effects()
    assert effects.status == "running"
    assert effects.variables == {"i": 550, "n": 600}
    assert [t.activity_id for t in effects.service_tasks] == ["inc"]


# -- runaway runs stop with a reason ----------------------------------------------------------


def test_an_endless_loop_stops_at_the_step_limit_and_says_so():
    r = ProcessRunner(compiled("endless_loop.bpmn").spec_json, limits=EngineLimits(300))
    started = time.monotonic()
    instance = r.start({"stop": 0})
    assert time.monotonic() - started < 5
    effects = instance.effects()
    assert effects.status == "running"  # never "completed": no end event was reached
    assert effects.variables == {"stop": 0}
    assert effects.halted is not None
    assert "after 300 steps in a row without reaching a wait" in effects.halted
    assert "loops without end" in effects.halted
    assert effects.halted_at in {"work", "more"}
    # the stopped run is a consistent state: it saves, loads, and runs the next 300 steps
    instance = restore(r, instance)
    size = tree_size(instance._wf)
    instance.resume()
    assert "after 300 steps" in (instance.effects().halted or "")
    assert tree_size(instance._wf) > size


def test_an_endless_loop_stops_at_the_time_limit():
    limits = EngineLimits(max_steps_per_run=10**9, max_seconds_per_run=0.3)
    r = ProcessRunner(compiled("endless_loop.bpmn").spec_json, limits=limits)
    started = time.monotonic()
    instance = r.start({"stop": 0})
    assert time.monotonic() - started < 3
    halted = instance.effects().halted
    assert halted is not None and "after 0.3 seconds of steps" in halted


def test_an_instance_stops_growing_at_the_size_limit():
    limits = EngineLimits(max_steps_per_run=10**9, max_instance_tasks=500)
    r = ProcessRunner(compiled("endless_loop.bpmn").spec_json, limits=limits)
    instance = r.start({"stop": 0})
    halted = instance.effects().halted
    assert halted is not None and "the limit for one instance is 500" in halted
    assert tree_size(instance._wf) == 500
    instance.resume()  # still over the limit: stops again at once
    assert tree_size(instance._wf) == 500
    assert instance.effects().status == "running"


def test_nested_subprocesses_stop_at_the_nesting_limit():
    r = ProcessRunner(compiled("subprocess.bpmn").spec_json, limits=EngineLimits(max_nesting=0))
    halted = r.start({}).effects().halted
    assert halted is not None
    assert "open 1 levels deep inside each other, the limit is 0" in halted


def test_a_multi_instance_counted_by_a_variable_refuses_more_than_the_limit():
    r = runner("mi_expression.bpmn")
    started = time.monotonic()
    with pytest.raises(WorkflowRuntimeError) as info:
        r.start({"n": 1_000_000})
    assert time.monotonic() - started < 1
    assert info.value.activity_id == "work"
    assert info.value.message == (
        "This multi-instance activity would start 1,000,000 instances; one may start at most "
        "1,000. Split the work (for example into batches handled by a called process) or lower "
        "the number."
    )
    assert r.start({"n": 1000}).effects().status == "completed"


def assert_live_index_matches(instance) -> None:
    for wf in (instance._wf, *instance._wf.subprocesses.values()):
        scanned = {t.id for t in wf.tasks.values() if t.state & LIVE_STATES}
        assert {t.id for t in live_tasks(wf)} == scanned


@pytest.mark.parametrize(
    "name", ["loop_counter.bpmn", "subprocess.bpmn", "inclusive.bpmn", "multi_instance.bpmn"]
)
def test_the_index_of_ready_and_waiting_tasks_matches_a_full_scan(name):
    # the engine finds what to run next from an index kept by every task state change
    r = runner(name)
    variables = {"i": 0, "n": 3, "wants_email": True, "wants_sms": True}
    instance = r.start({**variables, "approvers": ["a", "b", "c"], "signers": ["x", "y"]})
    for _ in range(10):
        assert_live_index_matches(instance)
        instance = restore(r, instance)
        assert_live_index_matches(instance)
        effects = instance.effects()
        if effects.service_tasks:
            instance.complete_service_task(effects.service_tasks[0].task_id, {"ok": 1})
        elif effects.user_tasks:
            instance.complete_user_task(
                effects.user_tasks[0].task_id, {"outcome": "approved", "document": "d"}
            )
        else:
            break
    assert_live_index_matches(instance)
    instance.cancel()
    assert_live_index_matches(instance)


# -- deploy-time bounds -----------------------------------------------------------------------


def problems(xml: bytes, **kwargs) -> list[tuple[str | None, str, str]]:
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(xml, **kwargs)
    return [(p.element_id, p.code, p.message) for p in info.value.problems]


def test_a_process_calling_itself_is_refused_at_deploy():
    assert problems(fixture("call_self.bpmn")) == [
        (
            "again",
            "recursive_call",
            "Call activity 'Again' leads back to a process already running ('call_self' → "
            "'call_self'): a process may not call itself, directly or through other processes, "
            "because the calls would never end. Remove the call or model the repetition as a "
            "loop or a multi-instance activity.",
        )
    ]


def test_processes_calling_each_other_are_refused_at_deploy():
    found = problems(fixture("call_ping.bpmn"), called={"pong": fixture("call_pong.bpmn")})
    assert [(element, code) for element, code, _ in found] == [("call_pong", "recursive_call")]
    assert "('ping' → 'pong' → 'ping')" in found[0][2]


def test_a_literal_multi_instance_count_above_the_limit_is_refused_at_deploy():
    assert problems(fixture("mi_literal.bpmn")) == [
        (
            "work",
            "multi_instance_too_large",
            "This multi-instance activity would start 1,000,000 instances; one may start at "
            "most 1,000. Split the work (for example into batches handled by a called process) "
            "or lower the number.",
        )
    ]
    # the limit is a setting: the same file deploys under a higher one
    compile_bpmn(fixture("mi_literal.bpmn"), limits=EngineLimits(max_multi_instance=10**6))


def test_a_linear_process_of_2000_steps_deploys_and_runs():
    # Spiff's parser recursed once per element: ~460 steps raised RecursionError
    result = compile_bpmn(linear_process(2000))
    r = ProcessRunner(result.spec_json, limits=EngineLimits(max_steps_per_run=1500))
    instance = r.start({"x": 1})
    assert "after 1,500 steps" in (instance.effects().halted or "")
    instance = restore(r, instance)
    instance.resume()
    effects = instance.effects()
    assert (effects.status, effects.halted, effects.variables) == ("completed", None, {"x": 1})


def test_a_process_past_the_size_limit_is_refused_with_a_plain_message():
    found = problems(linear_process(60), limits=EngineLimits(max_flow_nodes=50))
    assert found == [
        (
            "linear",
            "process_too_large",
            "This process has 62 elements; one process may have at most 50. Split it into "
            "processes that call each other (call activities).",
        )
    ]
    for _, _, message in found:
        assert "Error" not in message
