"""The HTTP connector's timeout bounds the whole exchange, even against a slow-drip server that
sends one byte at a time (each byte well inside a per-read timeout)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings

from apps.common.actors import Actor
from apps.connectors.base import ConnectorError
from apps.connectors.http.connector import HttpConnector
from apps.connectors.http.inputs import MAX_TIMEOUT
from apps.engine import services
from apps.engine.models import Incident, JobStatus
from apps.processes.services import version_deploy
from portal.celery import app
from tests.engine.conftest import run_jobs
from tests.support import connectors as support_connectors

TIMED_OUT = (
    "GET http://127.0.0.1:{port} did not finish within its 1s timeout (connecting, sending, "
    "and receiving the headers and body together); will retry."
)


def run_timed(inputs, context):
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        HttpConnector().execute(inputs, context)
    return caught.value, time.monotonic() - started


def test_a_body_dripping_one_byte_at_a_time_is_cut_at_the_deadline(allow_server, context):
    # 40 bytes, one every 0.2 s: 8 s in all, each read returning well within 1 s.
    error, elapsed = run_timed(
        {"url": allow_server.url("/drip-body?n=40&every=0.2"), "timeout": 1}, context
    )
    assert error.permanent is False
    assert error.message == TIMED_OUT.format(port=allow_server.port)
    assert 0.9 <= elapsed < 1.6
    assert 2 <= allow_server.recorder.dripped <= 6


def test_headers_dripping_one_byte_at_a_time_are_cut_at_the_deadline(allow_server, context):
    error, elapsed = run_timed(
        {"url": allow_server.url("/drip-headers?every=0.2"), "timeout": 1}, context
    )
    assert error.permanent is False
    assert error.message == TIMED_OUT.format(port=allow_server.port)
    assert 0.9 <= elapsed < 1.6


def test_the_deadline_spans_redirect_hops(allow_server, context):
    # The first hop answers at once; the second drips: the deadline started before the first.
    target = quote("/drip-body?n=40&every=0.2", safe="")
    error, elapsed = run_timed(
        {"url": allow_server.url(f"/redirect?to={target}"), "timeout": 1}, context
    )
    assert error.message == TIMED_OUT.format(port=allow_server.port)
    assert 0.9 <= elapsed < 1.6


def test_a_fast_drip_that_finishes_inside_the_deadline_succeeds(allow_server, context):
    out = HttpConnector().execute(
        {"url": allow_server.url("/drip-body?n=5&every=0.05"), "timeout": 2}, context
    )
    assert out["status"] == 200
    assert out["text"] == "xxxxx"


# --- through the engine: the timed-out step is retried, then an incident says why -----------------

SYSTEM = Actor.system("test")


def one_step_process(connector: str, inputs: dict[str, str]) -> bytes:
    fields = "".join(
        f'<flowgate:input name="{name}" expression="{expr}" />' for name, expr in inputs.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="t">
  <bpmn:process id="slow_{connector}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" flowgate:connector="{connector}" flowgate:maxAttempts="2">
      <bpmn:extensionElements>{fields}</bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="StartEvent_1" targetRef="call" />
    <bpmn:sequenceFlow id="b" sourceRef="call" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def start(xml: bytes, variables: dict):
    deployed = version_deploy(xml=xml, actor=SYSTEM)
    assert deployed.deployed, deployed.version.problems
    return services.instance_start(version=deployed.version, variables=variables, actor=SYSTEM)


@pytest.mark.django_db
def test_a_slow_drip_step_is_retried_then_becomes_an_incident_saying_why(allow_server, settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    settings.FLOWGATE_JOB_RETRY_MAX_SECONDS = 0
    xml = one_step_process("http", {"url": "url", "timeout": "1"})
    instance = start(xml, {"url": allow_server.url("/drip-body?n=40&every=0.2")})
    started = time.monotonic()
    run_jobs(instance)
    assert time.monotonic() - started < 4  # two attempts of 1 s each, not 2 x 8 s
    job = instance.jobs.get()
    incident = Incident.objects.get(instance=instance)
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 2)
    assert incident.message == "Failed 2 of 2 attempts; last error: " + TIMED_OUT.format(
        port=allow_server.port
    )


def ran_too_long(inputs, context):
    raise SoftTimeLimitExceeded()


@pytest.mark.django_db
def test_a_step_stopped_by_the_worker_time_limit_is_retried_with_a_clear_message(settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    names = support_connectors.register_all({"ran_too_long": ran_too_long})
    try:
        instance = start(one_step_process("ran_too_long", {}), {})
        services.job_run(job_id=instance.jobs.get().pk, worker_id="w1")
    finally:
        support_connectors.unregister_all(names)
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert job.last_error == (
        "The step ran past the worker's 150s time limit (FLOWGATE_TASK_SOFT_TIME_LIMIT) and was "
        "stopped; will retry. Give the connector a shorter timeout."
    )


def test_time_limits_bound_every_task_above_the_longest_http_timeout():
    soft, hard = (
        django_settings.FLOWGATE_TASK_SOFT_TIME_LIMIT,
        django_settings.FLOWGATE_TASK_TIME_LIMIT,
    )
    assert (soft, hard) == (150, 180)
    longest_http_step = MAX_TIMEOUT + django_settings.FLOWGATE_HTTP_DNS_TIMEOUT
    assert longest_http_step < soft < hard
    # enforced in the worker process (apps/common/task_limits.py), not by Celery's pool parent
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (None, None)
