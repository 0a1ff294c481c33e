"""SSRF end to end: a deployed process whose HTTP service task takes its URL from a variable that
the requester sets through the API. Internal addresses (and redirects to them, from a real local
server) end as a permanent incident naming the reason, at the first attempt, and the canary
listener on 127.0.0.1 sees no connection. The URL forms are the connector's own corpus
(tests/connectors/test_ssrf.py, reused); this runs them through the engine, job and incident path.
"""

from __future__ import annotations

import pytest

from apps.engine.models import Incident, JobStatus, ProcessInstance
from tests.connectors.servers import LocalServer
from tests.connectors.test_ssrf import DIRECT_CASES, REDIRECT_CASES
from tests.engine.conftest import run_jobs
from tests.security.conftest import api_client
from tests.security.corpus import corpus, refused

pytestmark = [pytest.mark.django_db, corpus("SSRF via a process")]

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="t">
  <bpmn:process id="fetch" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" flowgate:connector="http" flowgate:maxAttempts="3">
      <bpmn:extensionElements>
        <flowgate:input name="url" expression="target" />
        <flowgate:input name="query" expression="query" />
      </bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="call" />
    <bpmn:sequenceFlow id="b" sourceRef="call" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""

# Every other form of the connector's table (the table has 60+; the connector tests run all).
DIRECT = DIRECT_CASES[::2]


@pytest.fixture
def canary():
    with LocalServer() as server:
        yield server


@pytest.fixture
def fetch(world, settings):
    settings.FLOWGATE_HTTP_ALLOWLIST = []
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    deployed = api_client(world.people.dana).post(
        "/api/v1/processes/deploy/", {"xml": PROCESS}, format="json"
    )
    assert deployed.status_code == 201, deployed.content
    requester = api_client(world.people.rita)

    def run(target: str, query: dict | None = None):
        response = requester.post(
            "/api/v1/instances/",
            {"process_key": "fetch", "variables": {"target": target, "query": query or {}}},
            format="json",
        )
        refused(response, 201)  # accepted: the URL is data, checked when the step runs
        instance = ProcessInstance.objects.get(pk=response.json()["id"])
        run_jobs(instance)
        job = instance.jobs.get()
        return job, Incident.objects.get(instance=instance)

    return run


@pytest.mark.parametrize(("template", "fragment"), DIRECT)
def test_internal_url_from_a_variable_ends_in_a_permanent_incident(
    fetch, canary, template, fragment
):
    job, incident = fetch(template.format(port=canary.port))
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 1)
    assert fragment in incident.message
    assert canary.recorder.connections == 0


@pytest.fixture
def redirector(settings):
    with LocalServer() as server:
        yield server


@pytest.mark.parametrize(("target", "code", "fragment"), REDIRECT_CASES)
def test_redirect_to_an_internal_url_ends_in_a_permanent_incident(
    fetch, canary, redirector, settings, target, code, fragment
):
    settings.FLOWGATE_HTTP_ALLOWLIST = [f"127.0.0.1:{redirector.port}"]
    location = target.format(canary=canary.port)
    job, incident = fetch(redirector.url("/redirect"), {"to": location, "code": code})
    assert (job.status, job.attempts) == (JobStatus.INCIDENT, 1)
    assert fragment in incident.message
    assert [r.path.split("?")[0] for r in redirector.recorder.requests] == ["/redirect"]
    assert canary.recorder.connections == 0
