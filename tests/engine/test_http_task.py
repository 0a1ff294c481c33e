"""An HTTP service task, end to end through the engine: a real local server, the job's
idempotency key on the wire, the answer mapped into variables, 4xx -> incident, 5xx -> retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import Incident, InstanceStatus, Job, JobStatus
from apps.processes.services import version_deploy
from tests.connectors.servers import LocalServer
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def process(path_expression: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="t">
  <bpmn:process id="call_api" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="create_order" flowgate:connector="http" flowgate:maxAttempts="2">
      <bpmn:extensionElements>
        <flowgate:input name="method" expression="'POST'" />
        <flowgate:input name="url" expression="base + {path_expression}" />
        <flowgate:input name="json" expression="{{'sku': sku, 'qty': qty}}" />
        <flowgate:output name="echoed_sku" expression="result['json']['body']['sku']" />
        <flowgate:output name="server_saw_key" expression="result['json']['idempotency_key']" />
      </bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="StartEvent_1" targetRef="create_order" />
    <bpmn:sequenceFlow id="b" sourceRef="create_order" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.fixture
def api_server(settings):
    with LocalServer() as server:
        settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{server.port}"]
        settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
        yield server


def start(server, path_expression: str):
    result = version_deploy(xml=process(path_expression), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return services.instance_start(
        version=result.version,
        variables={"base": server.url("/").rstrip("/"), "sku": "A-1", "qty": 2},
        actor=SYSTEM,
    )


def test_the_answer_is_mapped_and_the_idempotency_key_reaches_the_server(api_server):
    instance = start(api_server, "'/ok'")
    run_jobs(instance)
    instance.refresh_from_db()
    job = instance.jobs.get()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables["echoed_sku"] == "A-1"
    assert instance.variables["server_saw_key"] == job.idempotency_key
    [request] = api_server.recorder.requests
    assert (request.method, request.headers["Idempotency-Key"]) == ("POST", job.idempotency_key)


def test_a_4xx_answer_is_a_permanent_incident(api_server):
    instance = start(api_server, "'/status/404'")
    run_jobs(instance)
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 1)
    assert "404" in Incident.objects.get(instance=instance).message


def test_a_5xx_answer_is_retried_with_the_same_key_then_an_incident(api_server):
    instance = start(api_server, "'/status/503?retry_after=0'")
    run_jobs(instance)
    job = instance.jobs.get()
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 2)
    keys = {r.headers["Idempotency-Key"] for r in api_server.recorder.requests}
    assert (len(api_server.recorder.requests), keys) == (2, {job.idempotency_key})


def test_an_internal_address_is_refused_without_the_allow_list(settings, api_server):
    settings.FLOWGATE_HTTP_ALLOWLIST = []
    instance = start(api_server, "'/ok'")
    run_jobs(instance)
    assert api_server.recorder.requests == []
    incident = Incident.objects.get(instance=instance)
    assert "FLOWGATE_HTTP_ALLOWLIST" in incident.message


def test_a_step_with_a_long_timeout_keeps_its_lease_past_that_timeout(api_server, settings):
    # the sweeper takes back expired leases: a lease shorter than the call's own timeout handed a
    # call still running to a second worker, and the other system saw the request twice
    settings.FLOWGATE_JOB_LEASE_SECONDS = 60
    instance = start(api_server, "'/ok'")
    job = instance.jobs.get()
    job.inputs = {**job.inputs, "timeout": 100}
    job.save(update_fields=["inputs"])
    claimed = services.job_claim(job_id=job.pk, worker_id="w1")
    assert claimed is not None
    lease = (claimed.lease_expires_at - claimed.started_at).total_seconds()
    assert lease == 115  # the step's 100 s timeout + a 15 s margin
    # 90 s later the call may still be running: the sweeper leaves it alone
    Job.objects.filter(pk=job.pk).update(
        lease_expires_at=F("lease_expires_at") - timedelta(seconds=90)
    )
    assert services.jobs_sweep()["expired_leases"] == 0


def test_the_lease_margin_past_a_steps_timeout_is_a_setting(api_server, settings):
    # the chaos suite shortens it (5 s) so that a killed worker's job comes back sooner
    settings.FLOWGATE_JOB_LEASE_SECONDS = 5
    settings.FLOWGATE_JOB_LEASE_MARGIN_SECONDS = 5
    instance = start(api_server, "'/ok'")
    job = instance.jobs.get()
    job.inputs = {**job.inputs, "timeout": 2}
    job.save(update_fields=["inputs"])
    claimed = services.job_claim(job_id=job.pk, worker_id="w1")
    assert claimed is not None
    assert (claimed.lease_expires_at - claimed.started_at).total_seconds() == 7


def test_a_step_with_a_short_timeout_keeps_the_configured_lease(api_server, settings):
    settings.FLOWGATE_JOB_LEASE_SECONDS = 60
    instance = start(api_server, "'/ok'")
    claimed = services.job_claim(job_id=instance.jobs.get().pk, worker_id="w1")
    assert claimed is not None
    assert (claimed.lease_expires_at - claimed.started_at).total_seconds() == 60
