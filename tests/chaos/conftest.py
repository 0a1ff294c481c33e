"""Fixtures of the chaos suite: one stack per session, and the results file it writes."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.chaos.stack import ROOT, Stack, missing_tools

RESULTS = Path(os.environ.get("CHAOS_RESULTS", ROOT / "var" / "chaos" / "results.json"))


def chaos_runs() -> int:
    """Runs per scenario: CHAOS_RUNS, else 20 with FULL=1, else 5 (the bounded CI form)."""
    if os.environ.get("CHAOS_RUNS"):
        return int(os.environ["CHAOS_RUNS"])
    return 20 if os.environ.get("FULL") == "1" else 5


@pytest.fixture(scope="session")
def chaos_results():
    collected: list[dict] = []
    started = datetime.now(UTC)
    yield collected
    if not collected:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    # Keep the scenarios this session did not run (e.g. `-k` on one scenario).
    ran = {r["scenario"] for r in collected}
    kept = [r for r in previous.get("runs", []) if r["scenario"] not in ran]
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": started.isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "runs_per_scenario": chaos_runs(),
                "runs": kept + collected,
            },
            indent=1,
        )
    )
    if os.environ.get("CHAOS_WRITE_DOCS") == "1":
        from tests.chaos.report import render

        render(RESULTS, ROOT / "docs" / "reliability.md")


@pytest.fixture(scope="session")
def stack():
    reason = missing_tools()
    if reason:
        pytest.skip(f"the chaos suite needs a private PostgreSQL and Redis: {reason}")
    running = Stack()
    try:
        running.start()
        yield running
    finally:
        running.stop()
