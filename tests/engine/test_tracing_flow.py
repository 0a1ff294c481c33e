"""One trace from the caller to the service a worker calls: the start API honours the caller's
``traceparent``, the instance keeps the trace id (API, instance page, console), the worker's step
is a span of that trace (in-memory exporter), and the HTTP connector sends a ``traceparent``
with the same trace id and the step's own span id."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from apps.common import tracing
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import ProcessInstance
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask
from apps.processes.services import version_deploy
from apps.processes.webhooks import sign_v2
from tests.engine.conftest import run_jobs
from tests.engine.test_chain import _sequence, _start
from tests.engine.test_http_task import SYSTEM, api_server, process  # noqa: F401 - fixture
from tests.engine.test_start_restriction import CORE, ORDER, deploy
from tests.support.tracing import spans  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER = f"00-{TRACE_ID}-{CALLER_SPAN}-01"


@pytest.fixture
def deploy_approval(deploy):
    return deploy("approval.bpmn")


@pytest.fixture
def admin_client(make_user, settings):
    settings.FLOWGATE_TRACE_URL_TEMPLATE = "https://tempo.example.com/trace/{trace_id}"
    client = APIClient()
    client.force_login(make_user("admin", username="ops"))
    return client


def start_over_api(client, server, **headers):
    result = version_deploy(xml=process("'/echo-headers/200'"), actor=SYSTEM)
    assert result.deployed, result.version.problems
    response = client.post(
        "/api/v1/instances/",
        {
            "process_key": "call_api",
            "variables": {"base": server.url("/").rstrip("/"), "sku": "A-1", "qty": 1},
        },
        format="json",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_callers_trace_reaches_the_called_service_and_the_instance_shows_it(
    admin_client,
    api_server,  # noqa: F811
    spans,  # noqa: F811
):
    body = start_over_api(admin_client, api_server, traceparent=CALLER)
    assert (body["trace_id"], body["trace_url"]) == (
        TRACE_ID,
        f"https://tempo.example.com/trace/{TRACE_ID}",
    )
    instance = ProcessInstance.objects.get(pk=body["id"])
    job = instance.jobs.get()
    assert job.traceparent == CALLER  # the context travels on the row, not in a held span
    run_jobs(instance)

    [step] = [s for s in spans.get_finished_spans() if s.name == "flowgate.step create_order"]
    assert f"{step.context.trace_id:032x}" == TRACE_ID
    assert f"{step.parent.span_id:016x}" == CALLER_SPAN
    assert step.attributes["flowgate.instance_id"] == instance.pk
    assert step.attributes["flowgate.attempt"] == 1

    [request] = api_server.recorder.requests
    sent = request.headers["traceparent"]
    assert sent == f"00-{TRACE_ID}-{step.context.span_id:016x}-01"

    detail = admin_client.get(f"/api/v1/instances/{instance.pk}/").json()
    assert detail["trace_id"] == TRACE_ID
    link = f'href="https://tempo.example.com/trace/{TRACE_ID}" data-testid="trace-link"'
    for page in (f"/inbox/instances/{instance.pk}/", f"/admin-reports/instances/{instance.pk}/"):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert link in response.content.decode(), page


def test_without_a_traceparent_an_instance_starts_its_own_trace(admin_client, api_server):  # noqa: F811
    body = start_over_api(admin_client, api_server)
    assert len(body["trace_id"]) == 32 and body["trace_id"] != TRACE_ID
    int(body["trace_id"], 16)


def test_a_malformed_traceparent_is_ignored_not_refused(admin_client, api_server):  # noqa: F811
    body = start_over_api(admin_client, api_server, traceparent="00-nonsense-01")
    assert len(body["trace_id"]) == 32
    assert tracing.parse_traceparent("00-nonsense-01") is None


def test_a_message_start_joins_the_senders_trace(admin_client):
    deploy((CORE / "messages.bpmn").read_bytes())
    response = admin_client.post(
        "/api/v1/messages/", ORDER, format="json", headers={"traceparent": CALLER}
    )
    assert response.status_code == 200, response.content
    [started] = response.json()["instances"]
    assert ProcessInstance.objects.get(pk=started).trace_id == TRACE_ID


def test_a_task_completion_after_a_wait_links_its_request_to_the_instance_trace(
    deploy_approval,
    make_user,
    spans,  # noqa: F811
):
    requester, approver = make_user(username="req"), make_user("approver", username="boss")
    with tracing.incoming({"traceparent": CALLER}):
        instance = services.instance_start(
            version=deploy_approval, variables={"amount": 7}, actor=SYSTEM, started_by=requester
        )
    assert instance.trace_id == TRACE_ID
    task = HumanTask.objects.get(instance=instance)
    # a later request of its own trace completes the task: no span was held open meanwhile
    with tracing.tracer().start_as_current_span("POST /inbox/tasks/complete") as request_span:
        inbox.task_complete(
            task_id=task.pk, user=approver, data={"approved": True}, actor=Actor.for_user(approver)
        )
    [finished] = [s for s in spans.get_finished_spans() if s.name == "POST /inbox/tasks/complete"]
    assert (
        finished.context.trace_id == request_span.get_span_context().trace_id != int(TRACE_ID, 16)
    )
    [link] = finished.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (
        TRACE_ID,
        CALLER_SPAN,
    )


def test_chained_steps_are_spans_of_the_instance_trace(local_connectors, spans):  # noqa: F811
    local_connectors(
        {"add_one": lambda inputs, context: {"count": inputs["count"] + 1}}, chainable=True
    )
    with tracing.incoming({"traceparent": CALLER}):
        instance, _ = _start(_sequence(("s1", "add_one"), ("s2", "add_one")))
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.variables["count"] == 2
    chained = sorted(
        (s for s in spans.get_finished_spans() if s.attributes.get("flowgate.chained")),
        key=lambda s: s.name,
    )
    assert [s.name for s in chained] == ["flowgate.step s1", "flowgate.step s2"]
    for span in chained:
        assert f"{span.context.trace_id:032x}" == TRACE_ID
        assert f"{span.parent.span_id:016x}" == CALLER_SPAN


def test_a_webhook_start_joins_the_senders_trace(make_user):
    deploy((CORE / "messages.bpmn").read_bytes())
    creator = APIClient()
    creator.force_authenticate(make_user("designer", "manager", username="hooker"))
    hook = creator.post(
        "/api/v1/processes/messages/webhooks/", {"message_name": "order_placed"}, format="json"
    ).json()
    body = json.dumps({"order_id": "A-1"}).encode()
    ts, delivery = str(int(time.time())), "d-trace"
    response = APIClient().post(
        f"/api/v1/hooks/{hook['webhook']['id']}/",
        body,
        content_type="application/json",
        HTTP_X_FLOWGATE_TIMESTAMP=ts,
        HTTP_X_FLOWGATE_DELIVERY=delivery,
        HTTP_X_FLOWGATE_SIGNATURE=sign_v2(hook["secret"], ts, delivery, body),
        HTTP_TRACEPARENT=CALLER,
    )
    assert response.status_code in (200, 201, 202), response.content
    assert ProcessInstance.objects.get().trace_id == TRACE_ID
