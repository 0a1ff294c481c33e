# ruff: noqa: S608 - SQL text is built from constants only; every user value is a bound parameter
"""What the bucket queries share: the measures, the per-measure SQL pieces, the percentile
locator and the whole UTC days of a period."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

MEASURES = ("duration", "waiting", "working")
DUE_MET, DUE_BREACHED = 3, 4


def measure_value(measure: str, prefix: str = "") -> str:
    """CASE over the measure number: the fact's value of that measure (0 for the due counts)."""
    whens = " ".join(f"WHEN {i} THEN {prefix}{m}" for i, m in enumerate(MEASURES))
    return f"CASE {measure} {whens} ELSE 0 END"


def unpivot(alias: str, *, due: bool = True) -> str:
    """FROM tail turning each fact row into one row per measure (and its due-date verdict)."""
    if not due:
        return "CROSS JOIN (VALUES (0), (1), (2)) AS m(measure)"
    return (
        f"CROSS JOIN (VALUES (0), (1), (2), ({DUE_MET}), ({DUE_BREACHED})) AS m(measure)"
        f" WHERE m.measure < 3"
        f" OR (m.measure = {DUE_MET} AND {alias}.due_s IS NOT NULL"
        f" AND {alias}.duration <= {alias}.due_s)"
        f" OR (m.measure = {DUE_BREACHED} AND {alias}.due_s IS NOT NULL"
        f" AND {alias}.duration > {alias}.due_s)"
    )


def bucket_case(prefix: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {prefix}{m}_b" for i, m in enumerate(MEASURES))
    return f"CASE m.measure {whens} ELSE 0 END"


def day_bounds(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The whole UTC days inside ``[since, until)`` as ``[first, end)`` (empty: both ``until``)."""
    since_utc, until_utc = since.astimezone(UTC), until.astimezone(UTC)
    first = datetime.combine(since_utc.date(), time.min, tzinfo=UTC)
    if first < since_utc:
        first += timedelta(days=1)
    end = datetime.combine(until_utc.date(), time.min, tzinfo=UTC)
    if first >= end:
        return until, until
    return first, end


def period_params(
    since: datetime, until: datetime, first: datetime, end: datetime, **extra: Any
) -> dict[str, Any]:
    """The named parameters of a bucket query over ``[since, until)`` whose whole days are
    ``[first, end)`` (``day_bounds``), plus ``extra`` (process key, version id ...)."""
    return {
        "since": since,
        "until": until,
        "first": first,
        "end": end,
        "first_day": first.date(),
        "end_day": end.date(),
        **extra,
    }


# For each series and percentile: the bucket holding rank lo = floor(p (n - 1)) and the one
# holding hi = min(lo + 1, n - 1), found by filtering the cumulative counts (no range join, whose
# row estimates led the planner astray); the walk goes up from lo's bucket or down from hi's,
# whichever skips fewer index entries.
LOCATED = """located AS (
        SELECT {keys}, name, h, lo, hi,
               MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END)
                   <= MAX(CASE WHEN below <= hi AND hi < below + n THEN below + n - 1 - hi END)
                   AS up,
               CASE WHEN MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END)
                         <= MAX(CASE WHEN below <= hi AND hi < below + n
                                     THEN below + n - 1 - hi END)
                    THEN MAX(CASE WHEN below <= lo AND lo < below + n THEN bucket END)
                    ELSE MAX(CASE WHEN below <= hi AND hi < below + n THEN bucket END)
               END AS bucket,
               LEAST(MAX(CASE WHEN below <= lo AND lo < below + n THEN lo - below END),
                     MAX(CASE WHEN below <= hi AND hi < below + n THEN below + n - 1 - hi END))
                   AS skip,
               hi - lo + 1 AS take
        FROM (
            SELECT c.*, p.name, p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION) AS h,
                   CAST(FLOOR(p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION)) AS BIGINT) AS lo,
                   LEAST(CAST(FLOOR(p.frac * CAST(c.cnt - 1 AS DOUBLE PRECISION)) AS BIGINT) + 1,
                         c.cnt - 1) AS hi
            FROM cum c CROSS JOIN (VALUES {pct}) AS p(name, frac)
        ) AS x
        WHERE (below <= lo AND lo < below + n) OR (below <= hi AND hi < below + n)
        GROUP BY {keys}, name, h, lo, hi
    )"""
