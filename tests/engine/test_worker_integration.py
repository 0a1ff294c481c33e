"""A real Celery worker against real PostgreSQL and Redis: nothing lost, nothing doubled.

Tests that break a server break one of their own: a private Redis (port 6391) and a private
PostgreSQL cluster (port 5444, the chaos suite's ``PrivatePostgres``). The machine's shared
servers, which other test runs use at the same time, are never stopped or restarted."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, Job, JobStatus, ProcessInstance
from apps.processes.services import version_deploy
from tests.engine.conftest import bpmn
from tests.support import connectors as recorder
from tests.support.worker import ROOT, WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("test")


@pytest.fixture
def fast_recovery(settings, test_connectors):
    settings.FLOWGATE_JOB_LEASE_SECONDS = 4
    settings.FLOWGATE_JOB_LOST_AFTER_SECONDS = 3
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0.2
    settings.FLOWGATE_JOB_RETRY_MAX_SECONDS = 1
    from portal.celery import app

    app.control.purge()
    recorder.reset()
    yield


def _completed(ids) -> int:
    return ProcessInstance.objects.filter(pk__in=ids, status=InstanceStatus.COMPLETED).count()


def test_a_real_worker_runs_automatic_instances_to_completion(deploy, fast_recovery):
    version = deploy("bench_auto.bpmn")
    worker = WorkerProcess(concurrency=2, name="basic").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"n": n}, actor=SYSTEM).pk
            for n in range(30)
        ]
        wait_until(lambda: _completed(ids) == 30, timeout=90, message="30 instances to complete")
    finally:
        worker.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    assert jobs.count() == 90
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    assert ProcessInstance.objects.get(pk=ids[5]).variables["prepared"] == 5


def test_a_worker_keeps_its_database_connection_across_jobs(deploy, fast_recovery):
    version = deploy("two_calls_tx.bpmn")
    worker = WorkerProcess(concurrency=1, name="keeper").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"sleep": 0}, actor=SYSTEM).pk
            for n in range(20)
        ]
        wait_until(lambda: _completed(ids) == 20, timeout=90, message="20 instances to complete")
    finally:
        worker.stop()
    calls = recorder.calls()
    assert len(calls) == 40
    # One worker process, one PostgreSQL session for all 20 tasks (Celery alone would reconnect
    # around every task).
    assert len({c["pid"] for c in calls}) == 1
    assert len({c["backend_pid"] for c in calls}) == 1


@pytest.mark.parametrize(
    "model",
    [
        "two_calls.bpmn",  # connector outside the lock, with a lease
        "two_calls_tx.bpmn",  # chainable connector: both calls applied in one transaction
    ],
)
def test_worker_killed_with_sigkill_mid_run_loses_and_doubles_nothing(deploy, fast_recovery, model):
    version = deploy(model)
    first = WorkerProcess(concurrency=2, name="doomed").start()
    ids = [
        services.instance_start(version=version, variables={"sleep": 0.02}, actor=SYSTEM).pk
        for n in range(200)
    ]
    try:
        wait_until(
            lambda: Job.objects.filter(instance_id__in=ids, status=JobStatus.DONE).count() >= 60,
            timeout=120,
            message="some jobs done before the crash",
        )
    finally:
        first.kill()
    second = WorkerProcess(concurrency=2, name="survivor").start()
    try:

        def settled():
            services.jobs_sweep()  # what beat does every few seconds
            return _completed(ids) == 200

        wait_until(settled, timeout=180, interval=1.0, message="all 200 instances after the crash")
    finally:
        second.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    # Exactly one activation row per (instance, activity), each applied once.
    assert jobs.count() == 400
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    for instance in ProcessInstance.objects.filter(pk__in=ids):
        assert (instance.variables["first_done"], instance.variables["second_done"]) == (True, True)
    # The connector may see a key again after the crash, never a different key for an activation.
    expected_keys = {job.idempotency_key for job in jobs}
    seen_keys = {call["key"] for call in recorder.calls()}
    assert seen_keys == expected_keys


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own (port 6391), so that it can be stopped and started."""
    import subprocess
    import time

    import redis as redis_client

    port = 6391
    url = f"redis://127.0.0.1:{port}/0"

    def start():
        subprocess.run(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(tmp_path),
                "--pidfile",
                str(tmp_path / "redis.pid"),
            ],
            check=True,
        )
        wait_until(lambda: _ping(url), timeout=10, message="private redis up")

    def stop():
        client = redis_client.Redis.from_url(url)
        try:
            client.shutdown(nosave=True)
        except redis_client.exceptions.ConnectionError:
            pass
        wait_until(lambda: not _ping(url), timeout=10, message="private redis down")
        time.sleep(0.2)

    start()
    from portal.celery import app

    saved = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield {"url": url, "start": start, "stop": stop}
    finally:
        app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None
        stop()


