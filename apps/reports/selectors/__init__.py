"""SLA and bottleneck figures, aggregated in the database from the engine's and the inbox's rows.

Every figure is one SQL aggregate (see sql.py for the percentile definition shared by PostgreSQL
and SQLite); Python only reshapes the handful of grouped rows that come back.

Definitions (docs/reports.md):
- an instance *started* in the period if created in it; its duration is ``ended_at - created_at``
  of completed instances; *failing* = has an open incident;
- a human task's duration is ``completed_at - created_at``, split into *waiting*
  (until claimed, or until completed when never claimed) and *working* (claimed -> completed);
  a service step (job) waits ``created_at -> started_at`` and works ``started_at -> finished_at``;
- SLA: met when ``duration <= warning`` (or ``<= breach`` without a warning threshold), warned
  when ``warning < duration <= breach``, breached when ``duration > breach``; targets come from
  ActivitySla, else the task's own due date is its breach deadline;
- open tasks are judged now, whatever the period: *breached* when older than the breach
  threshold, *at risk* when not yet breached but breaching within ``risk_hours``.

One module per concern (callers may keep ``from apps.reports import selectors``; every public
name is re-exported here):

- ``common``: the period, the defaults and the SQL filter helpers every figure shares;
- ``processes``: per process - instances by status and duration, throughput, escalations;
- ``activities``: per activity - percentiles, SLA counts, open-task risk (the SLA figures);
- ``workload``: open tasks per role, assigned and completed tasks per user;
- ``dashboard``: the SLA dashboard, all of the above in one dict;
- ``bottlenecks``: the heatmap of one version and its slowest instances.
"""

from __future__ import annotations

from apps.reports.selectors.activities import (
    FACT_SLA_COUNTS,
    IN_PERIOD,
    SLA_COUNTS,
    activities_named,
    activity_names,
    activity_rows,
    activity_summary,
    fact_source,
    job_fact_source,
    job_source,
    open_task_source,
    sla_by_process,
    task_source,
)
from apps.reports.selectors.bottlenecks import (
    busiest_version_id,
    heatmap,
    slowest_instances,
)
from apps.reports.selectors.common import (
    DEFAULT_PERIOD,
    DEFAULT_RISK_HOURS,
    MEASURES,
    Period,
)
from apps.reports.selectors.dashboard import (
    sla_dashboard,
)
from apps.reports.selectors.processes import (
    escalations,
    process_summary,
    slo_process_choices,
    throughput,
)
from apps.reports.selectors.workload import (
    workload_by_role,
    workload_by_user,
    workload_done,
)

__all__ = [
    "DEFAULT_PERIOD",
    "DEFAULT_RISK_HOURS",
    "FACT_SLA_COUNTS",
    "IN_PERIOD",
    "MEASURES",
    "Period",
    "SLA_COUNTS",
    "activities_named",
    "activity_names",
    "activity_rows",
    "activity_summary",
    "escalations",
    "fact_source",
    "busiest_version_id",
    "heatmap",
    "job_fact_source",
    "job_source",
    "open_task_source",
    "process_summary",
    "sla_by_process",
    "sla_dashboard",
    "slo_process_choices",
    "slowest_instances",
    "task_source",
    "throughput",
    "workload_by_role",
    "workload_by_user",
    "workload_done",
]
