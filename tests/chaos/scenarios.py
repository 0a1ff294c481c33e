"""The fault scenarios: each starts a small mixed workload on the running stack, injects one fault,
and returns when the fault is over. ``run_scenario`` then waits for every instance of the run to
finish (scripted approvers keep completing tasks through the API), measures the recovery time from
the end of the fault, and runs the invariant checker.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import psutil
import requests

from tests.chaos.stack import BREAKER_PREFIX, BREAKER_THRESHOLDS, Stack, wait_for

RECOVERY_BOUND_SECONDS = 30.0
AUTO_PER_RUN = 4  # chaos_order: HTTP call (flaky), 2 s timer, booking
HUMAN_PER_RUN = 2  # chaos_approval: approval through the API, then an HTTP call
CONNECTOR_TIMEOUT = 2  # seconds: the HTTP step's read timeout


@dataclass
class RunResult:
    scenario: str
    run: int
    instances: int
    violations: int
    recovery_seconds: float
    details: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)  # components the supervisor restarted

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Workload:
    """The logical requests of one run: business key -> process key."""

    tag: str
    keys: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    transient_errors: int = 0
    race: bool = False  # approvals are submitted by two approvers at once
    cleanup: Callable[[], None] | None = None  # undo the fault's setup once the run has settled
    notes: list[str] = field(default_factory=list)  # facts about the run that are no violation
    lock: threading.Lock = field(default_factory=threading.Lock)


def start_instance(
    stack: Stack, work: Workload, key: str, process: str, *, deadline: float, base: str = ""
) -> None:
    """Start one instance through the API, retrying (same Idempotency-Key) until it is accepted:
    a refused connection or a 5xx during a fault is retried, as a careful client would. ``base``:
    the service URL its HTTP steps call (default: the flaky service)."""
    n = int(key.rsplit("-", 1)[1])
    body = {
        "process_key": process,
        "business_key": key,
        "variables": {"base": base or stack.http.url, "n": n, "timeout": CONNECTOR_TIMEOUT},
    }
    with work.lock:
        work.keys[key] = process
    while True:
        try:
            response = stack.api(
                "designer", "POST", "/instances/", json=body, headers={"Idempotency-Key": key}
            )
            if response.status_code == 201:
                return
            if response.status_code < 500:
                with work.lock:
                    work.problems.append(
                        f"start {key}: {response.status_code} {response.text[:200]}"
                    )
                return
        except requests.RequestException:
            pass
        with work.lock:
            work.transient_errors += 1
        if time.monotonic() > deadline:
            with work.lock:
                work.problems.append(f"start {key}: not accepted before the deadline")
            return
        time.sleep(0.3)


def start_workload(
    stack: Stack, work: Workload, *, auto: int = AUTO_PER_RUN, human: int = HUMAN_PER_RUN
) -> None:
    deadline = time.monotonic() + 60
    offset = len(work.keys)
    for i in range(auto):
        start_instance(stack, work, f"{work.tag}-{offset + i}", "chaos_order", deadline=deadline)
    for i in range(auto, auto + human):
        start_instance(stack, work, f"{work.tag}-{offset + i}", "chaos_approval", deadline=deadline)


def complete_open_tasks(stack: Stack, work: Workload, *, race: bool = False) -> None:
    """Scripted approvers: complete every open task of the run through the API. With ``race``,
    two approvers submit the same task at the same instant: exactly one must win (200) and the
    other get 409."""
    for task_id in stack.open_tasks(work.tag):
        body = {"data": {"approved": True, "comment": "chaos"}}
        if not race:
            try:
                stack.api("approver", "POST", f"/tasks/{task_id}/complete/", json=body)
            except requests.RequestException:
                pass  # retried on the next round
            continue
        codes = race_completion(stack, task_id, body)
        if sorted(codes) != [200, 409]:
            work.problems.append(
                f"task {task_id}: two approvers got {sorted(codes)}, not [200, 409]"
            )


def race_completion(stack: Stack, task_id: int, body: dict) -> list[int]:
    """Two approvers POST the same completion at the same instant; their status codes."""
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def submit(user: str) -> None:
        barrier.wait()
        try:
            codes.append(
                stack.api(user, "POST", f"/tasks/{task_id}/complete/", json=body).status_code
            )
        except requests.RequestException:
            codes.append(0)

    threads = [threading.Thread(target=submit, args=(u,)) for u in ("approver", "approver2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def settle(stack: Stack, work: Workload, *, timeout: float, race: bool = False) -> float:
    """Wait until every instance of the run has finished; the monotonic time it happened."""

    def finished() -> float | None:
        complete_open_tasks(stack, work, race=race)
        rows = stack.instances(work.tag)
        if len(rows) >= len(work.keys) and all(status == "completed" for _, _, status in rows):
            return time.monotonic()
        return None

    try:
        return wait_for(finished, timeout=timeout, interval=0.25, what=f"run {work.tag} to finish")
    except AssertionError:
        rows = stack.instances(work.tag)
        open_rows = [f"{key}={status}" for _, key, status in rows if status != "completed"]
        work.problems.append(
            f"not finished after {timeout:g}s: {len(rows)} of {len(work.keys)} instances, "
            f"unfinished {open_rows[:10]}"
        )
        return time.monotonic()


def wait_running_job(stack: Stack, work: Workload, timeout: float = 10.0):
    """A job of this run that a worker is executing right now (for a mid-job kill); None when
    none was seen in flight (the fault is then injected all the same, and noted)."""
    try:
        return wait_for(
            lambda: next(iter(stack.jobs(work.tag, status="running")), None),
            timeout=timeout,
            interval=0.02,
            what="a running job",
        )
    except AssertionError:
        work.notes.append("no job was seen in flight when the fault was injected")
        return None


# --- the scenarios: each returns the monotonic instant the fault ended ------------------------


def worker_child_kill(stack: Stack, work: Workload) -> float:
    """kill -9 of the pool child that is executing a job; Celery's main process forks a new one."""
    stack.http.delay = (0.3, 0.6)  # jobs long enough to be caught in flight
    try:
        start_workload(stack, work)
        deadline = time.monotonic() + 20
        while True:
            job = wait_running_job(stack, work, timeout=5)
            try:
                children = {
                    c.pid for c in psutil.Process(stack.components["worker"].pid).children()
                }
                pid = int(job[3].rsplit(":", 1)[1]) if job else 0
                if pid not in children:  # the job finished meanwhile: take any pool child
                    pid = random.choice(sorted(children))  # noqa: S311
                psutil.Process(pid).kill()
                return time.monotonic()
            except (psutil.NoSuchProcess, IndexError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # the pool is between children: look again
    finally:
        stack.http.delay = (0.02, 0.15)


def worker_kill(stack: Stack, work: Workload) -> float:
    """kill -9 of the whole worker (main process and pool) mid-job; a new worker starts."""
    stack.http.delay = (0.3, 0.6)
    try:
        start_workload(stack, work)
        wait_running_job(stack, work)
        stack.components["worker"].kill()
        stack.start_component("worker")
        return time.monotonic()
    finally:
        stack.http.delay = (0.02, 0.15)


def postgres_restart(stack: Stack, work: Workload) -> float:
    """PostgreSQL restarted (fast shutdown: every session is cut) while jobs run."""
    stack.http.delay = (0.3, 0.6)
    try:
        start_workload(stack, work)
        wait_running_job(stack, work)
        stack.pg.restart()
        return time.monotonic()
    finally:
        stack.http.delay = (0.02, 0.15)


def redis_outage(stack: Stack, work: Workload) -> float:
    """Redis stopped for 10 s (instances keep being started meanwhile) and restarted empty."""
    start_workload(stack, work, auto=2, human=1)
    stack.redis.stop()
    stopped = time.monotonic()
    start_workload(stack, work, auto=2, human=1)
    complete_open_tasks(stack, work)
    time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))
    stack.redis.start()
    return time.monotonic()


