"""Flowgate's engine core: pure Python over SpiffWorkflow; imports no framework.

The runtime (apps/engine/services.py) uses only what is exported here.
"""

from apps.engine.core.compile import CompiledProcess, compile_bpmn
from apps.engine.core.effects import (
    ActivityEvent,
    CompensationEvent,
    Effects,
    MessageWaitInfo,
    SentMessage,
    ServiceTaskInfo,
    TimerInfo,
    UserTaskInfo,
)
from apps.engine.core.errors import (
    BpmnValidationError,
    EngineError,
    Problem,
    TaskDataError,
    TaskNotFound,
    TaskStateError,
    UnsafeXmlError,
    WorkflowRuntimeError,
)
from apps.engine.core.expressions import ExpressionError
from apps.engine.core.limits import EngineLimits
from apps.engine.core.runner import Instance, ProcessRunner

__all__ = [
    "ActivityEvent",
    "CompensationEvent",
    "BpmnValidationError",
    "CompiledProcess",
    "Effects",
    "EngineError",
    "EngineLimits",
    "ExpressionError",
    "Instance",
    "MessageWaitInfo",
    "Problem",
    "ProcessRunner",
    "SentMessage",
    "ServiceTaskInfo",
    "TaskDataError",
    "TaskNotFound",
    "TaskStateError",
    "TimerInfo",
    "UnsafeXmlError",
    "UserTaskInfo",
    "WorkflowRuntimeError",
    "compile_bpmn",
]
