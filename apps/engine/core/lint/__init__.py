"""Flowgate's own lint pass over the BPMN XML: every problem at once, addressed by element id.

Spiff stops at the first problem it meets; this pass walks the whole document first so that a
designer sees the full list in one deploy attempt.

One module per concern (callers keep ``from .lint import ...``):

- ``vocabulary``: the flow nodes Flowgate runs, the elements it allows or explains, reserved ids;
- ``base``: the problem list and the helpers every check uses;
- ``tasks``: checks of one element by its kind (user and service tasks, timers, multi-instance);
- ``linter``: the pass itself - the document, each process as a graph, each node.
"""

from __future__ import annotations

from .linter import Linter, dedupe, lint
from .vocabulary import is_bpmn, local

__all__ = ["Linter", "dedupe", "is_bpmn", "lint", "local"]