def duplicate_delivery(stack: Stack, work: Workload) -> float:
    """Every job message of the run delivered three times more (pending and finished jobs)."""
    from celery import Celery

    producer = Celery("chaos-duplicates", broker=stack.redis.url)
    start_workload(stack, work)
    until = time.monotonic() + 4
    sent = 0
    while time.monotonic() < until:
        complete_open_tasks(stack, work)
        for job_id, instance_id, _, _ in stack.jobs(work.tag):
            for _ in range(3):
                producer.send_task("engine.answer_doorbell", args=[job_id, instance_id])
                sent += 1
        time.sleep(0.3)
    work.problems.extend([] if sent else ["no duplicate was sent"])
    return time.monotonic()


def two_schedulers(stack: Stack, work: Workload) -> float:
    """A second Celery beat runs alongside the first for the whole run (timers, sweeps twice)."""
    second = stack.start_component("beat", as_name="beat2")
    work.cleanup = second.stop
    time.sleep(1.5)  # let it start ticking
    start_workload(stack, work)
    return time.monotonic()


def beat_kill(stack: Stack, work: Workload) -> float:
    """kill -9 of Celery beat while timers are pending; a new beat starts."""
    start_workload(stack, work)
    time.sleep(0.5)
    stack.components["beat"].kill()
    time.sleep(1)
    stack.start_component("beat")
    return time.monotonic()


