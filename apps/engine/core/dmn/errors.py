"""Errors of the DMN engine: a file that cannot be deployed, an evaluation that cannot finish."""

from __future__ import annotations

from ..errors import EngineError, Problem


class DmnValidationError(EngineError):
    """A DMN file cannot be deployed; ``problems`` names every problem (element, code, message)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0].message if problems else "invalid DMN"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class DmnEvaluationError(EngineError):
    """A decision could not be evaluated. ``code`` says why (``input_type``, ``input_not_allowed``,
    ``unique_overlap``, ``any_conflict``, ``bad_expression`` ...); ``decision_id`` and ``rule_ids``
    say where, so an incident or a 422 can name the decision and rule."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        decision_id: str,
        rule_ids: tuple[str, ...] = (),
        input_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.decision_id = decision_id
        self.rule_ids = rule_ids
        self.input_id = input_id

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "decision_id": self.decision_id,
            "rule_ids": list(self.rule_ids),
            "input_id": self.input_id,
        }
