"""Keeps the portal's processes running, as a process manager would in production.

``run_portal`` starts web, worker and beat. A worker or beat that exits on its own is started
again after a short backoff: Celery's worker can exit when Redis goes away mid-reconnect (see
docs/reliability.md), and the rows are the truth, so a restart loses nothing. Restarts are bounded:
more than ``max_restarts`` within ``window`` seconds means something is wrong that a restart will
not fix, and the portal stops with that said. The web process is the portal: when it exits, all
stop. Decision 018.
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Supervised:
    name: str
    command: Sequence[str]
    restart: bool
    process: subprocess.Popen | None = None
    restarts: deque[float] = field(default_factory=deque)


class Supervisor:
    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        restartable: Sequence[str] = ("worker", "beat"),
        max_restarts: int = 5,
        window: float = 60.0,
        backoff: float = 1.0,
        say: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.children = {
            name: Supervised(name=name, command=list(cmd), restart=name in restartable)
            for name, cmd in commands.items()
        }
        self.max_restarts = max_restarts
        self.window = window
        self.backoff = backoff
        self.say = say
        self.clock = clock
        self.stopping = False
        self.reason = ""

    def start(self) -> None:
        for child in self.children.values():
            child.process = subprocess.Popen(child.command)  # noqa: S603

    def check(self) -> None:
        """One look at every child: restart what may be restarted, or decide to stop."""
        for child in self.children.values():
            process = child.process
            if self.stopping or process is None or process.poll() is None:
                continue
            code = process.returncode
            if not child.restart:
                self._stop(f"{child.name} exited with {code}; stopping the portal.")
                continue
            now = self.clock()
            while child.restarts and now - child.restarts[0] > self.window:
                child.restarts.popleft()
            if len(child.restarts) >= self.max_restarts:
                self._stop(
                    f"{child.name} exited with {code} and was restarted {len(child.restarts)} "
                    f"times in {self.window:.0f} s; stopping the portal (see its log above)."
                )
                continue
            child.restarts.append(now)
            self.say(f"{child.name} exited with {code}; starting it again.")
            time.sleep(self.backoff * len(child.restarts))
            child.process = subprocess.Popen(child.command)  # noqa: S603

    def run(self, *, poll: float = 0.5) -> str:
        """Supervise until ``stop()`` or a child that may not be restarted exits."""
        while not self.stopping:
            self.check()
            time.sleep(poll)
        return self.reason

    def stop(self, *_: object) -> None:
        self._stop("")

    def _stop(self, reason: str) -> None:
        if reason:
            self.say(reason)
        self.stopping = True
        self.reason = self.reason or reason

    def terminate(self, *, grace: float = 10.0) -> None:
        processes = [c.process for c in self.children.values() if c.process is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