def concurrent_completion(stack: Stack, work: Workload) -> float:
    """Two approvers complete the same task at the same instant (see ``complete_open_tasks``)."""
    work.race = True
    start_workload(stack, work, auto=2, human=4)
    return time.monotonic()


def connector_hang(stack: Stack, work: Workload) -> float:
    """The HTTP service hangs on the first call of every step, far past the connector's timeout."""
    stack.http.hang_first = True
    work.cleanup = lambda: setattr(stack.http, "hang_first", False)
    start_workload(stack, work)
    return time.monotonic()


def web_kill(stack: Stack, work: Workload) -> float:
    """kill -9 of the web process while clients are starting instances; it is restarted. Clients
    retry with the same Idempotency-Key: every logical start must give exactly one instance."""
    threads = []
    for t in range(3):

        def client(t: int = t) -> None:
            deadline = time.monotonic() + 60
            for i in range(3):
                key = f"{work.tag}-{t * 3 + i}"
                process = "chaos_approval" if i == 2 else "chaos_order"
                start_instance(stack, work, key, process, deadline=deadline)

        threads.append(threading.Thread(target=client))
    for thread in threads:
        thread.start()
    time.sleep(0.15)
    stack.components["web"].kill()
    time.sleep(0.5)
    stack.start_component("web")
    wait_for(stack.web_healthy, timeout=60, what="the restarted web process")
    ended = time.monotonic()
    for thread in threads:
        thread.join()
    return ended


SAGAS_PER_RUN = 4  # chaos_saga: two HTTP bookings, then both undone by compensation


def worker_kill_mid_compensation(stack: Stack, work: Workload) -> float:
    """kill -9 of the whole worker while a compensation handler (an undo step) runs; a new worker
    starts. No handler may be skipped or applied twice (invariants ``compensated_once``,
    ``compensation_complete``), and every saga finishes."""
    stack.http.delay = (0.3, 0.6)
    try:
        deadline = time.monotonic() + 60
        for i in range(SAGAS_PER_RUN):
            start_instance(stack, work, f"{work.tag}-{i}", "chaos_saga", deadline=deadline)
        try:
            wait_for(
                lambda: (
                    stack.sql(
                        "SELECT j.id FROM engine_job j JOIN engine_processinstance i "
                        "ON i.id = j.instance_id WHERE i.business_key LIKE %s AND j.status = %s "
                        "AND j.activity_id LIKE %s",
                        (f"{work.tag}-%", "running", "cancel_%"),
                    )
                    or None
                ),
                timeout=30,
                interval=0.02,
                what="a compensation handler in flight",
            )
        except AssertionError:
            work.notes.append("no compensation handler was seen in flight when the worker died")
        stack.components["worker"].kill()
        stack.start_component("worker")
        return time.monotonic()
    finally:
        stack.http.delay = (0.02, 0.15)


BREAKER_OUTAGE_SECONDS = 6.0
BREAKER_INSTANCES = 8
MAX_ATTEMPTS = 8  # chaos_order's HTTP step (flowgate:maxAttempts)


