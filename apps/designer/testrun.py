"""Test runs from the designer: start an instance with sample variables, stub service tasks with
fixed results, complete human tasks from the test panel, and read back the path the instance
took (which elements completed, which flows were taken, where it waits) with each step's
variables.

The path is read from the instance's engine state (``{"v": 1, "wf": ...}``, the compact task
tree documented in apps/engine/core/state.py: one row per task, ``[id, parent index, state, spec name, last state
change, triggered, internal data, data delta]``), so it needs no extra bookkeeping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from lxml import etree

from apps.accounts.roles import Role
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound
from apps.designer.models import TestRunStubs
from apps.engine import services as engine
from apps.engine.core.approvals import decision_variables
from apps.engine.core.xml import parse_xml
from apps.engine.models import Job, JobStatus, ProcessInstance
from apps.processes.models import ProcessVersion

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FG = "{http://flowgate.dev/schema/bpmn/1.0}"
# SpiffWorkflow task states (SpiffWorkflow.util.task.TaskState)
WAITING, READY, STARTED, COMPLETED, ERROR = 8, 16, 32, 64, 128
WAITING_STATES = WAITING | READY | STARTED
TEST_RUN_KEY = "designer test run"
MAX_STUB_ROUNDS = 100
WORKER_ID = "designer-test-run"


@dataclass
class Step:
    activity_id: str
    name: str
    type: str
    status: str  # completed | waiting | error
    at: float
    task_id: str
    variables: dict[str, Any]
    approval: bool = False
    outcome_variable: str = "outcome"
    form: dict | None = None  # a waiting user task's form (form-js schema), for the test panel

    def as_dict(self) -> dict:
        return {
            "activity_id": self.activity_id,
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "variables": self.variables,
            "approval": self.approval,
            "outcome_variable": self.outcome_variable,
            "form": self.form,
        }


@dataclass
class Trace:
    instance_id: int
    status: str
    steps: list[Step] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def waiting(self) -> list[Step]:
        return [s for s in self.steps if s.status == "waiting"]

    def as_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "status": self.status,
            "steps": [s.as_dict() for s in self.steps],
            "completed": [s.activity_id for s in self.steps if s.status == "completed"],
            "waiting": [s.activity_id for s in self.waiting],
            "errors": [s.activity_id for s in self.steps if s.status == "error"],
            "flows": self.flows,
            "variables": self.variables,
        }


def _elements(xml: str) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """BPMN elements by id, and flow id by (source, target)."""
    root = parse_xml(xml.encode("utf-8"))
    nodes = {
        n.get("id"): n
        for n in root.iter()
        if isinstance(n.tag, str) and n.tag.startswith(BPMN) and n.get("id")
    }
    flows = {
        (f.get("sourceRef"), f.get("targetRef")): f.get("id")
        for f in root.iter(f"{BPMN}sequenceFlow")
    }
    return nodes, flows


def _rows(state: dict) -> list[list[Any]]:
    rows = list(state.get("tasks", []))
    for sub in (state.get("subprocesses") or {}).values():
        rows.extend(sub.get("tasks", []))
    return rows


def _task_data(rows: list[list[Any]]) -> list[dict]:
    """Each row's full data (the rows store deltas against their parent)."""
    data: list[dict] = []
    for row in rows:
        parent, delta = row[1], row[7]
        if parent < 0 or parent >= len(data):
            data.append(dict(delta) if isinstance(delta, dict) else {})
            continue
        merged = dict(data[parent])
        if delta:
            merged.update(delta[0])
            for key in delta[1]:
                merged.pop(key, None)
        data.append(merged)
    return data


HUMAN_TASKS = ("userTask", "manualTask", "task")


