"""Flowgate's engine core: pure Python over SpiffWorkflow; imports no framework.

The runtime (apps/engine/services.py) uses only what is exported here.
"""

from apps.engine.core.compile import CompiledProcess, compile_bpmn
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
from apps.engine.core.runner import Effects, Instance, ProcessRunner

__all__ = [
    "BpmnValidationError",
    "CompiledProcess",
    "Effects",
    "EngineError",
    "ExpressionError",
    "Instance",
    "Problem",
    "ProcessRunner",
    "TaskDataError",
    "TaskNotFound",
    "TaskStateError",
    "UnsafeXmlError",
    "WorkflowRuntimeError",
    "compile_bpmn",
]
