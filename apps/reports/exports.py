"""Flat tables of the SLA dashboard, for the page's tables and their CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from operator import itemgetter
from typing import Any

PCTS = ("p50_s", "p90_s", "p95_s", "p99_s")


def _inner(outer: str, key: str) -> Callable[[dict], Any]:
    """Reads ``row[outer][key]``."""
    return lambda row: row[outer][key]


def _stat_cols(prefix: str) -> list[tuple[str, Callable[[dict], Any]]]:
    return [(f"{prefix}_{k}", _inner(prefix, k)) for k in ("avg_s", *PCTS, "max_s")]


def _sla_cols() -> list[tuple[str, Callable[[dict], Any]]]:
    keys: tuple[str, ...] = ("met", "warned", "breached", "met_rate", "warned_rate")
    keys += ("breached_rate", "open_at_risk", "open_breached")
    return [(f"sla_{k}", _inner("sla", k)) for k in keys]


TABLES: dict[str, tuple[str, list[tuple[str, Callable[[dict], Any]]]]] = {
    "processes": (
        "processes",
        [
            ("process_key", lambda r: r["process_key"]),
            *[(k, itemgetter(k)) for k in ("started", "completed", "running", "suspended")],
            ("cancelled", lambda r: r["cancelled"]),
            ("failing", lambda r: r["failing"]),
            *_stat_cols("duration"),
            *_sla_cols(),
            ("escalations", lambda r: r["escalations"]),
        ],
    ),
    "activities": (
        "activities",
        [
            ("process_key", lambda r: r["process_key"]),
            ("activity_id", lambda r: r["activity_id"]),
            ("activity_name", lambda r: r.get("activity_name", "")),
            ("kind", lambda r: r["kind"]),
            ("completed", lambda r: r["completed"]),
            ("open", lambda r: r["open"]),
            *_stat_cols("duration"),
            *_stat_cols("waiting"),
            *_stat_cols("working"),
            *_sla_cols(),
        ],
    ),
    "throughput": (
        "throughput",
        [(k, itemgetter(k)) for k in ("bucket", "started", "completed")],
    ),
    "roles": (
        "workload_by_role",
        [(k, itemgetter(k)) for k in ("role", "open", "open_at_risk", "open_breached")],
    ),
    "users": (
        "workload_by_user",
        [
            ("username", lambda r: r["username"]),
            ("open_assigned", lambda r: r["open_assigned"]),
            ("completed", lambda r: r["completed"]),
            *_stat_cols("duration"),
        ],
    ),
    "escalations": (
        "escalations",
        [(k, itemgetter(k)) for k in ("process_key", "escalations")],
    ),
}


def csv_text(report: dict[str, Any], table: str) -> str:
    """One dashboard table as CSV (header row first). ``table`` must be a key of TABLES."""
    source, columns = TABLES[table]
    return rows_csv(report[source], columns)


def _safe(value: Any) -> Any:
    """Keep spreadsheet apps from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


SLO_COLUMNS: list[tuple[str, Callable[[dict], Any]]] = [
    *[
        (k, itemgetter(k))
        for k in (
            "process_key",
            "objective_percent",
            "target_seconds",
            "window_days",
            "judged",
            "good",
            "bad",
            "sli",
            "budget_remaining",
        )
    ],
    *[(f"burn_rate_{w}", _inner("burn_rates", w)) for w in ("1h", "6h", "3d")],
    ("state", lambda r: r["state"]),
]
SLI_COLUMNS: list[tuple[str, Callable[[dict], Any]]] = [
    (k, itemgetter(k))
    for k in (
        "process_key",
        "instances",
        "success_rate",
        "instances_with_incident",
        "step_failure_rate",
        "retries_per_instance",
        "escalation_rate",
        "incident_mean_time_to_resolve_s",
        "queue_depth",
        "duplicate_outcomes",
        "audit_completeness",
    )
]


def rows_csv(rows: list[dict[str, Any]], columns: list[tuple[str, Callable[[dict], Any]]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow(["" if (v := get(row)) is None else _safe(v) for _, get in columns])
    return out.getvalue()
