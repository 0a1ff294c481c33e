"""The script engine never executes code; runtime expression failures are clean errors."""

import pytest

from apps.engine.core.errors import WorkflowRuntimeError
from apps.engine.core.expressions import ExpressionError
from apps.engine.core.specs import SCRIPT_ENGINE, ExpressionEnvironment, ScriptRefusedError
from tests.benchmarks.core_bench import bench_bare, bench_durable
from tests.engine_core.helpers import runner


def test_script_engine_refuses_to_execute():
    with pytest.raises(ScriptRefusedError, match="use a service task bound to a connector"):
        SCRIPT_ENGINE.execute(None, "import os")
    with pytest.raises(ScriptRefusedError):
        ExpressionEnvironment().execute("x = 1", {})


def test_script_engine_evaluates_only_the_whitelisted_language():
    environment = ExpressionEnvironment()
    assert environment.evaluate("${amount > 1000}", {"amount": 1001}) is True
    assert environment.evaluate("a + b", {"a": 1}, external_context={"b": 2}) == 3
    with pytest.raises(ExpressionError):
        environment.evaluate("().__class__.__bases__", {})
    with pytest.raises(ExpressionError):
        environment.evaluate("__import__('os')", {})


def test_failing_input_mapping_is_a_runtime_error_with_the_activity():
    r = runner("user_service.bpmn")
    instance = r.start({})  # no "customer": the notify input mapping cannot be evaluated
    [task] = instance.effects().user_tasks
    with pytest.raises(WorkflowRuntimeError) as info:
        instance.complete_user_task(task.task_id, {"outcome": "approved"})
    assert info.value.activity_id == "notify"
    assert "customer" in info.value.message


def test_benchmark_helpers_run_the_same_five_step_process():
    bare = bench_bare(3)
    durable = bench_durable(3)
    assert (bare.instances, bare.service_steps) == (3, 9)
    assert (durable.instances, durable.service_steps) == (3, 9)
    assert 0 < durable.state_bytes_max < 2000
