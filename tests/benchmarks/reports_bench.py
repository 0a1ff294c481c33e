# ruff: noqa: S608 - benchmark SQL is built from constants
"""Reports benchmark: the SLA dashboard's queries over 100,000 instances and 1,000,000 completed
human tasks in PostgreSQL, each beside the raw SQL of the same aggregate, and the pages' total.

Run with `make bench` (or `python -m tests.benchmarks reports`). Writes docs/benchmarks/reports.md.
Works in a scratch database ``<name>_reports_bench`` (created, migrated, filled with
generate_series, dropped at the end), so the configured database is never touched.
``BENCH_REPORTS_KEEP=1`` keeps it, and a later run with ``BENCH_REPORTS_KEEP=1`` reuses its rows
(migrating it first) instead of filling it again: the fill takes minutes on a shared machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

INSTANCES = int(os.environ.get("BENCH_REPORTS_INSTANCES", "100000"))
TASKS = int(os.environ.get("BENCH_REPORTS_TASKS", "1000000"))
OPEN_TASKS = int(os.environ.get("BENCH_REPORTS_OPEN_TASKS", "20000"))
JOBS = int(os.environ.get("BENCH_REPORTS_JOBS", "200000"))
ROUNDS = int(os.environ.get("BENCH_REPORTS_ROUNDS", "5"))
KEEP = os.environ.get("BENCH_REPORTS_KEEP", "") == "1"
LOAD_AT_START = [0.0]
GOAL_PAGE_MS = 500.0
PROCESSES = ("expense_approval", "order_fulfilment", "onboarding", "purchase", "leave_request")
ACTIVITIES = 8


class _ScratchDatabase:
    def __init__(self) -> None:
        from django.db import connections

        self.connection = connections["default"]
        self.original = self.connection.settings_dict["NAME"]
        self.name = f"{self.original}_reports_bench"

    def _admin(self, sql: str) -> None:
        with self.connection._nodb_cursor() as cursor:
            cursor.execute(sql)

    def __enter__(self) -> str:
        from django.core.management import call_command

        self.connection.close()
        self.reused = KEEP and self._exists()
        if self.reused:
            self.connection.settings_dict["NAME"] = self.name
            call_command("migrate", verbosity=0)
            self.reused = self._filled()
            self.connection.close()
        if not self.reused:  # a new database, or a kept fill that did not finish
            self.connection.settings_dict["NAME"] = self.original
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.connection.settings_dict["NAME"] = self.name
            call_command("migrate", verbosity=0)
        return self.name

    def _filled(self) -> bool:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT COUNT(*) FROM engine_processinstance),"
                " (SELECT COUNT(*) FROM inbox_humantask), (SELECT COUNT(*) FROM engine_job)"
            )
            return cursor.fetchone() == (INSTANCES, TASKS + OPEN_TASKS, JOBS)

    def _exists(self) -> bool:
        with self.connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
            return cursor.fetchone() is not None

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
        self.connection.settings_dict["NAME"] = self.original
        if not KEEP:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')


def _fill(now: datetime) -> dict[str, float]:
    """Bulk rows with generate_series; returns seconds per table."""
    from django.db import connection

    from apps.accounts.models import User
    from apps.processes.models import ProcessDefinition, ProcessVersion
    from apps.reports.models import ActivitySla

    versions = []
    for key in PROCESSES:
        definition = ProcessDefinition.objects.create(key=key, name=key)
        versions.append(
            ProcessVersion.objects.create(
                definition=definition, number=1, status="deployed", xml="<x/>", checksum=key
            ).pk
        )
    users = [User.objects.create(username=f"bench{i}").pk for i in range(50)]
    for key in PROCESSES:
        for a in range(ACTIVITIES):
            ActivitySla.objects.create(
                process_key=key,
                activity_id=f"task_{a}",
                warning_seconds=20 * 3600,
                breach_seconds=24 * 3600,
            )
    took: dict[str, float] = {}
    # No query parameters: the statements are complete SQL (so % is PostgreSQL's modulo).
    ts = f"'{now.isoformat()}'::timestamptz"
    v0, u0, nu = versions[0], users[0], len(users)
    statements = {
        "instances": f"""
            INSERT INTO engine_processinstance (version_id, process_key, business_key, status,
                state, variables, steps, waits, called_versions, created_at, updated_at, ended_at,
                is_test_run, trace_id, traceparent, outcome, outcome_reason)
            SELECT {v0} + (g % {len(PROCESSES)}),
                   (ARRAY{list(PROCESSES)!r})[1 + g % {len(PROCESSES)}],
                   'BK-' || g,
                   CASE WHEN g % 10 = 0 THEN 'running' WHEN g % 50 = 1 THEN 'cancelled'
                        ELSE 'completed' END,
                   '{{}}', jsonb_build_object('amount', g % 5000), 3, 0, '{{}}',
                   {ts} - (g * {2592000 // INSTANCES}) * interval '1 second',
                   {ts} - (g * {2592000 // INSTANCES}) * interval '1 second' + (g % 200000) * interval '1 second',
                   CASE WHEN g % 10 = 0 THEN NULL
                        ELSE {ts} - (g * {2592000 // INSTANCES}) * interval '1 second'
                             + (g % 200000) * interval '1 second' END,
                   false, '', '', '', ''
            FROM generate_series(1, {INSTANCES}) AS g""",
        "human tasks": f"""
            INSERT INTO inbox_humantask (instance_id, task_id, activity_id, name, process_key,
                documentation, candidate_groups, candidate_users, assignee_id, status, priority,
                due_at, form, is_approval, outcome_variable, requested_by_id, data, outcome,
                completed_by_id, created_at, claimed_at, completed_at, delegation,
                comment_required_on_reject, escalation, allow_same_approver, multi_instance_id,
                info_question, paused_seconds)
            SELECT i.id, 't' || g, 'task_' || (g % {ACTIVITIES}), 'Task', i.process_key, '',
                   CASE WHEN g % 3 = 0 THEN '["manager"]'::jsonb
                        ELSE '["approver", "clerk"]'::jsonb END,
                   '[]', NULL,
                   CASE WHEN g <= {OPEN_TASKS} THEN 'open' ELSE 'completed' END,
                   50, NULL, NULL, false, 'outcome', NULL, '{{}}', '',
                   CASE WHEN g <= {OPEN_TASKS} THEN NULL ELSE {u0} + g % {nu} END,
                   i.created_at + (g % 7) * interval '1 hour',
                   i.created_at + (g % 7) * interval '1 hour' + (g % 36000) * interval '1 second',
                   CASE WHEN g <= {OPEN_TASKS} THEN NULL
                        ELSE i.created_at + (g % 7) * interval '1 hour'
                             + (g % 97200) * interval '1 second' END,
                   '', false, '', false, '', '', 0
            FROM generate_series(1, {TASKS + OPEN_TASKS}) AS g
            JOIN engine_processinstance i
              ON i.id = (SELECT MIN(id) FROM engine_processinstance) + (g % {INSTANCES})""",
        "jobs": f"""
            INSERT INTO engine_job (instance_id, task_id, activity_id, connector, inputs, status,
                attempts, max_attempts, run_after, locked_by, last_error, created_at, started_at,
                finished_at, traceparent, deferrals, failed_attempts_seconds, deferred_seconds,
                lost_attempts_seconds)
            SELECT i.id, 'j' || g, 'step_' || (g % 4), 'http', '{{}}',
                   CASE WHEN g % 500 = 0 THEN 'pending' ELSE 'done' END,
                   1 + (g % 7 = 0)::int, 3, i.created_at, '', '',
                   i.created_at, i.created_at + (g % 5000) * interval '1 millisecond',
                   i.created_at + (g % 5000 + g % 900) * interval '1 millisecond',
                   '', 0, 0, 0, 0
            FROM generate_series(1, {JOBS}) AS g
            JOIN engine_processinstance i
              ON i.id = (SELECT MIN(id) FROM engine_processinstance) + (g % {INSTANCES})""",
    }
    with connection.cursor() as cursor:
        for name, sql in statements.items():
            started = time.perf_counter()
            cursor.execute(sql)
            took[name] = time.perf_counter() - started
    took.update(_facts_and_analyze())
    return took


def _facts_and_analyze() -> dict[str, float]:
    """The completed-task facts (rows written by generate_series, not by the services, so the
    backfill writes them) and fresh statistics."""
    from django.db import connection

    from apps.reports.facts import task_facts_sync
    from apps.reports.summaries import fact_buckets_summarise

    took = {}
    started = time.perf_counter()
    task_facts_sync()
    took["task facts backfill"] = time.perf_counter() - started
    started = time.perf_counter()
    summarised = fact_buckets_summarise()
    took[f"per-day bucket counts of {summarised:,} pending facts"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        took["vacuum analyze"] = time.perf_counter() - started
    return took


def _an_instance_with_a_completed_task():
    from django.db import connection

    from apps.engine.models import ProcessInstance

    with connection.cursor() as cursor:
        cursor.execute("SELECT instance_id FROM reports_taskfact ORDER BY id LIMIT 1")
        return ProcessInstance.objects.get(pk=cursor.fetchone()[0])


def _reused_now() -> datetime:
    """The instant the kept rows were generated for (the newest instance's creation)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(created_at) FROM engine_processinstance")
        return cursor.fetchone()[0]


def _median_ms(fn: Callable[[], Any]) -> tuple[float, float, float]:
    fn()  # warm (plans, caches)
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), max(samples)


def _raw(sql: str, params: dict) -> Callable[[], Any]:
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def run(report_dir: Path) -> None:
    from django.conf import settings
    from django.test import Client

    from apps.accounts.models import User
    from apps.reports import selectors
    from apps.reports.facts import task_facts_for_instance
    from apps.reports.metrics import exposition
    from apps.reports.models import ProcessSlo
    from apps.reports.selectors import Period
    from apps.reports.slo import slis, slo_status

    if settings.DB_VENDOR != "postgresql":
        raise SystemExit("the reports benchmark needs PostgreSQL")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    now = datetime.now(UTC).replace(microsecond=0)
    scratch = _ScratchDatabase()
    with scratch as name:
        if scratch.reused:
            print(f"reports bench: reusing the rows of {name} ...", flush=True)
            now = _reused_now()
            filled = {"reused rows; " + k: v for k, v in _facts_and_analyze().items()}
        else:
            print(f"reports bench: filling {name} ...", flush=True)
            filled = _fill(now)
        for key in PROCESSES:
            ProcessSlo.objects.update_or_create(
                process_key=key, defaults={"objective_percent": 95, "target_seconds": 172800}
            )
        period = Period(since=now - timedelta(days=30), until=now)
        instance_one = _an_instance_with_a_completed_task()
        p = {"since": period.since, "until": period.until, "now": now}
        week = Period(since=now - timedelta(days=7), until=now)
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
            (
                "instances per process + end-to-end p50/p90/p95/p99 (30 d)",
                lambda: selectors.process_summary(period=period),
                _raw(
                    """SELECT process_key, COUNT(*),
                       percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99]) WITHIN GROUP
                         (ORDER BY EXTRACT(EPOCH FROM ended_at - created_at))
                         FILTER (WHERE status = 'completed')
                       FROM engine_processinstance
                       WHERE created_at >= %(since)s AND created_at < %(until)s
                       GROUP BY process_key""",
                    p,
                ),
            ),
            (
                "per activity: duration/waiting/working percentiles + SLA counts (30 d)",
                lambda: selectors.activity_summary(period=period, now=now),
                _raw(
                    """SELECT process_key, activity_id,
                       percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99]) WITHIN GROUP
                         (ORDER BY EXTRACT(EPOCH FROM completed_at - created_at))
                       FROM inbox_humantask
                       WHERE status = 'completed' AND created_at >= %(since)s
                         AND created_at < %(until)s
                       GROUP BY process_key, activity_id""",
                    p,
                ),
            ),
            (
                "per activity (30 d) sorting the period's facts (decision 017, before 019)",
                lambda: selectors.activity_summary(period=period, now=now, buckets=False),
                None,
            ),
            (
                "per activity (30 d) from the source rows, without the fact tables (before 017)",
                lambda: selectors.activity_summary(period=period, now=now, facts=False),
                None,
            ),
            (
                "per activity, one process, 7 days",
                lambda: selectors.activity_summary(
                    period=week, process_key="expense_approval", now=now
                ),
                None,
            ),
            (
                "fact writer for one instance (runs in every engine advance)",
                lambda: task_facts_for_instance(instance_one),
                None,
            ),
            (
                "throughput per day (30 d)",
                lambda: selectors.throughput(period=period),
                _raw(
                    """SELECT date_trunc('day', created_at), COUNT(*) FROM engine_processinstance
                       WHERE created_at >= %(since)s AND created_at < %(until)s GROUP BY 1""",
                    p,
                ),
            ),
            (
                "open tasks per role (at risk / breached)",
                lambda: selectors.workload_by_role(now=now),
                _raw(
                    """SELECT g, COUNT(*) FROM inbox_humantask t,
                       jsonb_array_elements_text(t.candidate_groups) g
                       WHERE t.status = 'open' GROUP BY g""",
                    p,
                ),
            ),
            (
                "workload per user (30 d)",
                lambda: selectors.workload_by_user(period=period),
                _raw(
                    """SELECT completed_by_id, COUNT(*) FROM inbox_humantask
                       WHERE status = 'completed' AND completed_at >= %(since)s
                         AND completed_at < %(until)s GROUP BY 1""",
                    p,
                ),
            ),
            (
                "workload per user (30 d) sorting the period's facts (before 019)",
                lambda: selectors.workload_by_user(period=period, buckets=False),
                None,
            ),
            ("SLO status (5 objectives, 30 d windows)", lambda: slo_status(now=now), None),
            (
                "SLIs per process (30 d)",
                lambda: slis(period_since=period.since, period_until=period.until),
                None,
            ),
            ("Prometheus /metrics exposition", exposition, None),
        ]
        rows = []
        LOAD_AT_START[0] = os.getloadavg()[0]
        for label, ours, raw in cases:
            mine = _median_ms(ours)
            base = _median_ms(raw) if raw else None
            rows.append((label, mine, base))
            print(f"  {label}: {mine[0]:.0f} ms" + (f" (raw {base[0]:.0f} ms)" if base else ""))
        admin, _ = User.objects.get_or_create(
            username="bench-admin", defaults={"is_superuser": True}
        )
        from django.contrib.auth.models import Group

        admin.groups.add(Group.objects.get_or_create(name="admin")[0])
        from apps.reports.snapshots import snapshots_refresh

        started = time.perf_counter()
        refreshed = snapshots_refresh()
        refresh_s = time.perf_counter() - started
        print(f"  background snapshot refresh ({refreshed} views): {refresh_s:.1f} s")
        client = Client()
        client.force_login(admin)
        pages = []
        seven = (now - timedelta(days=7)).date().isoformat()
        for label, url in (
            ("SLA dashboard, all processes (default view: snapshot)", "/admin-reports/sla/"),
            (
                "SLA dashboard, one process (default view: snapshot)",
                "/admin-reports/sla/?process_key=expense_approval",
            ),
            ("SLOs and SLIs (default view: snapshot)", "/admin-reports/slo/"),
            ("Heatmap, latest version (default view: snapshot)", "/admin-reports/heatmap/"),
            ("API GET /api/v1/reports/sla/ (default view: snapshot)", "/api/v1/reports/sla/"),
            ("Incidents", "/admin-reports/incidents/"),
            (
                "Operations console: search by variable",
                "/admin-reports/instances/?variable=amount&value=4321",
            ),
            ("Operations console: stuck > 24 h", "/admin-reports/instances/?stuck_hours=24"),
            (
                "SLA dashboard, one process, last 7 days (live)",
                f"/admin-reports/sla/?process_key=expense_approval&since={seven}",
            ),
            ("SLA dashboard, all processes, 30 days (live=1)", "/admin-reports/sla/?live=1"),
            (
                "SLA dashboard, one process, 30 days (live=1)",
                "/admin-reports/sla/?process_key=expense_approval&live=1",
            ),
            ("SLOs and SLIs, all processes (live=1)", "/admin-reports/slo/?live=1"),
            ("Heatmap, latest version (live=1)", "/admin-reports/heatmap/?live=1"),
            ("Prometheus /metrics", "/metrics"),
        ):

            def fetch(url=url):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            pages.append((label, url, _median_ms(fetch)))
            print(f"  page {label}: {pages[-1][2][0]:.0f} ms")
        counts = _counts()
    _write(report_dir / "reports.md", filled, rows, pages, counts, refresh_s, refreshed)


def _counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in ("engine_processinstance", "inbox_humantask", "engine_job"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM inbox_humantask WHERE status = 'completed'")
        out["completed tasks"] = cursor.fetchone()[0]
    return out


def _fmt(t: tuple[float, float, float] | None) -> str:
    if t is None:
        return "—"
    return f"{t[0]:.0f} ({t[1]:.0f}–{t[2]:.0f})"


def _write(path: Path, filled, rows, pages, counts, refresh_s, refreshed) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    cached = [p for p in pages if "live" not in p[0] and p[1] != "/metrics"]
    worst = max(p[2][0] for p in cached)
    lines = [
        "# Reports benchmark",
        "",
        f"`make bench` (tests/benchmarks/reports_bench.py), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"PostgreSQL {pg}, Python {platform.python_version()}, {os.cpu_count()} CPUs (shared).",
        "",
        f"Data (generate_series into a scratch database): {counts['engine_processinstance']:,} "
        f"instances, {counts['inbox_humantask']:,} human tasks of which "
        f"{counts['completed tasks']:,} completed, {counts['engine_job']:,} jobs; "
        f"{len(PROCESSES)} processes x {ACTIVITIES} user-task activities, instances spread "
        "evenly over the last 30 days (so 7 days hold about a quarter of them).",
        "Fill times: " + ", ".join(f"{k} {v:.1f} s" for k, v in filled.items()) + ".",
        "",
        f"Times in ms: median of {ROUNDS} runs after one warm-up (min–max).",
        "",
        "## Queries, beside the raw SQL of the same aggregate",
        "",
        "| figure | Flowgate selector | raw SQL |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {_fmt(mine)} | {_fmt(raw)} |" for label, mine, raw in rows]
    lines += [
        "",
        "The raw column is the bare aggregate over the wide source rows (one percentile over one",
        "measure, no SLA logic: `inbox_humantask`); the selector computes three measures' four",
        "percentiles, the SLA counts and the open-task risk. Completed tasks come from the per-day",
        "bucket counts of the task facts plus index walks for the exact percentiles (decision 019);",
        "the *before 019* rows sort the period's facts (`buckets=False`, decision 017), the",
        "*before 017* row reads the source rows (`facts=False`). All three give the same numbers.",
        "",
        f"## Pages (goal: under {GOAL_PAGE_MS:.0f} ms each)",
        "",
        "The default view of the SLA, SLO and heatmap pages (the last 30 days) is computed in the",
        f"background (`reports.refresh_snapshots`, every 5 minutes): {refreshed} views took "
        f"{refresh_s:.1f} s here. A page with other filters, or `live=1`, computes live: those rows",
        "are marked *live* and are what the same figures cost on demand.",
        "",
        "| page | URL | ms |",
        "|---|---|---:|",
    ]
    lines += [f"| {label} | `{url}` | {_fmt(t)} |" for label, url, t in pages]
    verdict = "met" if worst < GOAL_PAGE_MS else "NOT met"
    live = [p for p in pages if "live" in p[0]]
    slow_live = [p[0] for p in live if p[2][0] >= GOAL_PAGE_MS]
    lines += [
        "",
        f"Live pages under {GOAL_PAGE_MS:.0f} ms: {len(live) - len(slow_live)} of {len(live)}"
        + (f"; over it: {'; '.join(slow_live)}." if slow_live else "."),
        "",
        f"Slowest dashboard page outside the *live* rows (and the /metrics scrape): {worst:.0f} ms"
        f" — goal {verdict}. Load average (1 min) at the start of the timings "
        f"{LOAD_AT_START[0]:.1f}, at the end {os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs "
        "(shared with other work).",
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"reports bench: wrote {path}")
