"""Spiff's tasks, values and exceptions in our terms: JSON-safe values, which tasks are visible
activities, a service task's info, and the error an operation raises."""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from ..compensation import model_id
from ..effects import (
    ServiceTaskInfo,
)
from ..errors import (
    WorkflowRuntimeError,
)

_spiff_logger = logging.getLogger("spiff")
if _spiff_logger.level == logging.NOTSET:
    # Spiff logs every state change at INFO; at our step rate that is the main cost otherwise.
    _spiff_logger.setLevel(logging.WARNING)


VISIBLE_STATES = (
    TaskState.WAITING
    | TaskState.READY
    | TaskState.STARTED
    | TaskState.COMPLETED
    | TaskState.ERROR
    | TaskState.CANCELLED
)


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def activity_type(spec: Any) -> str:
    name = type(spec).__name__
    return name[len("Flowgate") :] if name.startswith("Flowgate") else name


def is_visible(task: Any) -> bool:
    return getattr(task.task_spec, "bpmn_id", None) is not None


def service_task_info(task: Any) -> ServiceTaskInfo:
    spec = task.task_spec
    return ServiceTaskInfo(
        task_id=str(task.id),
        activity_id=model_id(spec),
        name=spec.bpmn_name or model_id(spec),
        connector=spec.connector or "",
        inputs=copy.deepcopy(task.internal_data.get("fg_inputs", {})),
        max_attempts=spec.max_attempts,
    )


def encode_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def runtime_error(exc: BaseException) -> WorkflowRuntimeError:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
    activity_id = model_id(spec) if getattr(spec, "bpmn_id", None) is not None else None
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    inner = exc.__cause__ or exc.__context__
    if inner is not None and str(inner) and str(inner) not in message:
        message = f"{message.rstrip('. ')}: {inner}"
    return WorkflowRuntimeError(message, activity_id=activity_id)
