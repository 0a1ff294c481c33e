"""Compile a BPMN upload into a stored, runnable spec — or a complete list of problems."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

from . import compensation_model
from .deploy_bounds import (
    call_cycle_problems,
    cardinality_problems,
    flow_node_count,
    parse_deep,
    size_problems,
)
from .errors import BpmnValidationError, Problem
from .expressions import check
from .limits import DEFAULT_LIMITS, EngineLimits
from .lint import dedupe, is_bpmn, lint, local
from .parser import NSMAP, FlowgateBpmnParser, service_connector, unwrap_name
from .reserved_ids import rename_reserved, restore_ids
from .specs import REGISTRY
from .timers import is_iso_literal
from .xml import parse_xml

SPEC_FORMAT = 1

TimerStartKind = Literal["date", "cycle", "duration"]

_validator: BpmnValidator | None = None


def _schema_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator


@dataclass(frozen=True)
class CompiledProcess:
    process_id: str
    name: str
    spec_json: str
    called_process_ids: frozenset[str]
    timer_starts: tuple[tuple[str, TimerStartKind, str], ...]
    message_starts: tuple[str, ...]
    user_task_ids: frozenset[str]
    connectors: frozenset[str]


def _schema_problems(root: Any) -> list[tuple[str | None, str, str]]:
    validator = _schema_validator()
    validator.preprocess(root)
    schema = validator.validator
    if schema.validate(root):
        return []
    problems: list[tuple[str | None, str, str]] = []
    for entry in list(schema.error_log)[:20]:
        message = entry.message.replace("{http://www.omg.org/spec/BPMN/20100524/MODEL}", "bpmn:")
        problems.append((None, "schema", f"Line {entry.line}: {message}"))
    return problems


def _spiff_problem(exc: Exception) -> tuple[str | None, str, str]:
    """Spiff's error in words for a person: never a Python exception's name or repr (Spiff
    wraps any other exception as ``ValidationException(repr(exc))``)."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(exc, RecursionError) or isinstance(inner, RecursionError):
        return (
            None,
            "process_too_deep",
            "This process is too long for the engine to read in one piece; split it into "
            "processes that call each other (call activities).",
        )
    if isinstance(exc, ValidationException):
        element_id = getattr(exc, "id", None) or None
        if inner is not None and not isinstance(inner, ValidationException):
            detail = str(inner).strip()
            message = "The engine cannot read this element" + (f": {detail}" if detail else ".")
        else:
            message = str(exc).split("\n")[0].strip()
        return (element_id, "engine", message or "The engine cannot read this element.")
    detail = str(exc).strip()
    return (None, "engine", "The engine cannot read this file" + (f": {detail}" if detail else "."))


def _timer_starts(process: Any) -> list[tuple[str, TimerStartKind, str]]:
    result: list[tuple[str, TimerStartKind, str]] = []
    kinds: dict[str, TimerStartKind] = {
        "timeDate": "date",
        "timeCycle": "cycle",
        "timeDuration": "duration",
    }
    for event in process.xpath("./bpmn:startEvent", namespaces=NSMAP):
        for timer in event.xpath("./bpmn:timerEventDefinition/*", namespaces=NSMAP):
            kind = kinds.get(local(timer.tag))
            if kind is None:
                continue
            value = unwrap_name(timer.text or "")
            value = value.strip("'\"") if not is_iso_literal(value) else value
            result.append((event.get("id"), kind, value))
    return result


def _message_starts(process: Any, root: Any) -> list[str]:
    names = {m.get("id"): m.get("name") for m in root.xpath(".//bpmn:message", namespaces=NSMAP)}
    result = []
    for definition in process.xpath(
        "./bpmn:startEvent/bpmn:messageEventDefinition", namespaces=NSMAP
    ):
        name = names.get(definition.get("messageRef"))
        if name:
            result.append(name)
    return result


