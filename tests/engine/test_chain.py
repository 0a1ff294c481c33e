"""Chainable steps: a worker runs them one after the other and applies them in one transaction.

The worker reads the instance without a lock, runs a job whose connector is chainable and every
chainable step that follows (outside any lock), then locks the instance once to write it all,
if nobody advanced it meanwhile. These tests pin what that must keep from the step-by-step path:
one row and one audit event per activation, failures recorded per step (retry or incident),
business errors routed, nothing of a chain kept when the process dies before the commit, and a
chain that lost the race to another change being run again rather than applied twice.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.connectors.base import BusinessError, ConnectorError
from apps.connectors.registry import chainable_names, get
from apps.engine import services
from apps.engine.models import (
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.processes import services as process_services
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
CALLS: list[tuple[str, str]] = []
FAILED_ONCE: set[str] = set()


class WorkerDied(BaseException):
    """Stands for the process dying mid-chain (not an error a connector reports)."""


def tx_count(inputs, context):
    CALLS.append(("tx_count", context.idempotency_key))
    return {"count": int(inputs.get("count", 0)) + 1}


def tx_fail_once(inputs, context):
    CALLS.append(("tx_fail_once", context.idempotency_key))
    if context.idempotency_key not in FAILED_ONCE:
        FAILED_ONCE.add(context.idempotency_key)
        raise ConnectorError("ledger busy, try again", permanent=False)
    return {"count": int(inputs.get("count", 0)) + 1}


def tx_permanent(inputs, context):
    CALLS.append(("tx_permanent", context.idempotency_key))
    raise ConnectorError("account 42 is closed", permanent=True)


def tx_business(inputs, context):
    CALLS.append(("tx_business", context.idempotency_key))
    raise BusinessError("NO_STOCK", "the item is out of stock")


DIE = {"now": True}


def tx_dies(inputs, context):
    CALLS.append(("tx_dies", context.idempotency_key))
    if DIE["now"]:
        raise WorkerDied
    return {"count": int(inputs.get("count", 0)) + 1}


def tx_bad_query(inputs, context):
    """A chainable function that queries the database, and fails."""
    CALLS.append(("tx_bad_query", context.idempotency_key))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM flowgate_no_such_table")
    return {}


RACE = {"pending": False}


def tx_racing(inputs, context):
    """Counts, and on its first call another change advances the instance meanwhile."""
    CALLS.append(("tx_racing", context.idempotency_key))
    if RACE["pending"]:
        RACE["pending"] = False
        ProcessInstance.objects.filter(pk=context.instance_id).update(steps=F("steps") + 1)
    return {"count": int(inputs.get("count", 0)) + 1}


LOCK_PROBE: list[str] = []


def tx_probe_lock(inputs, context):
    """Tries to lock the instance row from another session while the step runs."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=False
    ) as other:
        try:
            other.execute(
                "SELECT id FROM engine_processinstance WHERE id = %s FOR UPDATE NOWAIT",
                [context.instance_id],
            )
            LOCK_PROBE.append("free")
        except psycopg.errors.LockNotAvailable:
            LOCK_PROBE.append("locked")
        other.rollback()
    return {"count": int(inputs.get("count", 0)) + 1}


def plain_count(inputs, context):
    """Not chainable: runs with a lease."""
    CALLS.append(("plain_count", context.idempotency_key))
    return {"count": int(inputs.get("count", 0)) + 1}


@pytest.fixture(autouse=True)
def _chain_connectors(local_connectors):
    CALLS.clear()
    FAILED_ONCE.clear()
    LOCK_PROBE.clear()
    RACE["pending"] = False
    DIE["now"] = True
    local_connectors(
        {
            "tx_count": tx_count,
            "tx_fail_once": tx_fail_once,
            "tx_permanent": tx_permanent,
            "tx_business": tx_business,
            "tx_dies": tx_dies,
            "tx_bad_query": tx_bad_query,
            "tx_racing": tx_racing,
            "tx_probe_lock": tx_probe_lock,
        },
        chainable=True,
    )
    local_connectors({"plain_count": plain_count})


def _step(step_id: str, connector: str, *, output: str = "result['count']") -> str:
    return f"""
    <bpmn:serviceTask id="{step_id}" flowgate:connector="{connector}" flowgate:maxAttempts="3">
      <bpmn:extensionElements>
        <flowgate:input name="count" expression="count" />
        <flowgate:output name="count" expression="{output}" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>"""


