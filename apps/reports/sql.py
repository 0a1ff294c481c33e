# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""SQL building blocks for report aggregates that give the same numbers in PostgreSQL and SQLite.

Percentiles are **continuous** (linear interpolation between the two closest ranks, exactly
PostgreSQL's ``percentile_cont``): for ``n`` sorted values ``v[0..n-1]`` and a fraction ``p``,
``h = p * (n - 1)``, ``lo = floor(h)``, the result is ``v[lo] + (h - lo) * (v[lo + 1] - v[lo])``
(``v[lo]`` when ``h`` is whole). PostgreSQL runs ``percentile_cont`` itself; SQLite gets the same
arithmetic from window functions (``ROW_NUMBER``/``COUNT`` per group) and one aggregate pass.
Both compute ``p * (n - 1)`` in IEEE doubles, so even ties at a boundary agree.

Durations are seconds between two timestamps: exact (``EXTRACT(EPOCH FROM interval)``) in
PostgreSQL, exact to the millisecond in SQLite (integer milliseconds from ``strftime``), so
threshold comparisons such as "completed exactly at the breach time" are exact in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _epoch_ms_sqlite(column: str) -> str:
    return (
        f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000"
        f" + CAST(substr(strftime('%%f', {column}), 4) AS INTEGER))"
    )


def seconds_between(start: str, end: str) -> str:
    """SQL for ``end - start`` in seconds (NULL when either is NULL)."""
    if is_postgres():
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"(({_epoch_ms_sqlite(end)} - {_epoch_ms_sqlite(start)}) / 1000.0)"


def as_float(expression: str) -> str:
    """SQL casting a number to a double: PostgreSQL's EXTRACT gives numeric, which sorts and
    averages several times slower than a double (the values are the same to the microsecond)."""
    return f"CAST({expression} AS DOUBLE PRECISION)"


def day_of(column: str, *, bucket: str = "day") -> str:
    """SQL for the UTC day ('YYYY-MM-DD') or hour ('YYYY-MM-DD HH:00') of a timestamp."""
    if is_postgres():
        fmt = "YYYY-MM-DD" if bucket == "day" else 'YYYY-MM-DD HH24:"00"'
        return f"to_char({column} AT TIME ZONE 'UTC', '{fmt}')"
    fmt = "%%Y-%%m-%%d" if bucket == "day" else "%%Y-%%m-%%d %%H:00"
    return f"strftime('{fmt}', {column})"


def bucket_key(column: str, *, bucket: str = "day") -> str:
    """SQL grouping a timestamp by UTC day or hour: a truncated timestamp in PostgreSQL (cheap
    per row; ``bucket_label`` formats it once per group), the label itself in SQLite."""
    if is_postgres():
        return f"date_trunc('{'day' if bucket == 'day' else 'hour'}', {column} AT TIME ZONE 'UTC')"
    return day_of(column, bucket=bucket)


def bucket_label(key: str, *, bucket: str = "day") -> str:
    """SQL for the label ('YYYY-MM-DD' or 'YYYY-MM-DD HH:00') of a ``bucket_key``."""
    if is_postgres():
        fmt = "YYYY-MM-DD" if bucket == "day" else 'YYYY-MM-DD HH24:"00"'
        return f"to_char({key}, '{fmt}')"
    return key


def json_text_elements(column: str, alias: str) -> str:
    """A FROM item yielding ``<alias>.value`` for each text element of a JSON array column."""
    if is_postgres():
        return f"CROSS JOIN LATERAL jsonb_array_elements_text({column}) AS {alias}(value)"
    return f"CROSS JOIN json_each({column}) AS {alias}"


def param(value: Any) -> Any:
    """A query parameter as Django would send it (SQLite stores naive UTC text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def fetch(sql: str, params: dict[str, Any], *, serial: bool = False) -> list[dict[str, Any]]:
    """Run ``sql`` with named ``%(name)s`` parameters (a literal % is written %%).

    In PostgreSQL the query gets ``FLOWGATE_REPORTS_WORK_MEM`` of sort memory (SET LOCAL, this
    transaction only): percentiles sort their inputs, and the 4 MB default spills a month of
    tasks to disk. ``serial``: no parallel workers, for plans whose workers would each build the
    same hash of grouped rows (measured: the SLIs, 325 ms in parallel, 265 ms serial)."""
    bound = {name: param(value) for name, value in params.items()}
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            # and no JIT: its compile time (50+ ms) is more than it saves on these few groups
            cursor.execute(
                "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                [getattr(settings, "FLOWGATE_REPORTS_WORK_MEM", "64MB")],
            )
            if serial:
                cursor.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
        cursor.execute(sql, bound)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fenced(source: str) -> str:
    """``source`` (a SELECT) kept a subquery of its own in PostgreSQL (``OFFSET 0``): its computed
    columns are then computed once per row, not inlined into every aggregate that reads them
    (decision 020). SQLite has no OFFSET without LIMIT and evaluates it as written."""
    return f"{source} OFFSET 0" if is_postgres() else source


def percentile_query(
    *,
    source: str,
    keys: Sequence[str],
    measures: Sequence[str],
    extra: dict[str, str] | None = None,
    fence: bool = False,
) -> str:
    """GROUP BY ``keys`` over the subquery ``source``; for each measure column ``m``:
    ``m_n`` (non-null count), ``m_sum_us`` (exact sum in integer microseconds, for the mean),
    ``m_max`` and ``m_p50``/``m_p90``/``m_p95``/``m_p99``.
    ``extra`` adds named aggregate expressions over the source's columns (e.g. counts).
    NULL measures are ignored, as ``percentile_cont`` does. ``fence`` (PostgreSQL): keep the
    source a subquery of its own (``OFFSET 0``) so that a computed measure is computed once per
    row, not once per aggregate using it (the planner would inline it into each of the seven)."""
    extra = extra or {}
    key_list = ", ".join(keys)
    extras = "".join(f", {expr} AS {name}" for name, expr in extra.items())
    if is_postgres():
        cols = []
        for m in measures:
            cols += [
                f"COUNT({m}) AS {m}_n",
                f"{sum_us(m)} AS {m}_sum_us",
                f"MAX({m})::float8 AS {m}_max",
            ]
            cols += [
                f"percentile_cont({p}) WITHIN GROUP (ORDER BY {m}::float8) AS {m}_{name}"
                for name, p in PERCENTILES
            ]
        inner = fenced(source) if fence else source
        return (
            f"SELECT {key_list}{extras}, {', '.join(cols)} FROM ({inner}) AS s GROUP BY {key_list}"
        )
    ranked = ", ".join(
        f"ROW_NUMBER() OVER (PARTITION BY {key_list}, ({m} IS NULL) ORDER BY {m}) - 1 AS {m}__rn,"
        f" COUNT({m}) OVER (PARTITION BY {key_list}) AS {m}__cnt"
        for m in measures
    )
    inner_cols, outer_cols = [], []
    for m in measures:
        inner_cols += [f"COUNT({m}) AS {m}_n", f"{sum_us(m)} AS {m}_sum_us", f"MAX({m}) AS {m}_max"]
        outer_cols += [f"{m}_n", f"{m}_sum_us", f"{m}_max"]
        for name, p in PERCENTILES:
            h = f"({p} * ({m}__cnt - 1))"
            inner_cols += [
                f"MAX(CASE WHEN {m} IS NOT NULL AND {m}__rn = CAST({h} AS INTEGER) THEN {m} END)"
                f" AS {m}_{name}_lo",
                f"MAX(CASE WHEN {m} IS NOT NULL AND {m}__rn = CAST({h} AS INTEGER) + 1 THEN {m} END)"
                f" AS {m}_{name}_hi",
            ]
            h_out = f"({p} * ({m}_n - 1))"
            outer_cols.append(
                f"CASE WHEN {m}_n = 0 THEN NULL ELSE {m}_{name}_lo + ({h_out} - CAST({h_out} AS INTEGER))"
                f" * (COALESCE({m}_{name}_hi, {m}_{name}_lo) - {m}_{name}_lo) END AS {m}_{name}"
            )
    extra_names = "".join(f", {name}" for name in extra)
    return (
        f"SELECT {key_list}{extra_names}, {', '.join(outer_cols)} FROM ("
        f"SELECT {key_list}{extras}, {', '.join(inner_cols)} FROM ("
        f"SELECT s.*, {ranked} FROM ({source}) AS s) AS w GROUP BY {key_list}) AS g"
    )


def micros(value: str) -> str:
    """SQL for a number of seconds as integer microseconds (exact: values are exact to the us
    in PostgreSQL and to the ms in SQLite), so sums are exact whatever the order of addition."""
    return f"CAST(ROUND({value} * 1000000) AS BIGINT)"


def sum_us(value: str) -> str:
    return f"SUM({micros(value)})"


def mean_s(total_us: Any, n: int) -> float | None:
    """The exact mean of values summing to ``total_us`` microseconds, rounded half to even to the
    millisecond: the same figure however the sum was accumulated (per-day buckets or rows)."""
    if not n or total_us is None:
        return None
    q, r = divmod(int(total_us), n * 1000)  # the mean in ms: q + r / (n * 1000)
    if 2 * r > n * 1000 or (2 * r == n * 1000 and q % 2):
        q += 1
    return q / 1000


def stats(row: dict[str, Any], measure: str) -> dict[str, Any]:
    """The figures of one measure from a ``percentile_query`` row, in seconds to the ms."""

    def r(value):
        return None if value is None else round(float(value), 3)

    count = int(row[f"{measure}_n"] or 0)
    out = {
        "count": count,
        "avg_s": mean_s(row[f"{measure}_sum_us"], count),
        "max_s": r(row[f"{measure}_max"]),
    }
    for name, _ in PERCENTILES:
        out[f"{name}_s"] = r(row[f"{measure}_{name}"])
    return out


BUCKETS_PER_E = 8  # log buckets per factor e (each about 13 % wide): decision 019


def bucket_of(value: str) -> str:
    """SQL for the log bucket of a number of seconds (NULL for NULL): non-decreasing in the value
    (negatives < 0 < positives), so ordering by (bucket, value) is ordering by value. The value
    is cast to a double first, so a fact's stored bucket and a threshold's bucket agree."""
    v = as_float(value)
    return (
        f"(CASE WHEN {v} > 0 THEN 1000000 + CAST(FLOOR(LN({v}) * {BUCKETS_PER_E}) AS INTEGER)"
        f" WHEN {v} < 0 THEN -1000000 - CAST(FLOOR(LN(-{v}) * {BUCKETS_PER_E}) AS INTEGER)"
        f" WHEN {v} = 0 THEN 0 END)"
    )


def epoch_seconds(column: str) -> str:
    """SQL for a timestamp as seconds since 1970 (exact to the ms in SQLite)."""
    if is_postgres():
        return f"EXTRACT(EPOCH FROM {column})"
    return f"({_epoch_ms_sqlite(column)} / 1000.0)"
