"""docs/architecture.md states the engine's intervals; they must be the ones the settings define."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()
SETTINGS = (ROOT / "portal" / "settings.py").read_text()


def _beat_seconds(task: str) -> float:
    return next(
        float(entry["schedule"])
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == task
    )


def _stated_every(task: str) -> float:
    match = re.search(rf"`{re.escape(task)}` every (second|(\d+) seconds)", DOC)
    assert match, f"docs/architecture.md does not say how often {task} runs"
    return 1.0 if match.group(1) == "second" else float(match.group(2))


def _default(name: str) -> float:
    match = re.search(rf'{name}", default=([\d.]+)\)', SETTINGS)
    assert match, name
    return float(match.group(1))


def test_the_stated_beat_intervals_are_the_schedule():
    for task in ("engine.fire_timers", "engine.sweep_jobs"):
        assert _stated_every(task) == _beat_seconds(task), task


def test_the_stated_job_defaults_are_the_settings_defaults():
    for name in (
        "FLOWGATE_JOB_LEASE_SECONDS",
        "FLOWGATE_JOB_LEASE_MARGIN_SECONDS",
        "FLOWGATE_JOB_SWEEP_EVERY_SECONDS",
        "FLOWGATE_JOB_LOST_AFTER_SECONDS",
        "FLOWGATE_JOB_RETRY_BASE_SECONDS",
        "FLOWGATE_JOB_RETRY_MAX_SECONDS",
        "FLOWGATE_INLINE_CHAIN_LIMIT",
    ):
        match = re.search(rf"`{name}`[^(]*\(([\d.]+)", DOC)
        assert match, f"docs/architecture.md does not state {name}"
        assert float(match.group(1)) == _default(name), name
