"""Cost per process in /metrics (decision 039 addendum): all-time counters per process key,
read from the snapshot the report refresh writes, so a scrape does not scan the jobs."""

from __future__ import annotations

import pytest

from apps.reports.tasks import refresh_snapshots
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


def _cost_lines(client) -> list[str]:
    return [
        line
        for line in client.get("/metrics").content.decode().splitlines()
        if line.startswith(("flowgate_process_", "flowgate_process_costs_timestamp"))
        and not line.startswith("#")
    ]


def test_cost_counters_per_process_come_from_the_snapshot(client):
    day = ds.fixed_now() - S(86400)
    done = ds.instance("orders", created=day, ended=day + S(60))
    ds.job(done, "book", created=day, started=day + S(1), finished=day + S(3), attempts=1)
    ds.job(
        done,
        "mail",
        created=day,
        started=day + S(5),
        finished=day + S(5.5),
        attempts=3,
        deferrals=2,
        failed_attempts_seconds=1.25,
    )
    other = ds.instance("refunds", created=day, ended=day + S(10))
    ds.job(other, "pay", created=day, started=day + S(1), finished=day + S(11), attempts=2)

    assert _cost_lines(client) == []  # no snapshot yet: no sample, and no scan at scrape time
    refresh_snapshots()
    lines = _cost_lines(client)
    for expected in (
        'flowgate_process_steps_total{process_key="orders"} 2.0',
        'flowgate_process_connector_calls_total{process_key="orders"} 4.0',
        'flowgate_process_deferred_calls_total{process_key="orders"} 2.0',
        'flowgate_process_worker_seconds_total{process_key="orders"} 3.75',
        'flowgate_process_steps_total{process_key="refunds"} 1.0',
        'flowgate_process_connector_calls_total{process_key="refunds"} 2.0',
        'flowgate_process_worker_seconds_total{process_key="refunds"} 10.0',
    ):
        assert expected in lines, expected
    assert any(line.startswith("flowgate_process_costs_timestamp_seconds ") for line in lines)

    # a new step shows at the next refresh, not at the next scrape
    ds.job(other, "pay2", created=day, started=day, finished=day + S(2), attempts=1)
    assert 'flowgate_process_steps_total{process_key="refunds"} 1.0' in _cost_lines(client)
    refresh_snapshots()
    after = _cost_lines(client)
    assert 'flowgate_process_steps_total{process_key="refunds"} 2.0' in after
    assert 'flowgate_process_worker_seconds_total{process_key="refunds"} 12.0' in after
