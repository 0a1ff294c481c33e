"""In-process engine benchmarks: bare SpiffWorkflow versus our durable step loop.

``bench_bare(n)`` is the baseline the issue asks for: the stock Spiff parser and script engine, no
persistence, every service task completed in-process. ``bench_durable(n)`` runs the same process the
way the runtime does, with ``load -> act -> effects -> dump`` around every step, so the ratio
between the two is the cost of durability inside the engine (database and broker come on top).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.util.task import TaskState

from apps.engine.core.compile import compile_bpmn
from apps.engine.core.runner import ProcessRunner

#: The issue's benchmark process: service -> parallel split -> 2 services -> join -> end.
BENCH_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="defs" targetNamespace="bench">
  <bpmn:process id="bench" name="Five automatic steps" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="fetch" flowgate:connector="noop">
      <bpmn:extensionElements><flowgate:output name="n" expression="result['n']"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:parallelGateway id="split"/>
    <bpmn:serviceTask id="left" flowgate:connector="noop"/>
    <bpmn:serviceTask id="right" flowgate:connector="noop"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fetch"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fetch" targetRef="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="left"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="right"/>
    <bpmn:sequenceFlow id="f5" sourceRef="left" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="right" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class BenchResult:
    instances: int
    seconds: float
    service_steps: int
    state_bytes_max: int = 0

    @property
    def instances_per_second(self) -> float:
        return self.instances / self.seconds if self.seconds else float("inf")


def bench_bare(n: int, xml: bytes = BENCH_BPMN, process_id: str = "bench") -> BenchResult:
    """Stock SpiffWorkflow, in process, no persistence (the baseline)."""
    from lxml import etree

    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(xml))
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    steps = 0
    started = time.perf_counter()
    for _ in range(n):
        workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            waiting = workflow.get_tasks(state=TaskState.STARTED)
            if not waiting:
                raise RuntimeError("bare benchmark process stopped without a service task")
            for task in waiting:
                task.set_data(n=1)
                task.complete()
                steps += 1
            workflow.do_engine_steps()
    return BenchResult(n, time.perf_counter() - started, steps)


def bench_durable(n: int, xml: bytes = BENCH_BPMN) -> BenchResult:
    """Our runner with a dump/load round trip around every step, as the runtime does it."""
    runner = ProcessRunner(compile_bpmn(xml).spec_json)
    steps = 0
    biggest = 0
    started = time.perf_counter()
    for _ in range(n):
        instance = runner.start({})
        state = instance.dump()
        pending: list[Any] = list(instance.effects().service_tasks)
        while pending:
            job = pending.pop()
            instance = runner.load(state)
            instance.complete_service_task(job.task_id, {"n": 1})
            effects = instance.effects()
            state = instance.dump()
            biggest = max(biggest, len(state))
            steps += 1
            known = {j.task_id for j in pending}
            pending.extend(j for j in effects.service_tasks if j.task_id not in known)
        if effects.status != "completed":
            raise RuntimeError(f"durable benchmark instance ended {effects.status}")
    return BenchResult(n, time.perf_counter() - started, steps, biggest)


def main() -> None:  # pragma: no cover - manual tool
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    bare = bench_bare(n)
    durable = bench_durable(n)
    print(f"bare:    {bare.instances_per_second:8.1f} instances/s ({bare.service_steps} steps)")
    print(
        f"durable: {durable.instances_per_second:8.1f} instances/s ({durable.service_steps} steps, "
        f"state <= {durable.state_bytes_max} bytes)"
    )
    print(f"ratio:   {durable.instances_per_second / bare.instances_per_second:.0%}")


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["BENCH_BPMN", "BenchResult", "bench_bare", "bench_durable", "Path"]
