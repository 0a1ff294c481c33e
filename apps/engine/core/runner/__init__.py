"""Run compiled processes: one ``ProcessRunner`` per process version, one ``Instance`` per call.

The runner deserializes the spec once and can be cached per version. ``Instance.dump()`` holds only
the instance state (no spec) and carries a format version. Every operation advances the workflow
with ``do_engine_steps()`` until it waits, then ``effects()`` tells the runtime what to persist:
human tasks, jobs, timers, message subscriptions and audit/SLA events.

If an operation raises, the ``Instance`` object must be thrown away and the previously stored state
kept: Spiff may have advanced part of the way.

One module per concern (callers keep ``from apps.engine.core.runner import ...``):

- ``instance``: ``ProcessRunner`` and ``Instance``: start, load, dump and the operations;
- ``observe``: what an instance shows - effects, variables, status, activity events;
- ``spiff``: Spiff's tasks, values and exceptions in our terms.
"""

from __future__ import annotations

from .instance import STATE_FORMAT, Instance, ProcessRunner
from .spiff import json_safe

__all__ = ["STATE_FORMAT", "Instance", "ProcessRunner", "json_safe"]