def _sequence(*steps: tuple[str, str] | tuple[str, str, str]) -> bytes:
    """start -> steps... -> end; each step is (id, connector[, output expression])."""
    ids = ["start"] + [s[0] for s in steps] + ["end"]
    body = "".join(_step(s[0], s[1], **({"output": s[2]} if len(s) > 2 else {})) for s in steps)
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(zip(ids, ids[1:], strict=False))
    )
    return _definitions(
        f'<bpmn:startEvent id="start"/>{body}<bpmn:endEvent id="end"/>{flows}', "chain_seq"
    )


def _definitions(process_body: str, key: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="t">
  <bpmn:error id="err_stock" errorCode="NO_STOCK" />
  <bpmn:process id="{key}" isExecutable="true">{process_body}</bpmn:process>
</bpmn:definitions>""".encode()


def _start(xml: bytes, **variables):
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    instance = services.instance_start(
        version=result.version, variables={"count": 0, **variables}, actor=SYSTEM
    )
    first = Job.objects.get(instance=instance)
    return instance, first


def _job(instance, activity_id: str) -> Job:
    return Job.objects.get(instance=instance, activity_id=activity_id)


def _actions(instance) -> list[tuple[str, int | None]]:
    return list(
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("position")
        .values_list("action", "job_id")
    )


def test_builtin_pure_functions_are_chainable_and_say_so():
    assert {"echo", "set_variables"} <= set(chainable_names())
    assert "http" not in chainable_names()
    assert get("echo").describe()["chainable"] is True
    assert get("http").describe()["chainable"] is False


def test_a_chain_of_steps_is_saved_once_with_a_row_and_an_event_for_each_step():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_count"), ("c", "tx_count")))
    with CaptureQueriesContext(connection) as queries:
        executed = services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1")
    assert executed == 3
    # One save of the instance for the whole chain.
    saves = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "engine_processinstance"')
    ]
    assert len(saves) == 1
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)
    jobs = list(Job.objects.filter(instance=instance).order_by("id"))
    assert [(j.activity_id, j.status, j.attempts) for j in jobs] == [
        ("a", JobStatus.DONE, 1),
        ("b", JobStatus.DONE, 1),
        ("c", JobStatus.DONE, 1),
    ]
    # Each activation was called once, with its own key.
    assert CALLS == [("tx_count", j.idempotency_key) for j in jobs]
    succeeded = AuditEvent.objects.filter(
        instance_id=instance.pk, action=AuditAction.JOB_SUCCEEDED
    ).order_by("position")
    assert [e.job_id for e in succeeded] == [j.pk for j in jobs]
    for event, job in zip(succeeded, jobs, strict=True):
        completed = [s["activity_id"] for s in event.data["steps"] if s["kind"] == "completed"]
        assert completed[0] == job.activity_id
    assert _actions(instance)[-1][0] == AuditAction.INSTANCE_COMPLETED


def test_a_second_doorbell_for_a_chained_job_does_nothing():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_count")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w2") == 0
    instance.refresh_from_db()
    assert instance.variables["count"] == 2
    assert len(CALLS) == 2


def test_a_step_that_is_not_chainable_between_chains_runs_with_a_lease():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "plain_count"), ("c", "tx_count")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 3
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)
    assert [c[0] for c in CALLS] == ["tx_count", "plain_count", "tx_count"]
    assert set(Job.objects.filter(instance=instance).values_list("status", flat=True)) == {
        JobStatus.DONE
    }


def test_a_retryable_failure_mid_chain_keeps_the_steps_before_and_retries_with_the_same_key(
    settings,
):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_fail_once"), ("c", "tx_count")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.RUNNING, 1)
    failed = _job(instance, "b")
    assert (failed.status, failed.attempts, failed.last_error) == (
        JobStatus.PENDING,
        1,
        "ledger busy, try again",
    )
    assert failed.finished_at is None
    assert not Job.objects.filter(instance=instance, activity_id="c").exists()
    assert [a for a, _ in _actions(instance)][-2:] == [
        AuditAction.JOB_SUCCEEDED,
        AuditAction.JOB_FAILED,
    ]
    run_jobs(instance)
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (JobStatus.DONE, 2)
    keys_b = [key for name, key in CALLS if name == "tx_fail_once"]
    assert keys_b == [failed.idempotency_key] * 2


def _parallel(left: str, right: str) -> bytes:
    return _definitions(
        '<bpmn:startEvent id="start"/>'
        + _step("before", "tx_count")
        + '<bpmn:parallelGateway id="split"/>'
        + _step("left", left, output="result['count'] + 100")
        + _step("right", right)
        + '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
        + "".join(
            f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}" />'
            for n, (a, b) in enumerate(
                [
                    ("start", "before"),
                    ("before", "split"),
                    ("split", "left"),
                    ("split", "right"),
                    ("left", "join"),
                    ("right", "join"),
                    ("join", "end"),
                ]
            )
        ),
        "chain_par",
    )


def test_a_permanent_failure_on_one_branch_opens_an_incident_and_the_other_branch_goes_on():
    instance, first = _start(_parallel("tx_permanent", "tx_count"))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 3
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    assert _job(instance, "right").status == JobStatus.DONE
    left = _job(instance, "left")
    assert left.status == JobStatus.INCIDENT
    incident = Incident.objects.get(instance=instance)
    assert (incident.status, incident.job_id, incident.message) == (
        IncidentStatus.OPEN,
        left.pk,
        "account 42 is closed",
    )
    assert [c[0] for c in CALLS].count("tx_permanent") == 1


def test_a_business_error_in_a_chain_is_routed_to_its_boundary_event():
    body = (
        '<bpmn:startEvent id="start"/>'
        + _step("reserve", "tx_business")
        + '<bpmn:boundaryEvent id="no_stock" attachedToRef="reserve">'
        '<bpmn:errorEventDefinition errorRef="err_stock"/></bpmn:boundaryEvent>'
        + _step("backorder", "tx_count")
        + '<bpmn:endEvent id="done"/><bpmn:endEvent id="backordered"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reserve"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="reserve" targetRef="done"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="no_stock" targetRef="backorder"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="backorder" targetRef="backordered"/>'
    )
    instance, first = _start(_definitions(body, "chain_err"))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 1)
    reserve = _job(instance, "reserve")
    assert reserve.status == JobStatus.DONE
    assert "NO_STOCK" in reserve.last_error and "routed" in reserve.last_error
    routed = AuditEvent.objects.get(instance_id=instance.pk, job_id=reserve.pk)
    assert (routed.action, routed.data["routed"], routed.data["error_code"]) == (
        AuditAction.JOB_FAILED,
        True,
        "NO_STOCK",
    )
    assert not Incident.objects.filter(instance=instance).exists()


def test_a_result_the_engine_cannot_apply_is_redone_step_by_step_and_becomes_a_clear_incident():
    instance, first = _start(
        _sequence(("a", "tx_count"), ("b", "tx_count", "result['missing']"), ("c", "tx_count"))
    )
    services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1")
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.RUNNING, 1)
    assert _job(instance, "a").status == JobStatus.DONE
    b = _job(instance, "b")
    assert b.status == JobStatus.INCIDENT
    incident = Incident.objects.get(instance=instance)
    assert incident.message.startswith("The result could not be applied")
    assert "missing" in incident.message
    # The aborted chain was undone; redoing it called step a again, with the same key.
    keys_a = {key for name, key in CALLS[:1]}
    assert {key for name, key in CALLS if key in keys_a} == {_job(instance, "a").idempotency_key}


def test_a_worker_dying_mid_chain_leaves_nothing_of_the_chain_and_the_job_runs_again():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_dies"), ("c", "tx_count")))
    state_before = instance.state
    with pytest.raises(WorkerDied):
        services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1")
    instance.refresh_from_db()
    first.refresh_from_db()
    assert (instance.state, instance.status) == (state_before, InstanceStatus.RUNNING)
    assert (first.status, first.attempts) == (JobStatus.PENDING, 0)
    assert Job.objects.filter(instance=instance).count() == 1
    assert not AuditEvent.objects.filter(
        instance_id=instance.pk, action=AuditAction.JOB_SUCCEEDED
    ).exists()
    DIE["now"] = False
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w2") == 3
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)
    # Called again after the crash, never with a different key for the same activation.
    jobs = {j.activity_id: j.idempotency_key for j in Job.objects.filter(instance=instance)}
    assert [key for name, key in CALLS if name == "tx_count"] == [jobs["a"], jobs["a"], jobs["c"]]


def test_the_chain_limit_hands_the_rest_to_the_broker(settings):
    settings.FLOWGATE_INLINE_CHAIN_LIMIT = 2
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_count"), ("c", "tx_count")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    rest = _job(instance, "c")
    assert (rest.status, rest.attempts) == (JobStatus.PENDING, 0)
    assert rest.enqueued_at is not None
    assert run_jobs(instance) == 1
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)


def test_a_suspended_instance_runs_no_step_until_resumed():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_count")))
    services.instance_suspend(instance_id=instance.pk, actor=SYSTEM)
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 0
    first.refresh_from_db()
    assert (first.status, first.attempts, CALLS) == (JobStatus.PENDING, 0, [])
    services.instance_resume(instance_id=instance.pk, actor=SYSTEM)
    assert run_jobs(instance) == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_ringing_for_the_same_job_at_once_apply_the_chain_once():
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_count"), ("c", "tx_count")))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def work(name: str) -> None:
        try:
            barrier.wait()
            results.append(
                services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id=name)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Both may run the steps ahead; one applies them, the other finds the instance moved on.
    assert sorted(results) == [0, 3]
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 3)
    jobs = list(Job.objects.filter(instance=instance))
    assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.DONE, 1)] * 3
    keys = [key for _, key in CALLS]
    assert set(keys) == {j.idempotency_key for j in jobs}
    assert all(keys.count(key) <= 2 for key in keys)


@pytest.mark.django_db(transaction=True)  # as in a worker: no transaction around the job
def test_a_chainable_function_whose_query_fails_is_an_ordinary_failed_attempt(settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    instance, first = _start(_sequence(("a", "tx_count"), ("b", "tx_bad_query")))
    services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1")
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.RUNNING, 1)
    failed = _job(instance, "b")
    assert (failed.status, failed.attempts) == (JobStatus.PENDING, 1)
    assert "flowgate_no_such_table" in failed.last_error
    assert _job(instance, "a").status == JobStatus.DONE


def test_a_chain_that_lost_the_race_to_another_change_runs_again_and_applies_once():
    instance, first = _start(_sequence(("a", "tx_racing"), ("b", "tx_count")))
    RACE["pending"] = True
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 2)
    jobs = {j.activity_id: j for j in Job.objects.filter(instance=instance)}
    assert (jobs["a"].attempts, jobs["b"].attempts) == (1, 1)
    # The first run was discarded whole and run again: each step twice, with its one key.
    once = [("tx_racing", jobs["a"].idempotency_key), ("tx_count", jobs["b"].idempotency_key)]
    assert CALLS == once + once
    assert (
        AuditEvent.objects.filter(instance_id=instance.pk, action=AuditAction.JOB_SUCCEEDED).count()
        == 2
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_chainable_connectors_run_while_the_instance_row_is_not_locked():
    instance, first = _start(_sequence(("a", "tx_probe_lock"), ("b", "tx_probe_lock")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 2
    assert LOCK_PROBE == ["free", "free"]
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.COMPLETED, 2)


def test_a_first_step_that_fails_for_good_opens_an_incident():
    instance, first = _start(_sequence(("a", "tx_permanent"), ("b", "tx_count")))
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 1
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (
        JobStatus.INCIDENT,
        1,
        "account 42 is closed",
    )
    incident = Incident.objects.get(instance=instance)
    assert (incident.status, incident.job_id) == (IncidentStatus.OPEN, first.pk)
    instance.refresh_from_db()
    assert (instance.status, instance.variables["count"]) == (InstanceStatus.RUNNING, 0)
    assert not Job.objects.filter(instance=instance, activity_id="b").exists()


def _slow_count(inputs, context):
    """Takes a measurable time, so that each step's own instants can be told apart."""
    import time

    time.sleep(0.02)
    return {"count": int(inputs.get("count", 0)) + 1}


def test_every_step_carries_its_own_start_and_end_chained_or_not(local_connectors):
    # Given a chain of two steps, a step with a lease, and a chained step after it
    local_connectors({"tx_slow": _slow_count}, chainable=True)
    local_connectors({"plain_slow": _slow_count})
    instance, first = _start(
        _sequence(("a", "tx_slow"), ("b", "tx_slow"), ("c", "plain_slow"), ("d", "tx_slow"))
    )
    # When one worker runs them all
    assert services.job_run(job_id=first.pk, instance_id=instance.pk, worker_id="w1") == 4
    # Then each step's row has its own working time, in order, none shorter than the connector
    jobs = list(Job.objects.filter(instance=instance).order_by("id"))
    assert [j.activity_id for j in jobs] == ["a", "b", "c", "d"]
    for job in jobs:
        assert job.started_at is not None and job.finished_at is not None, job.activity_id
        assert (job.finished_at - job.started_at).total_seconds() >= 0.02, job.activity_id
    for earlier, later in zip(jobs, jobs[1:], strict=False):
        assert earlier.finished_at <= later.started_at, (earlier.activity_id, later.activity_id)