def _form_of(node: Any) -> dict | None:
    """The ``<flowgate:form>`` schema of an element (None without one or when unreadable)."""
    form = node.find(f"{BPMN}extensionElements/{FG}form")
    try:
        schema = json.loads(form.text) if form is not None and form.text else None
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def trace_of(instance: ProcessInstance, xml: str) -> Trace:
    """The path ``instance`` took through the diagram ``xml`` (its version's)."""
    nodes, flows = _elements(xml)
    stored = json.loads(instance.state or "{}")
    state = stored.get("wf", stored)  # versioned envelope {"v", "status", "wf"}
    rows = _rows(state)
    data = _task_data(_rows({"tasks": state.get("tasks", [])}))
    data += [{} for _ in range(len(rows) - len(data))]
    steps: list[Step] = []
    taken: list[str] = []
    by_index = {}
    for index, row in enumerate(rows):
        task_id, parent, task_state, spec = row[0], row[1], row[2], row[3]
        by_index[index] = spec
        node = nodes.get(spec)
        if node is None or node.tag == f"{BPMN}sequenceFlow":
            continue
        if task_state & COMPLETED:
            status = "completed"
        elif task_state & ERROR:
            status = "error"
        elif task_state & WAITING_STATES:
            status = "waiting"
        else:
            continue
        kind = etree.QName(node).localname
        variables = {k: v for k, v in data[index].items() if k != "data_objects"}
        steps.append(
            Step(
                activity_id=spec,
                name=node.get("name") or spec,
                type=kind,
                status=status,
                at=row[4],
                task_id=task_id,
                variables=variables,
                approval=(node.get(f"{FG}approval") or "").lower() == "true",
                outcome_variable=node.get(f"{FG}outcomeVariable") or "outcome",
                form=_form_of(node) if status == "waiting" and kind in HUMAN_TASKS else None,
            )
        )
        # The flow from the nearest BPMN element above this one in the task tree.
        source_index = parent
        while source_index >= 0 and by_index.get(source_index) not in nodes:
            source_index = rows[source_index][1] if source_index < len(rows) else -1
        source = by_index.get(source_index)
        flow = flows.get((source, spec)) if source is not None else None
        if flow and flow not in taken:
            taken.append(flow)
    steps.sort(key=lambda s: (s.status == "waiting", s.at))
    return Trace(
        instance_id=instance.pk,
        status=instance.status,
        steps=steps,
        flows=taken,
        variables=instance.variables if isinstance(instance.variables, dict) else {},
    )


def _check_stubs(stubs: Any) -> dict[str, dict] | None:
    if stubs is None:
        return None
    if not isinstance(stubs, dict) or not all(isinstance(v, dict) for v in stubs.values()):
        raise InvalidInput(
            'Stub results must be a JSON object of task id -> result object, e.g. {"notify": {}}.',
            code="invalid_stubs",
        )
    return stubs


def _check_real(real: Any) -> list[str]:
    if real is None:
        return []
    if not isinstance(real, list) or not all(isinstance(v, str) for v in real):
        raise InvalidInput(
            'Tasks to run for real must be a list of task ids, e.g. ["notify"].',
            code="invalid_real",
        )
    return real


def stub_for_job(job: Any) -> dict | None:
    """The engine's job-stub hook: the stub result of a test run's stubbed service task (on a
    worker too), None for every other job. When the engine has the job's instance at hand (the
    chained path, which runs most automated steps) an instance that is not a test run costs no
    query; otherwise one primary-key-sized lookup on a small table."""
    if Job.instance.is_cached(job) and not job.instance.is_test_run:
        return None
    row = TestRunStubs.objects.filter(instance_id=job.instance_id).values("stubs", "real").first()
    if row is None or job.activity_id in row["real"]:
        return None
    result = row["stubs"].get(job.activity_id, {})
    return result if isinstance(result, dict) else {}


def service_tasks_stub(instance: ProcessInstance, real=(), *, execute=None) -> None:
    """Run the instance's due stubbed service tasks now, as often as new ones appear: each
    completes with its stub result (``stub_for_job``, from the instance's TestRunStubs row). Tasks
    in ``real`` are left to the workers; one that directly follows a stubbed step may run in this
    call, as a worker would run it (the inline chain), with its real connector. ``execute``
    (job -> result) replaces that lookup, for callers that stub without a TestRunStubs row."""
    for _ in range(MAX_STUB_ROUNDS):
        pending = list(
            Job.objects.filter(instance=instance, status=JobStatus.PENDING)
            .exclude(activity_id__in=list(real))
            .values_list("pk", flat=True)
        )
        if not pending:
            return
        for job_id in pending:
            engine.job_run(
                job_id=job_id, worker_id=WORKER_ID, execute=execute, instance_id=instance.pk
            )


def testrun_start(
    *,
    version: ProcessVersion,
    variables: Any,
    stubs: Any,
    actor: Actor,
    user=None,
    real: Any = None,
) -> ProcessInstance:
    """Start a test instance of ``version`` (any deployed version, not only the latest).
    ``stubs`` None: service tasks run for real (by the workers); a dict: each service task
    completes with ``stubs[task id]`` (or {}) instead of calling its connector, except the task
    ids in ``real``, which run for real; stubbed tasks due now complete in this request."""
    stubs = _check_stubs(stubs)
    real = _check_real(real)
    with transaction.atomic():
        instance = engine.instance_start(
            version=version,
            variables=variables,
            business_key=TEST_RUN_KEY,
            actor=actor,
            started_by=user,
            test_run=True,
        )
        if stubs is not None:
            # Before the first doorbell (rung after commit): workers see the stubs too.
            TestRunStubs.objects.create(instance=instance, stubs=stubs, real=real)
            service_tasks_stub(instance, real)
    instance.refresh_from_db()
    return instance


