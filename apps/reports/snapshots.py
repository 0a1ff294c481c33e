"""Background snapshots of the report pages' default views (see models.ReportSnapshot).

The SLA dashboard over the last 30 days and the SLO page are the pages people open; over a
million tasks their exact percentiles take seconds. A periodic task computes them (all processes
and each process) and the pages serve the stored result with its "as of" time; a page asked for
any other filter, or with ``live=1``, computes live.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from apps.processes.models import ProcessDefinition, ProcessVersion, VersionStatus
from apps.reports.models import ReportSnapshot
from apps.reports.selectors import (
    DEFAULT_PERIOD,
    DEFAULT_RISK_HOURS,
    Period,
    heatmap,
    sla_dashboard,
)
from apps.reports.selectors.costs import process_costs
from apps.reports.slo import slis, slo_status
from apps.reports.storage import instance_storage_record

ALL = "*"


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def max_age() -> timedelta:
    return timedelta(seconds=getattr(settings, "FLOWGATE_REPORTS_SNAPSHOT_MAX_AGE", 900))


def sla_default(*, process_key: str = "", now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return sla_dashboard(
        period=Period(since=now - DEFAULT_PERIOD, until=now),
        process_key=process_key,
        risk_hours=DEFAULT_RISK_HOURS,
        now=now,
    )


def slo_default(*, process_key: str = "", now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "slos": slo_status(process_key=process_key, now=now),
        "slis": slis(period_since=now - DEFAULT_PERIOD, period_until=now, process_key=process_key),
    }


def heatmap_default(*, process_key: str = "", now: datetime | None = None) -> dict[str, Any]:
    """``process_key`` carries the version id here (the subject of a heatmap)."""
    now = now or timezone.now()
    return heatmap(
        version_id=int(process_key), period=Period(since=now - DEFAULT_PERIOD, until=now), now=now
    )


#: Since when the all-time cost counters count (every row there is).
COSTS_SINCE = datetime(1970, 1, 1, tzinfo=UTC)
COSTS_KEY = "costs:*"


def costs_all_time(*, process_key: str = "", now: datetime | None = None) -> list[dict]:
    """Cost per process over every step so far: the /metrics cost counters (decision 039
    addendum) read this snapshot instead of scanning the jobs at every scrape."""
    now = now or timezone.now()
    return process_costs(period=Period(since=COSTS_SINCE, until=now), process_key=process_key)


BUILDERS = {
    "sla": sla_default,
    "slo": slo_default,
    "heatmap": heatmap_default,
    "costs": costs_all_time,
}


def snapshot_store(*, kind: str, process_key: str = "", now: datetime | None = None) -> dict:
    now = now or timezone.now()
    started = time.perf_counter()
    data = _jsonable(BUILDERS[kind](process_key=process_key, now=now))
    ReportSnapshot.objects.update_or_create(
        key=f"{kind}:{process_key or ALL}",
        defaults={"computed_at": now, "seconds": time.perf_counter() - started, "data": data},
    )
    return data


def snapshots_refresh(*, now: datetime | None = None) -> int:
    """Recompute every default view: the SLA and SLO pages for all processes and for each
    process, the heatmap of each process's latest deployed version, and the all-time cost per
    process that /metrics exports (after measuring the instances completed since the last run).
    Safe to run twice."""
    keys = ["", *ProcessDefinition.objects.order_by("key").values_list("key", flat=True)]
    count = 0
    for kind in ("sla", "slo"):
        for key in keys:
            snapshot_store(kind=kind, process_key=key, now=now)
            count += 1
    latest: dict[int, int] = {}
    for definition_id, version_id in (
        ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED)
        .order_by("definition_id", "number")
        .values_list("definition_id", "pk")
    ):
        latest[definition_id] = version_id
    for version_id in latest.values():
        snapshot_store(kind="heatmap", process_key=str(version_id), now=now)
        count += 1
    instance_storage_record(now=now)  # the completed instances' bytes, before the cost figures
    snapshot_store(kind="costs", now=now)
    return count + 1


def costs_snapshot() -> ReportSnapshot | None:
    """The latest all-time cost snapshot (None before the first refresh)."""
    return ReportSnapshot.objects.filter(key=COSTS_KEY).first()


def snapshot_or_live(
    *, kind: str, process_key: str = "", live: bool = False
) -> tuple[dict[str, Any], ReportSnapshot | None]:
    """A fresh stored snapshot of the default view, or a live computation (stored for the next
    visitor when the view is a default one)."""
    key = f"{kind}:{process_key or ALL}"
    if not live:
        snap = ReportSnapshot.objects.filter(
            key=key, computed_at__gte=timezone.now() - max_age()
        ).first()
        if snap is not None:
            return snap.data, snap
    data = snapshot_store(kind=kind, process_key=process_key)
    return data, None


def is_default_view(query: Any) -> bool:
    """True when a page or API request asks for the default view (process_key only)."""
    return not any(
        (query.get(name) or "").strip() for name in ("since", "until", "risk_hours", "bucket")
    )
