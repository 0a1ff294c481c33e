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


class ResultsFile:
    """The runs of this session, written after every run (an interrupted `make chaos FULL=1`
    still leaves what it measured); the scenarios this session did not run are kept."""

    def __init__(self, path: Path):
        self.path = path
        self.started = datetime.now(UTC)
        self.collected: list[dict] = []
        previous = json.loads(path.read_text()) if path.exists() else {}
        self.previous = previous.get("runs", [])

    def add(self, run: dict) -> None:
        self.collected.append(run)
        ran = {r["scenario"] for r in self.collected}
        kept = [r for r in self.previous if r["scenario"] not in ran]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            json.dumps(
                {
                    "generated_at": self.started.isoformat(timespec="seconds"),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "platform": platform.platform(),
                        "loadavg": [round(x, 1) for x in os.getloadavg()],
                    },
                    "runs_per_scenario": chaos_runs(),
                    "runs": kept + self.collected,
                },
                indent=1,
            )
        )
        if os.environ.get("CHAOS_WRITE_DOCS") == "1":
            from tests.chaos.report import render

            chaos = ROOT / "var" / "chaos"
            ci, full = chaos / "results-ci.json", chaos / "results-full.json"
            render(
                ci if ci.exists() else self.path, ROOT / "docs" / "reliability.md", full_path=full
            )


@pytest.fixture(scope="session")
def chaos_results():
    return ResultsFile(RESULTS)


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
