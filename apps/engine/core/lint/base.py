"""The problem list and the helpers every check uses."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..parser import NSMAP


class LinterBase:
    def __init__(
        self,
        root: Any,
        *,
        check_expression: Any,
        known_roles: Collection[str] | None,
        known_connectors: Collection[str] | None,
    ) -> None:
        self.root = root
        self.check_expression = check_expression
        self.known_roles = known_roles
        self.known_connectors = known_connectors
        self.problems: list[tuple[str | None, str, str]] = []

    # -- helpers -------------------------------------------------------------------------------

    def add(self, element_id: str | None, code: str, message: str) -> None:
        self.problems.append((element_id, code, message))

    def xpath(self, node: Any, path: str) -> list[Any]:
        return list(node.xpath(path, namespaces=NSMAP))

    def expression(self, element_id: str | None, text: str | None, what: str) -> None:
        if text is None or not text.strip():
            self.add(element_id, "bad_expression", f"The {what} is empty.")
            return
        problem = self.check_expression(text)
        if problem:
            self.add(
                element_id, "bad_expression", f"The {what} '{text.strip()}' is invalid: {problem}"
            )

    def label(self, node: Any) -> str:
        name = node.get("name")
        return f"'{name}'" if name else f"'{node.get('id')}'"
