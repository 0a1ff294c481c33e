# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Prometheus metrics, read from the database at scrape time.

Web processes and workers are many processes on many machines: in-process counters would each
see a slice. The rows are the truth, so every metric is an aggregate over them, computed when
Prometheus scrapes (a handful of grouped queries). Counters are monotonic because the rows they
count are never deleted (instances, jobs, tasks, audit events); histograms are cumulative bucket
counts over finished jobs.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from operator import attrgetter, itemgetter
from typing import Any

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from apps.audit.selectors import event_first_time, verification_last
from apps.common.models import Heartbeat
from apps.common.selectors import HEARTBEAT_STALE_AFTER
from apps.connectors.http import breaker, limits
from apps.reports.selectors import workload_by_role
from apps.reports.snapshots import costs_snapshot
from apps.reports.sql import fetch, is_postgres, seconds_between
from apps.reports.summaries import sla_breaches_all_time

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
WORKER_COMPONENTS = ("worker", "scheduler")


HISTOGRAM_MEASURES = ("working", "waiting")
#: Rows (incidents, jobs) of a designer's test run are no business work: left out of /metrics.
NOT_A_TEST_RUN = "instance_id NOT IN (SELECT id FROM engine_processinstance WHERE is_test_run)"


def _histogram_sql() -> str:
    """Cumulative buckets of the job fact measures per connector, both measures in one scan of
    the narrow facts (decision 020: one scan instead of one per histogram)."""
    cols = ", ".join(
        f"COALESCE(SUM({m}), 0) AS {m}_total, "
        + ", ".join(
            f"SUM(CASE WHEN {m} <= {b} THEN 1 ELSE 0 END) AS {m}_b{i}"
            for i, b in enumerate(JOB_BUCKETS)
        )
        for m in HISTOGRAM_MEASURES
    )
    return f"""
        SELECT connector, COUNT(*) AS n, {cols}
        FROM reports_jobfact WHERE started = %(true)s
        GROUP BY connector ORDER BY connector"""


def _histogram(name: str, doc: str, rows: list[dict], measure: str) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["connector"])
    for r in rows:
        buckets = [(str(b), int(r[f"{measure}_b{i}"] or 0)) for i, b in enumerate(JOB_BUCKETS)]
        buckets.append(("+Inf", int(r["n"])))
        family.add_metric([r["connector"]], buckets, float(r[f"{measure}_total"] or 0))
    return family


@dataclass(frozen=True)
class Series:
    """One metric family of a group that shares one label: its name, help text, and how a
    row (a query's dict, a status object) gives its value."""

    name: str
    doc: str
    value: Callable[[Any], float]
    counter: bool = False


def count_of(column: str) -> Callable[[dict], int]:
    """A query's count or sum column (NULL is 0)."""
    return lambda row: int(row[column] or 0)


def amount_of(column: str) -> Callable[[dict], float]:
    """A figure that may have a fraction (seconds)."""
    return lambda row: float(row[column])


def families_by(
    label: str, series: Sequence[Series], rows: Iterable[Any], *, key: Callable[[Any], str]
) -> list[Metric]:
    """One family per series, labelled ``label`` (``key(row)``), one sample per row in row
    order: the shape of every per-process, per-connector, per-role and per-target group below.
    Families with no rows are still returned (HELP and TYPE, no sample)."""
    families: list[CounterMetricFamily | GaugeMetricFamily] = [
        (CounterMetricFamily if s.counter else GaugeMetricFamily)(s.name, s.doc, labels=[label])
        for s in series
    ]
    for row in rows:
        labels = [key(row)]
        for one, family in zip(series, families, strict=True):
            family.add_metric(labels, one.value(row))
    return list(families)


