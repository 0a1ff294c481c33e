"""Per-day bucket counts of the completed-task facts, and the exact per-activity figures read
from them (decision 019).

``fact_buckets_summarise`` (beat, and before each snapshot refresh) counts the facts queued in
``TaskFactPending`` into ``TaskFactBucket``: per UTC day of creation, version and activity, how many
values of each measure fall into each log bucket (``sql.bucket_of``), with their sum and maximum.

``activity_bucket_rows`` answers a period ``[since, until)`` exactly, without sorting a month:

- the counts, sums and maxima are the buckets of the period's whole UTC days plus the facts of
  its partial first and last days and the facts still pending (each fact counted once);
- a percentile (``percentile_cont``: ``h = p (n - 1)``, the values at ranks ``floor h`` and the
  next one) is located by the cumulative bucket counts, then read by walking the
  (process, activity, bucket, value) index of the facts from the start of that bucket with
  ``OFFSET rank - below`` (buckets are about 13 % wide: a few hundred index entries);
- SLA counts ``duration <= threshold`` add the buckets below the threshold's bucket to the facts
  of that bucket up to the threshold; tasks judged against their own due date (no
  ``ActivitySla``) are counted per day as met / breached (measures 3 and 4).

PostgreSQL only (a LATERAL walk with an OFFSET taken from the outer row); SQLite, the embedded
default with small histories, keeps the straightforward query (same numbers, tests compare them).

One module per concern (callers keep ``from apps.reports.summaries import ...``):

- ``common``: the measures, the SQL pieces and percentile locator, the whole days of a period;
- ``summarise``: counting the pending facts into the buckets;
- ``activities``: the per-activity figures of a period, and the all-time SLA breaches;
- ``users``: the per-user figures of a period.
"""

from __future__ import annotations

from apps.reports.summaries.activities import activity_bucket_rows, sla_breaches_all_time
from apps.reports.summaries.common import DUE_BREACHED, DUE_MET, MEASURES, day_bounds, period_params
from apps.reports.summaries.summarise import SUMMARY_BATCH, fact_buckets_summarise
from apps.reports.summaries.users import user_bucket_rows

__all__ = [
    "DUE_BREACHED",
    "DUE_MET",
    "MEASURES",
    "SUMMARY_BATCH",
    "activity_bucket_rows",
    "day_bounds",
    "period_params",
    "fact_buckets_summarise",
    "sla_breaches_all_time",
    "user_bucket_rows",
]