def _ping(url: str) -> bool:
    import redis as redis_client

    try:
        return bool(redis_client.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis_client.exceptions.ConnectionError:
        return False


@pytest.mark.timeout(600)
def test_a_ten_second_redis_outage_loses_no_work(deploy, fast_recovery, private_redis):
    import time

    version = deploy("bench_auto.bpmn")
    worker = WorkerProcess(concurrency=2, name="outage", REDIS_URL=private_redis["url"]).start()
    try:
        before = [
            services.instance_start(version=version, variables={"n": n}, actor=SYSTEM).pk
            for n in range(100)
        ]
        private_redis["stop"]()
        outage_started = time.monotonic()
        # Starts during the outage: the doorbell cannot ring, the rows are written all the same.
        during = [
            services.instance_start(version=version, variables={"n": n}, actor=SYSTEM).pk
            for n in range(100)
        ]
        time.sleep(max(0.0, 10 - (time.monotonic() - outage_started)))
        private_redis["start"]()
        ids = before + during

        def settled():
            services.jobs_sweep()
            return _completed(ids) == 200

        wait_until(settled, timeout=240, interval=1.0, message="all 200 instances after the outage")
    finally:
        worker.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    assert jobs.count() == 600
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    assert ProcessInstance.objects.get(pk=during[-1]).variables["prepared"] == 99


@pytest.fixture
def private_postgres(transactional_db):
    """A PostgreSQL cluster of this test's own (initdb + pg_ctl on port 5444, as the chaos suite's
    stack does), migrated, with Django and the workers pointed at it: the test may restart it.
    The machine's shared cluster (5432), which other test runs use, is never touched."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from django.core.management import call_command
    from django.db import connection

    from tests.chaos.stack import PrivatePostgres, missing_tools

    why = missing_tools()
    if why:
        pytest.fail(f"cannot start a private PostgreSQL cluster: {why}")
    shared_started = _postmaster_started()
    base = Path(tempfile.mkdtemp(prefix="flowgate-pg-restart-"))
    os.chmod(base, 0o755)  # noqa: S103 - the postgres user must reach its data dir
    cluster = PrivatePostgres(base, port=int(os.environ.get("PG_RESTART_TEST_PORT", "5444")))
    cluster.init()
    cluster.start()
    saved = dict(connection.settings_dict)
    try:
        cluster.create_database("flowgate_pg_restart")
        connection.close()
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(cluster.port), NAME="flowgate_pg_restart", USER="postgres"
        )
        call_command("migrate", verbosity=0)
        yield cluster
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    assert _postmaster_started() == shared_started, "the shared PostgreSQL cluster was restarted"


def _postmaster_started():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        return cursor.fetchone()[0]


def _sweep_tolerating_outage() -> bool:
    from django.db import connection
    from django.db.utils import DatabaseError

    try:
        services.jobs_sweep()
        return True
    except DatabaseError:
        connection.close()
        return False


@pytest.mark.timeout(600)
def test_a_postgresql_restart_mid_run_loses_and_doubles_nothing(
    private_postgres, deploy, fast_recovery
):
    from django.db import connection

    version = deploy("two_calls.bpmn")
    worker = WorkerProcess(concurrency=2, name="pg-restart").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"sleep": 0.01}, actor=SYSTEM).pk
            for n in range(200)
        ]
        wait_until(
            lambda: Job.objects.filter(instance_id__in=ids, status=JobStatus.DONE).count() >= 50,
            timeout=120,
            message="some jobs done before the restart",
        )
        connection.close()
        private_postgres.restart()

        def settled():
            if not _sweep_tolerating_outage():
                return False
            return _completed(ids) == 200

        wait_until(
            settled, timeout=300, interval=1.0, message="all 200 instances after the restart"
        )
    finally:
        worker.stop()
    jobs = Job.objects.filter(instance_id__in=ids)
    assert jobs.count() == 400
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
    assert {call["key"] for call in recorder.calls()} == {job.idempotency_key for job in jobs}


def test_a_real_worker_stops_a_step_at_its_time_limit_and_retries_it(deploy, fast_recovery):
    """The worker process arms FLOWGATE_TASK_SOFT_TIME_LIMIT itself (apps/common/task_limits.py):
    a step that sleeps past it is stopped, recorded as a failed attempt and retried, and the
    worker goes on with other work."""
    version = deploy("two_calls.bpmn")
    worker = WorkerProcess(
        concurrency=1,
        name="limits",
        FLOWGATE_TASK_SOFT_TIME_LIMIT="1",
        FLOWGATE_TASK_TIME_LIMIT="3",
    ).start()
    try:
        slow = services.instance_start(version=version, variables={"sleep": 30}, actor=SYSTEM)
        wait_until(
            lambda: "time limit" in (Job.objects.filter(instance=slow).first().last_error or ""),
            timeout=60,
            message="the slow step to be stopped at the soft limit",
        )
        job = Job.objects.get(instance=slow)
        assert job.last_error.startswith("The step ran past the worker's 1s time limit")
        quick = services.instance_start(version=version, variables={"sleep": 0}, actor=SYSTEM)
        wait_until(lambda: _completed([quick.pk]) == 1, timeout=60, message="the next instance")
    finally:
        worker.stop()


def test_a_step_that_ignores_the_soft_limit_ends_its_worker_process_at_the_hard_limit(
    fast_recovery,
):
    """At FLOWGATE_TASK_TIME_LIMIT the watchdog writes the step's stack to the worker's log and
    ends the pool process; the job's lease expires and the sweeper hands the job out again."""
    xml = bpmn("two_calls.bpmn").replace(b"test_record", b"test_stubborn")
    version = version_deploy(xml=xml, actor=SYSTEM).version
    worker = WorkerProcess(
        concurrency=1,
        name="hardlimit",
        FLOWGATE_TASK_SOFT_TIME_LIMIT="1",
        FLOWGATE_TASK_TIME_LIMIT="2",
    ).start()
    log = ROOT / "var" / "test-worker-hardlimit.log"
    try:
        instance = services.instance_start(version=version, variables={"sleep": 60}, actor=SYSTEM)
        wait_until(
            lambda: "test_stubborn" in log.read_text(),
            timeout=60,
            message="the hard limit's stack dump in the worker log",
        )
        job = Job.objects.get(instance=instance)
        assert job.status == JobStatus.RUNNING  # the process ended mid-step; the lease says so
        wait_until(
            lambda: (
                services.jobs_sweep()["expired_leases"] == 1
                or Job.objects.get(pk=job.pk).attempts > 1
            ),
            timeout=30,
            message="the sweeper to take the job back after its lease",
        )
    finally:
        worker.stop()
    assert "Timeout (0:00:02)" in log.read_text()
    job.refresh_from_db()
    assert "lease expired" in job.last_error or job.attempts > 1
    # the dead attempt is timed (start -> lease expiry): it ran 2 s before the hard limit ended
    # it, and its lease outlasted that (decision 039 addendum 2)
    assert job.lost_attempts_seconds >= 2.0
