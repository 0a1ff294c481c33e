"""A real Celery worker process for integration tests, pointed at the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from apps.common.stack import worker_command

ROOT = Path(__file__).resolve().parents[2]


def worker_env(**overrides: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_ENV": "test",
            "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "FLOWGATE_CONNECTOR_MODULES": "tests.support.worker_connectors",
            "FLOWGATE_JOB_LEASE_SECONDS": str(settings.FLOWGATE_JOB_LEASE_SECONDS),
            "FLOWGATE_JOB_RETRY_BASE_SECONDS": str(settings.FLOWGATE_JOB_RETRY_BASE_SECONDS),
            "FLOWGATE_JOB_RETRY_MAX_SECONDS": str(settings.FLOWGATE_JOB_RETRY_MAX_SECONDS),
            "FLOWGATE_JOB_LOST_AFTER_SECONDS": str(settings.FLOWGATE_JOB_LOST_AFTER_SECONDS),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


class WorkerProcess:
    """``celery worker`` in a subprocess; ``kill()`` is a real SIGKILL."""

    def __init__(self, *, concurrency: int = 2, name: str = "w1", **env: str):
        self.concurrency = concurrency
        self.name = name
        self.env = worker_env(**env)
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        cmd = worker_command(
            concurrency=self.concurrency, loglevel="WARNING", name=self.name, heartbeat=False
        )
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(ROOT / "var" / f"test-worker-{self.name}.log", "w"),  # noqa: SIM115
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool children): a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def wait_until(
    predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition"
):
    """Poll ``predicate`` until it returns a truthy value (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
