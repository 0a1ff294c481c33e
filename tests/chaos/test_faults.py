"""Fault injection against the whole portal (uvicorn web, Celery worker, Celery beat, private
PostgreSQL and Redis): one fault at a time, then recovery within the bound and a clean invariant
check. Results go to var/chaos/results.json (`make chaos` renders docs/reliability.md)."""

from __future__ import annotations

import secrets

import pytest

from tests.chaos.conftest import chaos_runs
from tests.chaos.embedded import EmbeddedStack, can_mount, disk_full_run
from tests.chaos.scenarios import (
    RECOVERY_BOUND_SECONDS,
    SCENARIOS,
    Workload,
    run_scenario,
    settle,
    start_workload,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
SESSION = secrets.token_hex(3)


@pytest.fixture(scope="session")
def warm_stack(stack):
    """One run without a fault first: the worker and beat are up and the caches are warm."""
    work = Workload(tag=f"{SESSION}-warmup")
    start_workload(stack, work, auto=2, human=1)
    settle(stack, work, timeout=120)
    assert work.problems == []
    return stack


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_portal_recovers_from(name, warm_stack, chaos_results):
    results = []
    for run in range(chaos_runs()):
        result = run_scenario(warm_stack, name, run, session=SESSION)
        results.append(result)
        chaos_results.add(result.as_dict())
    assert [r.details for r in results if r.violations] == []
    assert [r.violations for r in results] == [0] * len(results)
    slow = [r.recovery_seconds for r in results if r.recovery_seconds >= RECOVERY_BOUND_SECONDS]
    assert slow == []


@pytest.fixture(scope="module")
def embedded_stack():
    reason = can_mount()
    if reason:
        pytest.skip(f"the disk-full scenario mounts a small tmpfs: {reason}")
    running = EmbeddedStack()
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(2400)
def test_the_embedded_default_survives_a_full_disk(embedded_stack, chaos_results):
    """SQLite on a full disk: starts are refused with 507 storage_full, nothing is half-written,
    and once space is freed the refused starts succeed and every instance finishes."""
    results = []
    for run in range(chaos_runs()):
        result = disk_full_run(embedded_stack, run, session=SESSION)
        results.append(result)
        chaos_results.add(result.as_dict())
    assert [r.details for r in results if r.violations] == []
    slow = [r.recovery_seconds for r in results if r.recovery_seconds >= RECOVERY_BOUND_SECONDS]
    assert slow == []