def breaker_open(stack: Stack, work: Workload) -> float:
    """The service answers 503 on one path prefix for 6 s while 8 instances call it. That prefix
    has its own circuit and thresholds (stack.BREAKER_THRESHOLDS: opens after 2 failures, 2 s
    cool-down): it must open (audited), hold the steps back without calling (job.deferred, no
    attempt spent), let one probe per cool-down through, and close on the first probe after the
    outage; the target gets at most a third of the calls the steps could make without it."""
    server = stack.http
    target = f"{server.url}{BREAKER_PREFIX}"
    with server.lock:
        server.prefix_calls.clear()
        server.down_prefix = BREAKER_PREFIX
    work.cleanup = lambda: setattr(server, "down_prefix", None)
    deadline = time.monotonic() + 60
    since = stack.sql("SELECT COALESCE(MAX(position), 0) FROM audit_auditevent")[0][0]
    for i in range(BREAKER_INSTANCES):
        start_instance(
            stack, work, f"{work.tag}-{i}", "chaos_order", deadline=deadline, base=target
        )
    time.sleep(BREAKER_OUTAGE_SECONDS)
    with server.lock:
        server.down_prefix = None
        calls = len(server.prefix_calls)
    ended = time.monotonic()
    opened = stack.sql(
        "SELECT COUNT(*) FROM audit_auditevent WHERE position > %s"
        " AND action = 'connector.circuit_opened' AND data->>'target' = %s",
        (since, target),
    )[0][0]
    deferred = stack.sql(
        "SELECT COUNT(*) FROM audit_auditevent WHERE position > %s AND action = 'job.deferred'"
        " AND data->>'reason' = 'circuit_open'",
        (since,),
    )[0][0]
    without = BREAKER_INSTANCES * MAX_ATTEMPTS  # what the steps may spend with no breaker
    work.notes.append(
        f"outage {BREAKER_OUTAGE_SECONDS:g} s: the target got {calls} calls (without the breaker "
        f"up to {without}); circuit opened {opened}x; {deferred} calls deferred without an attempt"
    )
    if not opened:
        work.problems.append(f"the circuit for {target} never opened ({calls} calls)")
    if not deferred:
        work.problems.append("no step was held back by the open circuit (no job.deferred)")
    if calls > without // 3:
        work.problems.append(
            f"the failing target got {calls} calls, more than a third of {without} "
            f"(thresholds {BREAKER_THRESHOLDS})"
        )
    return ended


SCENARIOS: dict[str, tuple[str, Callable[[Stack, Workload], float]]] = {
    "worker_child_kill": ("kill -9 of a worker pool child mid-job", worker_child_kill),
    "worker_kill": ("kill -9 of the whole worker mid-job, then a new worker", worker_kill),
    "postgres_restart": ("PostgreSQL restart (fast shutdown) mid-job", postgres_restart),
    "redis_outage": ("Redis stopped 10 s, restarted empty", redis_outage),
    "duplicate_delivery": ("every job message delivered 3 extra times", duplicate_delivery),
    "two_schedulers": ("two Celery beat schedulers at once", two_schedulers),
    "beat_kill": ("kill -9 of Celery beat with timers pending, then a new beat", beat_kill),
    "concurrent_completion": (
        "two approvers complete the same task at once",
        concurrent_completion,
    ),
    "connector_hang": ("HTTP service hangs past the connector timeout", connector_hang),
    "web_kill": ("kill -9 of the web process mid-request, then restarted", web_kill),
    "worker_kill_mid_compensation": (
        "kill -9 of the whole worker while a compensation handler runs, then a new worker",
        worker_kill_mid_compensation,
    ),
    "breaker_open": (
        "HTTP service answers 503 on one path prefix for 6 s: its circuit opens, then closes",
        breaker_open,
    ),
}


def run_scenario(stack: Stack, name: str, run: int, *, session: str) -> RunResult:
    _, inject = SCENARIOS[name]
    work = Workload(tag=f"{session}-{name}-{run}")
    restarts_before = len(stack.restarts)
    fault_ended = inject(stack, work)
    finished = settle(
        stack,
        work,
        timeout=RECOVERY_BOUND_SECONDS * 3,
        race=work.race,
    )
    if work.cleanup is not None:
        work.cleanup()
    rows = stack.instances(work.tag)
    keys = [key for _, key, _ in rows]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    lost = sorted(set(work.keys) - set(keys))
    problems = list(work.problems)
    if duplicates:
        problems.append(f"duplicate instances for {duplicates}")
    if lost:
        problems.append(f"lost instances {lost}")
    report = stack.check_invariants()
    problems += [f"[{v['check']}] {v['message']}" for v in report["violations"]]
    return RunResult(
        scenario=name,
        run=run,
        instances=len(rows),
        violations=len(problems),
        recovery_seconds=round(max(0.0, finished - fault_ended), 2),
        details=problems[:20] + work.notes,
        restarts=stack.restarts[restarts_before:],
    )
