"""What every invariant check shares: the violation it reports and the context it reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

DEFAULT_SLACK_SECONDS = 10.0


@dataclass(frozen=True)
class Violation:
    check: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


def _beat_interval(task: str, default: float) -> float:
    for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values():
        if entry.get("task") == task:
            schedule = entry.get("schedule")
            if isinstance(schedule, int | float):
                return float(schedule)
    return default


@dataclass
class Context:
    """What the checks share: one clock reading and the time allowances."""

    now: datetime = field(default_factory=timezone.now)
    slack: float = DEFAULT_SLACK_SECONDS
    job_sweep_every: float = field(default_factory=lambda: _beat_interval("engine.sweep_jobs", 5.0))
    timer_sweep_every: float = field(
        default_factory=lambda: _beat_interval("engine.fire_timers", 1.0)
    )
    lost_after: float = field(
        default_factory=lambda: float(getattr(settings, "FLOWGATE_JOB_LOST_AFTER_SECONDS", 30))
    )