INSTANCE_SERIES = (
    Series("flowgate_instances_started", "Process instances started", count_of("started"), True),
    Series(
        "flowgate_instances_completed", "Process instances completed", count_of("completed"), True
    ),
    Series(
        "flowgate_instances_cancelled", "Process instances cancelled", count_of("cancelled"), True
    ),
    Series(
        "flowgate_instances_failed",
        "Process instances that hit at least one incident",
        count_of("failed"),
        True,
    ),
)
JOB_SERIES = (
    Series(
        "flowgate_job_attempts",
        "Connector attempts of service steps",
        count_of("attempts"),
        True,
    ),
    Series("flowgate_job_retries", "Attempts after the first one", count_of("retries"), True),
    Series(
        "flowgate_job_deferrals",
        "Calls deferred without spending an attempt (open circuit, target limit, 429 with "
        "Retry-After): waits, not failures",
        count_of("deferrals"),
        True,
    ),
)
ROLE_SERIES = (
    Series("flowgate_open_tasks", "Open human tasks per candidate role", itemgetter("open")),
    Series(
        "flowgate_open_tasks_breached",
        "Open human tasks past their SLA breach threshold, per candidate role",
        itemgetter("open_breached"),
    ),
)
COST_SERIES = tuple(
    Series(f"flowgate_process_{column}", doc, amount_of(column), True)
    for column, doc in (
        ("steps", "Service steps (jobs) created, per process (test runs left out)"),
        ("connector_calls", "Connector calls made by the process's steps (attempts)"),
        (
            "deferred_calls",
            "Calls held back without calling (open circuit, target limit, 429 Retry-After)",
        ),
        (
            "worker_seconds",
            "Worker (connector) time of every attempt of the process's steps (one whose worker "
            "died: until its lease expired)",
        ),
    )
)
STORED_SERIES = (
    Series(
        "flowgate_process_stored_bytes",
        "Bytes the process's completed instances keep in the database (state, variables, "
        "audit payloads, task rows, step inputs; measured once after completion)",
        amount_of("stored_bytes"),
    ),
    Series(
        "flowgate_process_instance_stored_bytes",
        "Stored bytes per completed instance of the process (average over the measured ones)",
        amount_of("stored_bytes_per_instance"),
    ),
)
CIRCUIT_SERIES = (  # rows: (target, breaker.CircuitState)
    Series(
        "flowgate_http_circuit_open",
        "1 while the circuit breaker for the target holds calls back (open or half-open)",
        lambda item: 0 if item[1].state == breaker.CLOSED else 1,
    ),
    Series(
        "flowgate_http_circuit_failures",
        "Consecutive failed calls to the target (0 after a success)",
        lambda item: item[1].failures,
    ),
)
CIRCUIT_DEFERRED = Series(
    "flowgate_http_circuit_deferred",
    "Calls the circuit breaker held back (the steps waited without calling)",
    lambda item: item[1].deferred,
    True,
)
LIMIT_SERIES = (  # rows: limits.LimitStatus
    Series(
        "flowgate_http_limit_in_flight",
        "Calls to the target in flight now",
        attrgetter("in_flight"),
    ),
    Series(
        "flowgate_http_limit_concurrency",
        "The target's concurrency limit (0: none)",
        attrgetter("limit.concurrency"),
    ),
    Series(
        "flowgate_http_limit_window_starts",
        "Calls started within the target's rate window",
        attrgetter("recent_starts"),
    ),
    Series(
        "flowgate_http_limit_rate",
        "Calls allowed per rate window (0: no rate limit)",
        attrgetter("limit.rate"),
    ),
    Series(
        "flowgate_http_limit_deferred",
        "Calls refused by the target's concurrency or rate limit (the steps waited)",
        attrgetter("deferred"),
        True,
    ),
)