def compile_bpmn(
    xml: bytes | str,
    *,
    process_id: str | None = None,
    called: Mapping[str, bytes | str] | None = None,
    known_roles: Collection[str] | None = None,
    known_connectors: Collection[str] | None = None,
    limits: EngineLimits = DEFAULT_LIMITS,
) -> CompiledProcess:
    """Validate and compile ``xml``; raise ``BpmnValidationError`` listing every problem.

    ``process_id`` picks the process when the file has several executable ones (default: the
    first executable process). ``called`` maps a called process id to the XML of the deployed
    version the runtime picked for it. ``known_roles`` / ``known_connectors``, when given, are
    checked against candidate groups, lanes and connector names. ``limits`` bounds the size of
    a process and of a literal multi-instance count (``core.limits``).
    """
    root = parse_xml(xml)
    compensation_problems = compensation_model.problems(root)
    if compensation_problems:
        raise BpmnValidationError([Problem(*p) for p in dedupe(compensation_problems)])
    # compensation becomes elements Spiff runs (and the lint reads): decision 034
    modelled_ids = compensation_model.element_ids(root)
    root, compensation_plan = compensation_model.transform(root)
    problems = lint(
        root,
        check_expression=check,
        known_roles=known_roles,
        known_connectors=known_connectors,
    )
    if problems and any(code in ("not_bpmn",) for _, code, _ in problems):
        raise BpmnValidationError([Problem(*p) for p in problems])
    problems.extend(_schema_problems(root))
    problems.extend(size_problems(root, limits))
    problems.extend(cardinality_problems(root, limits))

    executable = [
        p for p in root.xpath("./bpmn:process", namespaces=NSMAP) if p.get("isExecutable") == "true"
    ]
    process_node = None
    if process_id is not None:
        process_node = next((p for p in executable if p.get("id") == process_id), None)
        if process_node is None:
            problems.append(
                (process_id, "unknown_process", f"There is no executable process '{process_id}'.")
            )
    elif executable:
        process_node = executable[0]

    called_roots: dict[str, Any] = {}
    for called_id, called_xml in (called or {}).items():
        try:
            called_roots[called_id] = parse_xml(called_xml)
        except BpmnValidationError as exc:
            problems.extend(
                (called_id, "called_process_invalid", f"Called process '{called_id}': {p.message}")
                for p in exc.problems
            )

    spec_json = ""
    called_ids: set[str] = set()
    user_task_ids: set[str] = set()
    connectors: set[str] = set()
    if process_node is not None:
        local_ids = {p.get("id") for p in root.xpath(".//bpmn:process", namespaces=NSMAP)}
        for activity in root.xpath(".//bpmn:callActivity", namespaces=NSMAP):
            target = (activity.get("calledElement") or "").strip()
            if not target or target in local_ids:
                continue
            called_ids.add(target)
            if target in called_roots and compensation_model.analyze(called_roots[target]).present:
                problems.append(compensation_model.called_compensation_problem(activity, target))
            if target not in called_roots:
                problems.append(
                    (
                        activity.get("id"),
                        "called_process_missing",
                        f"Call activity '{activity.get('name') or activity.get('id')}' calls the "
                        f"process '{target}', which is not deployed.",
                    )
                )
        problems.extend(call_cycle_problems(root, process_node.get("id"), called_roots))
        for task in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
            user_task_ids.add(task.get("id"))
        for task in root.xpath(".//bpmn:serviceTask", namespaces=NSMAP):
            connector = service_connector(task)
            if connector:
                connectors.add(connector)

    if process_node is not None and not problems:
        # Spiff stops at its first problem, which is nearly always one the lint pass already
        # explained better; it only gets the word when our own checks found nothing.
        nodes = flow_node_count(root) + sum(flow_node_count(r) for r in called_roots.values())
        try:
            spec_json = parse_deep(
                lambda: _build_spec(
                    root, process_node.get("id"), called_roots, known_roles, compensation_plan
                ),
                nodes,
            )
        except Exception as exc:  # noqa: BLE001 - Spiff raises many types; all become problems
            problems.append(_spiff_problem(exc))

    if process_node is None and not problems:
        problems.append((None, "no_process", "The file contains no executable process."))
    if problems or process_node is None:
        problems = [compensation_model.on_modelled_element(p, modelled_ids) for p in problems]
        raise BpmnValidationError([Problem(*p) for p in dedupe(problems)])
    return CompiledProcess(
        process_id=process_node.get("id"),
        name=process_node.get("name") or process_node.get("id"),
        spec_json=spec_json,
        called_process_ids=frozenset(called_ids),
        timer_starts=tuple(_timer_starts(process_node)),
        message_starts=tuple(_message_starts(process_node, root)),
        user_task_ids=frozenset(user_task_ids),
        connectors=frozenset(connectors),
    )


def _build_spec(
    root: Any,
    process_id: str,
    called_roots: Mapping[str, Any],
    known_roles: Collection[str] | None,
    compensation_plan: Mapping[str, Any],
) -> str:
    parser = FlowgateBpmnParser(known_roles=known_roles)
    root, originals = rename_reserved(root)
    parser.add_bpmn_xml(root, filename=None)
    for called_id, called_root in called_roots.items():
        if called_id in parser.process_parsers:
            continue
        called_root, called_originals = rename_reserved(called_root)
        originals.update(called_originals)
        parser.add_bpmn_xml(called_root, filename=None)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    restore_ids([spec, *(sub for sub in subprocess_specs.values() if sub is not None)], originals)
    for name, sub in subprocess_specs.items():
        if sub is None:
            raise ValidationException(f"The called process '{name}' is missing.")
        for task_spec in sub.task_specs.values():
            if isinstance(task_spec, SubWorkflowTask) and task_spec.spec not in subprocess_specs:
                raise ValidationException(f"The called process '{task_spec.spec}' is missing.")
    document = {
        "format": SPEC_FORMAT,
        "process_id": process_id,
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(sub) for name, sub in subprocess_specs.items()},
        "compensation": dict(compensation_plan),
    }
    return json.dumps(document, separators=(",", ":"))


__all__ = ["CompiledProcess", "compile_bpmn", "is_bpmn"]
