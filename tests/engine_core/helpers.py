"""Helpers for engine-core tests: load fixtures, compile, save/restore between steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from apps.engine.core.compile import CompiledProcess, compile_bpmn
from apps.engine.core.effects import Effects
from apps.engine.core.runner import Instance, ProcessRunner

BPMN_DIR = Path(__file__).parent / "bpmn"
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


def compiled(name: str, **kwargs) -> CompiledProcess:
    return compile_bpmn(fixture(name), **kwargs)


class Clock:
    """A settable clock for the runner (timers and timestamps read it)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


def runner(name: str, clock: Clock | None = None, **kwargs) -> ProcessRunner:
    return ProcessRunner(compiled(name, **kwargs).spec_json, clock=clock or Clock())


def restore(r: ProcessRunner, instance: Instance) -> Instance:
    """Save and restore, as the runtime does between two steps."""
    return r.load(instance.dump())


def user_tasks(effects: Effects, activity_id: str) -> list:
    return [t for t in effects.user_tasks if t.activity_id == activity_id]


def service_tasks(effects: Effects, activity_id: str) -> list:
    return [t for t in effects.service_tasks if t.activity_id == activity_id]


def activities(effects: Effects, kind: str) -> list[str]:
    return [e.activity_id for e in effects.events if e.kind == kind]
