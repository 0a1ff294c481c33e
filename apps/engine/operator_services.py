"""The operators' facade: writes beyond the everyday actions of ``apps.engine.services`` (bulk
incident retry, set a variable, move a token, move instances to another version). The work
is in ``runtime/repairs.py`` and ``runtime/migration.py``."""

from __future__ import annotations

from apps.engine.runtime.migration import (
    MAX_BATCH,
    instance_migrate,
    instances_migrate,
    migration_elements,
    target_version,
)
from apps.engine.runtime.migration_runs import (
    migration_run_execute,
    migration_run_get,
    migration_run_start,
    migration_runs_sweep,
)
from apps.engine.runtime.repairs import (
    MoveOptions,
    archived_task_id,
    archived_task_id_sql,
    incidents_retry,
    instance_move_options,
    instance_token_move,
    instance_variable_set,
)

__all__ = [
    "MoveOptions",
    "MAX_BATCH",
    "migration_elements",
    "migration_run_execute",
    "migration_run_get",
    "migration_run_start",
    "migration_runs_sweep",
    "target_version",
    "archived_task_id",
    "archived_task_id_sql",
    "incidents_retry",
    "instance_migrate",
    "instance_move_options",
    "instance_token_move",
    "instance_variable_set",
    "instances_migrate",
]
