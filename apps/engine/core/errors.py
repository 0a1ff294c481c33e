"""Error types of the engine core.

Everything here is plain Python so the runtime (Django side) can map them to HTTP answers:
``BpmnValidationError`` / ``UnsafeXmlError`` -> 400/422 with the problem list, ``TaskNotFound`` -> 404,
``TaskStateError`` -> 409, ``TaskDataError`` -> 400, ``WorkflowRuntimeError`` -> an incident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class EngineError(Exception):
    """Base class of every error raised by ``apps.engine.core``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One modelling problem, addressed to the element a designer has to fix."""

    element_id: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BpmnValidationError(EngineError):
    """A BPMN file cannot be deployed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            summary = self.problems[0].message
        else:
            summary = f"{len(self.problems)} problems: " + "; ".join(
                p.message for p in self.problems[:5]
            )
        super().__init__(summary)

    def as_list(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]


class UnsafeXmlError(BpmnValidationError):
    """The upload is refused before any parsing work (DOCTYPE, entities, too big, too deep)."""

    def __init__(self, message: str, *, code: str = "unsafe_xml") -> None:
        super().__init__([Problem(None, code, message)])


class TaskNotFound(EngineError):
    """No task with this id exists in the instance."""


class TaskStateError(EngineError):
    """The task exists but cannot take this action now (already completed, wrong kind...)."""


class TaskDataError(EngineError):
    """The data given to complete a task is not acceptable (e.g. approval without outcome)."""


class WorkflowRuntimeError(EngineError):
    """The workflow cannot advance (an expression failed, no gateway path matched...).

    The instance state given to the call must be kept unchanged: discard the ``Instance``.
    """

    def __init__(self, message: str, *, activity_id: str | None = None) -> None:
        super().__init__(message)
        self.activity_id = activity_id