class FlowgateCollector:
    """Collects every Flowgate metric in one pass of grouped queries."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        now = timezone.now()
        yield from self._instances()
        yield from self._jobs(now)
        yield from self._tasks(now)
        yield from self._audit(now)
        yield from self._timers(now)
        yield from self._workers(now)
        yield from self._circuits()
        yield from self._costs()
        scrape = GaugeMetricFamily(
            "flowgate_metrics_scrape_seconds", "Time spent computing these metrics"
        )
        scrape.add_metric([], time.perf_counter() - started)
        yield scrape

    def _instances(self) -> Iterator[Metric]:
        rows = fetch(
            """
            SELECT process_key, COUNT(*) AS started,
                   SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
                   SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
                   SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
                   SUM(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END) AS suspended,
                   SUM(CASE WHEN x.instance_id IS NOT NULL THEN 1 ELSE 0 END) AS failed
            FROM engine_processinstance i
            LEFT JOIN (SELECT DISTINCT instance_id FROM engine_incident) AS x
                   ON x.instance_id = i.id
            WHERE NOT i.is_test_run
            GROUP BY process_key ORDER BY process_key""",
            {},
        )
        active = GaugeMetricFamily(
            "flowgate_instances_active",
            "Process instances running or suspended now",
            labels=["process_key", "status"],
        )
        for r in rows:
            active.add_metric([r["process_key"], "running"], int(r["running"] or 0))
            active.add_metric([r["process_key"], "suspended"], int(r["suspended"] or 0))
        yield from families_by("process_key", INSTANCE_SERIES, rows, key=itemgetter("process_key"))
        yield active
        incidents = fetch(
            f"SELECT status, COUNT(*) AS n FROM engine_incident WHERE {NOT_A_TEST_RUN}"
            " GROUP BY status ORDER BY status",
            {},
        )
        family = GaugeMetricFamily("flowgate_incidents", "Incidents by status", labels=["status"])
        for r in incidents:
            family.add_metric([r["status"]], int(r["n"]))
        yield family

    def _jobs(self, now) -> Iterator[Metric]:
        rows = fetch(
            f"""
            SELECT connector, COALESCE(SUM(attempts), 0) AS attempts,
                   COALESCE(SUM(deferrals), 0) AS deferrals,
                   COALESCE(SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) AS retries,
                   SUM(CASE WHEN status = 'pending' AND run_after <= %(now)s THEN 1 ELSE 0 END)
                       AS due,
                   SUM(CASE WHEN status = 'pending' AND run_after > %(now)s THEN 1 ELSE 0 END)
                       AS waiting,
                   SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running
            FROM engine_job WHERE {NOT_A_TEST_RUN} GROUP BY connector ORDER BY connector""",
            {"now": now},
        )
        depth = GaugeMetricFamily(
            "flowgate_job_queue_depth",
            "Jobs now: due (waiting for a worker), backing off (retry later), running",
            labels=["connector", "state"],
        )
        for r in rows:
            depth.add_metric([r["connector"], "due"], int(r["due"] or 0))
            depth.add_metric([r["connector"], "backoff"], int(r["waiting"] or 0))
            depth.add_metric([r["connector"], "running"], int(r["running"] or 0))
        yield from families_by("connector", JOB_SERIES, rows, key=itemgetter("connector"))
        yield depth
        # Finished steps with their own start, from the job facts (decision 017).
        histograms = fetch(_histogram_sql(), {"true": True})
        yield _histogram(
            "flowgate_job_duration_seconds",
            "Connector time of finished steps (started -> finished)",
            histograms,
            "working",
        )
        yield _histogram(
            "flowgate_job_queue_latency_seconds",
            "Wait of finished steps before their connector began (created -> started)",
            histograms,
            "waiting",
        )

    def _tasks(self, now) -> Iterator[Metric]:
        yield from families_by(
            "role", ROLE_SERIES, workload_by_role(now=now), key=itemgetter("role")
        )
        breaches = CounterMetricFamily(
            "flowgate_sla_breaches",
            "Human tasks completed after their SLA breach threshold",
            labels=["process_key", "activity_id"],
        )
        for r in sla_breach_counts():
            breaches.add_metric([r["process_key"], r["activity_id"]], int(r["n"]))
        yield breaches

    def _audit(self, now) -> Iterator[Metric]:
        [row] = fetch(
            "SELECT COALESCE(MAX(position), 0) AS appended,"
            " (SELECT COUNT(*) FROM audit_auditpending) AS pending FROM audit_auditevent",
            {},
        )
        appended = CounterMetricFamily(
            "flowgate_audit_events",
            "Audit events appended (highest position; use rate() for the append rate)",
        )
        appended.add_metric([], int(row["appended"]))
        pending = GaugeMetricFamily(
            "flowgate_audit_unlinked_events", "Audit events committed but not yet hash-chained"
        )
        pending.add_metric([], int(row["pending"]))
        yield from (appended, pending)
        # The last verification's result (the audit.verified event that audit_verify, the verify
        # page and the API write): the FlowgateAuditVerifyFailed alert reads it.
        # No sample before the first verification (no result is not a good result).
        verified = GaugeMetricFamily(
            "flowgate_audit_verify_ok",
            "1 if the last audit chain verification found the chain intact, 0 if broken",
        )
        when = GaugeMetricFamily(
            "flowgate_audit_verify_timestamp_seconds",
            "When the last audit chain verification ran (Unix time)",
        )
        age = GaugeMetricFamily(
            "flowgate_audit_verify_age_seconds",
            "Seconds since the last audit chain verification (before the first one: since the "
            "first audit event; no sample while there is no event)",
        )
        last = verification_last()
        if last is not None:
            verified.add_metric([], 1 if last.data.get("intact") else 0)
            when.add_metric([], last.time.timestamp())
        unverified_since = last.time if last is not None else event_first_time()
        if unverified_since is not None:
            age.add_metric([], max(0.0, (now - unverified_since).total_seconds()))
        yield from (verified, when, age)

    def _costs(self) -> Iterator[Metric]:
        """Cost per process, all time (decision 039 addendum): read from the snapshot that
        ``reports.refresh_snapshots`` writes every few minutes, so a scrape costs one row read
        instead of a scan of every job; the figures lag by up to that interval. No sample
        before the first refresh."""
        as_of = GaugeMetricFamily(
            "flowgate_process_costs_timestamp_seconds",
            "When the cost-per-process figures were computed (Unix time)",
        )
        snapshot = costs_snapshot()
        if snapshot is not None:
            as_of.add_metric([], snapshot.computed_at.timestamp())
        rows = snapshot.data if snapshot is not None else []
        yield from families_by("process_key", COST_SERIES, rows, key=itemgetter("process_key"))
        measured = [row for row in rows if row.get("measured_instances")]  # none before a measure
        yield from families_by(
            "process_key", STORED_SERIES, measured, key=itemgetter("process_key")
        )
        yield as_of

    def _timers(self, now) -> Iterator[Metric]:
        [row] = fetch(
            f"""SELECT COUNT(*) AS due, MAX({seconds_between("due_at", "%(now)s")}) AS lag
                FROM engine_timer
                WHERE fired_at IS NULL AND cancelled = %(false)s AND due_at <= %(now)s""",
            {"now": now, "false": False},
        )
        lag = GaugeMetricFamily(
            "flowgate_timer_lag_seconds", "Age of the oldest due timer not fired yet (0: none)"
        )
        lag.add_metric([], float(row["lag"] or 0))
        due = GaugeMetricFamily("flowgate_timers_overdue", "Timers due but not fired yet")
        due.add_metric([], int(row["due"]))
        yield from (lag, due)

    def _workers(self, now) -> Iterator[Metric]:
        beats = {b.component: b.last_seen for b in Heartbeat.objects.all()}
        up = GaugeMetricFamily(
            "flowgate_component_up",
            f"1 when the component's heartbeat is younger than "
            f"{int(HEARTBEAT_STALE_AFTER.total_seconds())} s",
            labels=["component"],
        )
        age = GaugeMetricFamily(
            "flowgate_component_heartbeat_age_seconds",
            "Seconds since the component's last heartbeat",
            labels=["component"],
        )
        for component in sorted({*WORKER_COMPONENTS, *beats}):
            seen = beats.get(component)
            seconds = None if seen is None else (now - seen).total_seconds()
            up.add_metric(
                [component],
                1 if seconds is not None and seconds < HEARTBEAT_STALE_AFTER.total_seconds() else 0,
            )
            if seconds is not None:
                age.add_metric([component], max(0.0, seconds))
        yield from (up, age)

    def _circuits(self) -> Iterator[Metric]:
        """The HTTP connector's circuit breakers (decision 029): open (1) or not, per target;
        the state by name, and the calls held back (decision 039)."""
        named = GaugeMetricFamily(
            "flowgate_http_circuit_state",
            "1 for the circuit's current state (closed, open, half_open), 0 for the others",
            labels=["target", "state"],
        )
        try:
            circuits = sorted(breaker.circuits().items())
        except breaker.STORE_ERRORS:
            circuits = []
        for target, circuit in circuits:
            for name in (breaker.CLOSED, breaker.OPEN, breaker.HALF_OPEN):
                named.add_metric([target, name], 1 if circuit.state == name else 0)
        by_target = itemgetter(0)
        yield from families_by("target", CIRCUIT_SERIES, circuits, key=by_target)
        yield named
        yield from families_by("target", [CIRCUIT_DEFERRED], circuits, key=by_target)
        yield from self._limits()

    def _limits(self) -> Iterator[Metric]:
        """Per-target concurrency and rate limits (decision 029): use against limit, refusals."""
        try:
            statuses = limits.limit_statuses()
        except breaker.STORE_ERRORS:
            statuses = []
        yield from families_by("target", LIMIT_SERIES, statuses, key=attrgetter("target"))


SLA_BREACHES_SQL = """
    SELECT f.process_key AS process_key, f.activity_id AS activity_id, COUNT(*) AS n
    FROM reports_taskfact f
    LEFT JOIN reports_activitysla s
           ON s.process_key = f.process_key AND s.activity_id = f.activity_id
    WHERE (CASE WHEN s.business_time THEN f.business_duration ELSE f.duration END)
          > COALESCE(s.breach_seconds, f.due_s)
    GROUP BY f.process_key, f.activity_id ORDER BY f.process_key, f.activity_id"""


def sla_breach_counts(*, buckets: bool = True) -> list[dict]:
    """Completed tasks ever breached per (process, activity): from the per-day buckets in
    PostgreSQL (decision 019), else (and with ``buckets=False``) counted over the task facts."""
    if buckets and is_postgres():
        return sla_breaches_all_time()
    return fetch(SLA_BREACHES_SQL, {})


def exposition() -> bytes:
    """The whole scrape in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlowgateCollector())
    return generate_latest(registry)


def scrape_allowed(*, remote_addr: str, authorization: str) -> bool:
    """A bearer token equal to FLOWGATE_METRICS_TOKEN, or a client address inside
    FLOWGATE_METRICS_ALLOWED_NETWORKS (default: loopback only)."""
    token = getattr(settings, "FLOWGATE_METRICS_TOKEN", "")
    if token and authorization.startswith("Bearer "):
        if hmac.compare_digest(authorization[7:].strip().encode(), token.encode()):
            return True
    networks = getattr(settings, "FLOWGATE_METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
    try:
        address = ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ip_network(net, strict=False) for net in networks)
