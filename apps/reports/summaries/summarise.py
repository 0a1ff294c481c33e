# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""Counting the pending facts into the per-day buckets (beat, and before each snapshot refresh)."""

from __future__ import annotations

from django.db import connection, transaction

from apps.reports.sql import is_postgres, micros
from apps.reports.summaries.common import (
    bucket_case,
    measure_value,
    unpivot,
)

SUMMARY_BATCH = 200_000


_SUMMARISE = f"""
    WITH moved AS (
        DELETE FROM reports_taskfactpending
        WHERE fact_id IN (SELECT fact_id FROM reports_taskfactpending
                          ORDER BY fact_id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
        RETURNING fact_id
    ), by_activity AS (
    INSERT INTO reports_taskfactbucket
        (day, process_key, version_id, activity_id, measure, bucket, n, total_us, high)
    SELECT CAST(f.created_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.version_id,
           f.activity_id, m.measure, {bucket_case("f.")}, COUNT(*),
           SUM({micros(measure_value("m.measure", "f."))}), MAX({measure_value("m.measure", "f.")})
    FROM moved JOIN reports_taskfact f ON f.id = moved.fact_id {unpivot("f")}
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, process_key, version_id, activity_id, measure, bucket) DO UPDATE
    SET n = reports_taskfactbucket.n + EXCLUDED.n,
        total_us = reports_taskfactbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_taskfactbucket.high, EXCLUDED.high)
    RETURNING 1
    ), by_user AS (
    INSERT INTO reports_taskfactuserbucket
        (day, process_key, user_id, bucket, n, total_us, high)
    SELECT CAST(f.completed_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.completed_by_id,
           f.duration_b, COUNT(*), SUM({micros("f.duration")}), MAX(f.duration)
    FROM moved JOIN reports_taskfact f ON f.id = moved.fact_id
    WHERE f.completed_by_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, process_key, user_id, bucket) DO UPDATE
    SET n = reports_taskfactuserbucket.n + EXCLUDED.n,
        total_us = reports_taskfactuserbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_taskfactuserbucket.high, EXCLUDED.high)
    RETURNING 1
    )
    SELECT (SELECT COUNT(*) FROM by_activity), (SELECT COUNT(*) FROM by_user)"""


_SUMMARISE_JOBS = f"""
    WITH moved AS (
        DELETE FROM reports_jobfactpending
        WHERE fact_id IN (SELECT fact_id FROM reports_jobfactpending
                          ORDER BY fact_id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
        RETURNING fact_id
    )
    INSERT INTO reports_jobfactbucket
        (day, process_key, version_id, activity_id, measure, bucket, n, total_us, high)
    SELECT CAST(f.created_at AT TIME ZONE 'UTC' AS DATE), f.process_key, f.version_id,
           f.activity_id, m.measure, {bucket_case("f.")}, COUNT(*),
           SUM({micros(measure_value("m.measure", "f."))}), MAX({measure_value("m.measure", "f.")})
    FROM moved JOIN reports_jobfact f ON f.id = moved.fact_id {unpivot("f", due=False)}
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (day, process_key, version_id, activity_id, measure, bucket) DO UPDATE
    SET n = reports_jobfactbucket.n + EXCLUDED.n,
        total_us = reports_jobfactbucket.total_us + EXCLUDED.total_us,
        high = GREATEST(reports_jobfactbucket.high, EXCLUDED.high)"""


def fact_buckets_summarise(*, batch: int = SUMMARY_BATCH) -> int:
    """Count the pending facts (``TaskFactPending``) into ``TaskFactBucket``, ``batch`` per
    statement; returns how many. Safe to run twice or concurrently: each pending row is locked
    and deleted by the statement that counts its fact. A no-op in SQLite, whose reports read
    the facts directly."""
    if not is_postgres():
        return 0
    moved = 0
    for queue, statement in (
        ("reports_taskfactpending", _SUMMARISE),
        ("reports_jobfactpending", _SUMMARISE_JOBS),
    ):
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {queue} LIMIT %s) AS p", [batch]
                )
                pending = cursor.fetchone()[0]
                if pending:
                    cursor.execute(statement, {"batch": batch})
                    moved += pending
            if pending < batch:
                break
    return moved