def testrun_complete_task(
    *,
    instance_id: int,
    activity_id: str,
    data: Any,
    approved: bool | None,
    stubs: Any,
    actor: Actor,
) -> ProcessInstance:
    """Complete the waiting human task ``activity_id`` of a test run with ``data`` (and, for an
    approval, its outcome), then run stubbed service tasks that follow."""
    if not isinstance(data, dict):
        raise InvalidInput("Task data must be a JSON object.", code="invalid_data")
    stubs = _check_stubs(stubs)
    with transaction.atomic():
        instance = engine.instance_lock(instance_id=instance_id)
        if not instance.is_test_run:
            raise NotFound(f"Instance {instance_id} is not a test run.", code="not_a_test_run")
        trace = trace_of(instance, instance.version.xml)
        step = next((s for s in trace.waiting if s.activity_id == activity_id), None)
        if step is None or step.type not in HUMAN_TASKS:
            raise Conflict(
                f"'{activity_id}' is not a human task waiting in this test run.",
                code="task_not_waiting",
            )
        if step.approval:
            if approved is None:
                raise InvalidInput("Approve or reject this approval step.", code="invalid_data")
            # As the inbox does (one rule): 'approved' boolean, the outcome variable's text.
            data = decision_variables(
                data, approved=approved, outcome_variable=step.outcome_variable
            )
        if stubs is not None:  # new stub results for the steps after this one
            settings, _ = TestRunStubs.objects.get_or_create(instance=instance)
            settings.stubs = stubs
            settings.save(update_fields=["stubs"])
        engine.user_task_complete(instance=instance, task_id=step.task_id, data=data, actor=actor)
        if stubs is not None:
            service_tasks_stub(instance, settings.real)
    instance.refresh_from_db()
    return instance


def testrun_version(*, key: str, number: int | None) -> ProcessVersion:
    """Version ``number`` of process ``key`` if it is deployed; the latest deployed without one."""
    if number is None:
        return engine.version_latest_deployed(process_key=key)
    version = (
        ProcessVersion.objects.select_related("definition")
        .filter(definition__key=key, number=number)
        .first()
    )
    if version is None:
        raise NotFound(f"Process '{key}' has no version {number}.", code="version_not_found")
    if not version.is_deployed:
        raise Conflict(
            f"Version {number} of '{key}' is a draft with problems; deploy it to test-run it.",
            code="version_not_deployed",
        )
    return version


def testrun_get(*, instance_id: int, user=None) -> ProcessInstance:
    """A test run (``ProcessInstance.is_test_run``; the business key proves nothing, a requester
    may choose it). With ``user``: only the designer who started it, or an admin."""
    instance = (
        ProcessInstance.objects.select_related("version", "version__definition")
        .filter(pk=instance_id, is_test_run=True)
        .first()
    )
    if instance is not None and user is not None and not _may_see(user, instance):
        instance = None
    if instance is None:
        raise NotFound(f"There is no test run {instance_id}.", code="not_a_test_run")
    return instance


def _may_see(user, instance: ProcessInstance) -> bool:
    return instance.started_by_id == user.pk or Role.ADMIN.value in user.role_names()


SERVICE_TASKS = ("serviceTask", "sendTask", "businessRuleTask")


def service_tasks_of(*, xml: str) -> list[dict[str, str]]:
    """[{id, name}] of the service tasks of a diagram (the test panel's "run for real" list)."""
    try:
        nodes, _ = _elements(xml)
    except Exception:  # noqa: BLE001 - a broken draft just gets no list
        return []
    return [
        {"id": element_id, "name": node.get("name") or element_id}
        for element_id, node in nodes.items()
        if etree.QName(node).localname in SERVICE_TASKS
    ]


def start_form_of(*, xml: str) -> dict | None:
    """The start event's form (the test panel shows its fields for the sample variables)."""
    try:
        nodes, _ = _elements(xml)
    except Exception:  # noqa: BLE001 - a broken draft just gets no form
        return None
    for node in nodes.values():
        if etree.QName(node).localname == "startEvent" and _form_of(node):
            return _form_of(node)
    return None


SAMPLE_VALUES = {"number": 0, "checkbox": False, "checklist": [], "taglist": []}


def testrun_defaults(*, xml: str) -> tuple[dict[str, Any], dict[str, dict]]:
    """Sample variables from the start form (its defaults, else an empty value per type) and an
    empty stub result per service task, to prefill the test panel."""
    try:
        nodes, _ = _elements(xml)
    except Exception:  # noqa: BLE001 - a broken draft just gets no prefill
        return {}, {}
    variables: dict[str, Any] = {}
    stubs: dict[str, dict] = {}
    for element_id, node in nodes.items():
        local = etree.QName(node).localname
        if local in ("serviceTask", "sendTask", "businessRuleTask"):
            stubs[element_id] = {}
        if local != "startEvent":
            continue
        schema = _form_of(node) or {}
        for component in schema.get("components", []):
            key = component.get("key") if isinstance(component, dict) else None
            if key and key not in variables:
                variables[key] = component.get(
                    "defaultValue", SAMPLE_VALUES.get(component.get("type"), "")
                )
    return variables, stubs
