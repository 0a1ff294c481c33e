"""Processes, instances, tasks, messages and incidents over the API: access rules per endpoint
(anonymous, unprivileged, privileged; nothing changes when refused), error shapes, 409s,
idempotency."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connectors.base import ConnectorError
from apps.engine import services
from apps.engine.models import Incident, Job, ProcessInstance
from apps.inbox.models import HumanTask
from apps.processes.models import ProcessDraft, ProcessVersion
from tests.engine.conftest import bpmn, run_jobs
from tests.support import connectors

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = api_token_create(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def deploy_xml(client: APIClient, name: str):
    return client.post("/api/v1/processes/deploy/", {"xml": bpmn(name).decode()}, format="json")


def test_deploy_requires_a_designer_and_stores_nothing_otherwise(make_user):
    anonymous = deploy_xml(APIClient(), "approval.bpmn")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    refused = deploy_xml(client_for(make_user("approver")), "approval.bpmn")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert ProcessVersion.objects.count() == 0
    created = deploy_xml(client_for(make_user("designer")), "approval.bpmn")
    assert created.status_code == 201
    assert (created.json()["key"], created.json()["number"], created.json()["status"]) == (
        "expense_approval",
        1,
        "deployed",
    )


def test_invalid_bpmn_answers_422_with_every_problem_and_keeps_a_draft(make_user):
    xml = bpmn("bench_auto.bpmn").replace(b'flowgate:connector="echo"', b"").decode()
    designer = make_user("designer")
    response = client_for(designer).post("/api/v1/processes/deploy/", {"xml": xml}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_bpmn"
    assert {"prepare", "left", "right"} <= {d["element_id"] for d in body["details"]}
    # Kept as the designer's draft; a version number is only for a deployed version.
    assert ProcessVersion.objects.count() == 0
    assert ProcessDraft.objects.get(user=designer).xml == xml.strip()


def test_malicious_xml_answers_400_and_validate_reports_without_storing(make_user):
    client = client_for(make_user("designer"))
    evil = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><x>&lol;</x>'
    response = client.post("/api/v1/processes/deploy/", {"xml": evil}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "unsafe_xml"
    valid = client.post(
        "/api/v1/processes/validate/", {"xml": bpmn("approval.bpmn").decode()}, format="json"
    )
    assert valid.json() == {"valid": True, "problems": [], "warnings": []}
    assert ProcessVersion.objects.count() == 0


def test_start_with_idempotency_key_starts_once(make_user):
    deploy_xml(client_for(make_user("designer")), "approval.bpmn")
    client = client_for(make_user("approver"))
    body = {"process_key": "expense_approval", "business_key": "EXP-1", "variables": {"amount": 10}}
    first = client.post("/api/v1/instances/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/instances/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert ProcessInstance.objects.count() == 1
    assert first.json()["activity"]["user_tasks"][0]["name"] == "Review expense"


def test_tasks_flow_and_second_completion_is_409(make_user):
    deploy_xml(client_for(make_user("designer")), "approval.bpmn")
    requester = make_user("approver", username="requester")
    client_for(requester).post(
        "/api/v1/instances/",
        {"process_key": "expense_approval", "variables": {"amount": 99}},
        format="json",
    )
    approver = client_for(make_user("approver", username="approver1"))
    outsider = client_for(make_user("auditor"))
    listed = approver.get("/api/v1/tasks/").json()
    assert listed["count"] == 1
    task_id = listed["results"][0]["id"]
    assert outsider.get("/api/v1/tasks/").json()["count"] == 0
    assert (
        outsider.post(
            f"/api/v1/tasks/{task_id}/complete/", {"data": {"approved": True}}, format="json"
        ).status_code
        == 404
    )
    four_eyes = client_for(requester).post(
        f"/api/v1/tasks/{task_id}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert four_eyes.status_code == 403 and four_eyes.json()["error"] == "four_eyes"
    assert HumanTask.objects.get(pk=task_id).status == "open"
    assert approver.post(f"/api/v1/tasks/{task_id}/claim/").json()["assignee"] == "approver1"
    done = approver.post(
        f"/api/v1/tasks/{task_id}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert done.status_code == 200 and done.json()["outcome"] == "approved"
    twice = approver.post(
        f"/api/v1/tasks/{task_id}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert twice.status_code == 409 and twice.json()["error"] == "task_not_open"


def test_incidents_are_for_operators_and_retry_needs_admin_or_manager(make_user, settings):
    settings.FLOWGATE_JOB_RETRY_BASE_SECONDS = 0
    xml = bpmn("bench_auto.bpmn").replace(
        b'flowgate:connector="echo"', b'flowgate:connector="missing_connector"', 1
    )
    deployed = deploy_xml(client_for(make_user("designer")), "bench_auto.bpmn")
    assert deployed.status_code == 201
    result = client_for(make_user("designer")).post(
        "/api/v1/processes/deploy/", {"xml": xml.decode()}, format="json"
    )
    if result.status_code == 422:  # unknown connectors are refused at deploy: nothing to retry then
        assert "missing_connector" in str(result.json()["details"])
        return
    instance_id = (
        client_for(make_user("admin"))
        .post(
            "/api/v1/instances/",
            {"process_key": "bench_auto", "variables": {"n": 1}},
            format="json",
        )
        .json()["id"]
    )
    run_jobs(ProcessInstance.objects.get(pk=instance_id))
    incident = Incident.objects.get(instance_id=instance_id)
    assert client_for(make_user("approver")).get("/api/v1/incidents/").status_code == 403
    auditor = client_for(make_user("auditor"))
    assert auditor.get("/api/v1/incidents/").json()["count"] == 1
    assert auditor.post(f"/api/v1/incidents/{incident.pk}/retry/").status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "open"
    retried = client_for(make_user("manager")).post(f"/api/v1/incidents/{incident.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "retried"


def test_message_without_receiver_is_404_with_a_clear_message(make_user):
    response = client_for(make_user("approver")).post(
        "/api/v1/messages/", {"name": "payment", "correlation_key": "X-1"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["message"] == (
        "No instance is waiting for message 'payment' with correlation key 'X-1' and no deployed process starts with it."
    )


def test_instances_are_visible_only_to_their_people(make_user):
    deploy_xml(client_for(make_user("designer")), "approval.bpmn")
    starter = make_user("approver", username="starter")
    instance_id = (
        client_for(starter)
        .post(
            "/api/v1/instances/",
            {"process_key": "expense_approval", "variables": {"amount": 1}},
            format="json",
        )
        .json()["id"]
    )
    stranger = client_for(make_user("designer", username="stranger"))
    assert stranger.get(f"/api/v1/instances/{instance_id}/").status_code == 404
    assert client_for(starter).get(f"/api/v1/instances/{instance_id}/").status_code == 200
    refused = client_for(starter).post(f"/api/v1/instances/{instance_id}/cancel/")
    assert refused.status_code == 403
    assert ProcessInstance.objects.get(pk=instance_id).status == "running"
    assert (
        client_for(make_user("manager"))
        .post(f"/api/v1/instances/{instance_id}/cancel/")
        .json()["status"]
        == "cancelled"
    )


@pytest.fixture
def local_connectors():
    registered: list[str] = []
    yield lambda functions: registered.extend(connectors.register_all(functions))
    connectors.unregister_all(registered)


def test_cancel_with_compensation_needs_an_operator_and_undoes_completed_work(
    make_user, local_connectors
):
    calls: list[str] = []

    def flight_down(inputs, context):
        raise ConnectorError("flight API down", permanent=False)

    local_connectors(
        {
            "book_hotel": lambda i, c: calls.append("hotel") or {"hotel_booking": "H"},
            "book_flight": flight_down,
            "charge": lambda i, c: {},
            "cancel_hotel": lambda i, c: calls.append("cancel_hotel") or {},
            "cancel_flight": lambda i, c: calls.append("cancel_flight") or {},
        }
    )
    designer, manager = make_user("designer"), make_user("manager")
    assert deploy_xml(client_for(designer), "trip_saga.bpmn").status_code == 201
    started = client_for(designer).post(
        "/api/v1/instances/",
        {"process_key": "trip_saga", "variables": {"trip": "T"}},
        format="json",
    )
    instance_id = started.json()["id"]
    [hotel] = Job.objects.filter(instance_id=instance_id, activity_id="BookHotel")
    services.job_run(job_id=hotel.pk, worker_id="api-test")  # booked; the flight fails, retries
    assert calls == ["hotel"]
    url = f"/api/v1/instances/{instance_id}/cancel/"
    assert APIClient().post(url, {"compensate": True}, format="json").status_code == 401
    refused = client_for(make_user("approver", username="nobody")).post(
        url, {"compensate": True}, format="json"
    )
    assert refused.status_code in (403, 404)
    bad = client_for(manager).post(url, {"compensate": "maybe"}, format="json")
    assert bad.status_code == 400
    assert ProcessInstance.objects.get(pk=instance_id).status == "running"
    assert calls == ["hotel"]
    suspended = client_for(manager).post(f"/api/v1/instances/{instance_id}/suspend/")
    assert suspended.json()["status"] == "suspended"
    answer = client_for(manager).post(url, {"compensate": True, "reason": "test"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "running"  # resumed for the handler, until it has run
    assert answer.json()["compensation"] == {
        "undoing": ["Book hotel"],
        "resumed": True,
        "summary": "The suspended instance runs again to undo its work. Undoing 1 completed "
        "step (newest first: Book hotel); the instance ends cancelled when the last "
        "compensation step is done.",
    }
    run_jobs(ProcessInstance.objects.get(pk=instance_id))
    assert ProcessInstance.objects.get(pk=instance_id).status == "cancelled"
    assert calls == ["hotel", "cancel_hotel"]
    again = client_for(manager).post(url, {"compensate": True}, format="json")
    assert again.status_code == 409


def test_validate_accepts_a_modeler_saga_and_names_compensation_misuse_on_the_element(
    make_user, local_connectors
):
    topics = ("book_hotel", "book_flight", "charge", "cancel_hotel", "cancel_flight")
    local_connectors({name: lambda inputs, context: {} for name in topics})
    client = client_for(make_user("designer"))
    saga = bpmn("trip_saga.bpmn").decode()
    valid = client.post("/api/v1/processes/validate/", {"xml": saga}, format="json")
    assert valid.json() == {"valid": True, "problems": [], "warnings": []}
    misused = saga.replace(
        '<bpmn:association id="Association_1" associationDirection="One" '
        'sourceRef="HotelComp" targetRef="CancelHotel" />',
        "",
    )
    problems = client.post("/api/v1/processes/validate/", {"xml": misused}, format="json").json()
    assert problems["valid"] is False
    assert [(p["element_id"], p["code"]) for p in problems["problems"]] == [
        ("HotelComp", "compensation_without_handler"),
        ("CancelHotel", "compensation_handler_unused"),
    ]
    assert problems["problems"][1]["element_name"] == "Cancel hotel"
