"""The engine's limits from the settings (docs/engine/limits.md): deploy checks them against the
model, the runtime gives them to every run."""

from __future__ import annotations

from django.conf import settings

from apps.engine.core import EngineLimits


def engine_limits() -> EngineLimits:
    return EngineLimits(
        max_steps_per_run=settings.FLOWGATE_ENGINE_MAX_STEPS_PER_RUN,
        max_seconds_per_run=settings.FLOWGATE_ENGINE_MAX_SECONDS_PER_RUN,
        max_instance_tasks=settings.FLOWGATE_ENGINE_MAX_INSTANCE_TASKS,
        max_multi_instance=settings.FLOWGATE_ENGINE_MAX_MULTI_INSTANCE,
        max_flow_nodes=settings.FLOWGATE_ENGINE_MAX_FLOW_NODES,
        max_nesting=settings.FLOWGATE_ENGINE_MAX_NESTING,
    )
