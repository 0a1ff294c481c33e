"""Bounds on engine work through the services and the API (docs/engine/limits.md): runaway models
are refused at deploy or stopped with an incident; no request runs engine work without a bound;
a long loop completes with its variables."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Unprocessable
from apps.engine import services
from apps.engine.models import Incident, IncidentStatus, InstanceStatus, ProcessInstance
from apps.engine.runtime.state import load
from apps.processes import services as process_services
from apps.processes.models import ProcessVersion, VersionStatus
from tests.engine.conftest import bpmn, run_jobs
from tests.engine_core.test_limits import linear_process

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def unit_count(inputs, context):
    return {}


@pytest.fixture(autouse=True)
def _count_connector(local_connectors):
    local_connectors({"unit_count": unit_count}, chainable=True)


def deploy_raw(xml: bytes) -> ProcessVersion:
    return process_services.version_deploy(xml=xml, actor=SYSTEM).version


def problems_of(version: ProcessVersion) -> list[tuple[str | None, str]]:
    assert version.status == VersionStatus.DRAFT
    return [(p["element_id"], p["code"]) for p in version.problems]


# -- deploy refuses what cannot end -----------------------------------------------------------


def test_a_call_activity_calling_its_own_process_is_refused_at_deploy():
    version = deploy_raw(bpmn("call_self.bpmn"))
    assert problems_of(version) == [("again", "recursive_call")]
    assert "a process may not call itself" in version.problems[0]["message"]


def test_processes_calling_each_other_are_refused_at_deploy():
    assert deploy_raw(bpmn("ping_plain.bpmn")).status == VersionStatus.DEPLOYED
    assert deploy_raw(bpmn("call_pong.bpmn")).status == VersionStatus.DEPLOYED  # pong -> ping v1
    ping_v2 = deploy_raw(bpmn("call_ping.bpmn"))  # ping -> pong -> ping: a circle
    assert problems_of(ping_v2) == [("call_pong", "recursive_call")]
    assert "('ping' → 'pong' → 'ping')" in ping_v2.problems[0]["message"]


def test_a_literal_multi_instance_count_above_the_setting_is_refused(settings):
    version = deploy_raw(bpmn("mi_literal.bpmn"))
    assert problems_of(version) == [("work", "multi_instance_too_large")]
    assert "at most 1,000" in version.problems[0]["message"]


def test_a_linear_process_of_2000_steps_deploys_and_runs_in_bounded_runs(settings):
    settings.FLOWGATE_ENGINE_MAX_STEPS_PER_RUN = 1500
    version = deploy_raw(linear_process(2000))
    assert version.status == VersionStatus.DEPLOYED, version.problems
    instance = services.instance_start(version=version, variables={"x": 1}, actor=SYSTEM)
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.kind == "engine_limit"
    assert "after 1,500 steps in a row" in incident.message
    services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    instance.refresh_from_db()
    assert (instance.status, instance.variables) == (InstanceStatus.COMPLETED, {"x": 1})


# -- runs stop at a limit with an incident that says so --------------------------------------


def test_an_endless_loop_stops_with_an_incident_and_a_retry_runs_the_next_steps(settings):
    settings.FLOWGATE_ENGINE_MAX_STEPS_PER_RUN = 300
    version = deploy_raw(bpmn("endless_loop.bpmn"))
    started = time.monotonic()
    instance = services.instance_start(version=version, variables={"stop": 0}, actor=SYSTEM)
    assert time.monotonic() - started < 5
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING  # not "completed" with its variables erased
    assert instance.variables == {"stop": 0}
    [incident] = Incident.objects.filter(instance=instance)
    assert (incident.kind, incident.status, incident.job_id) == (
        "engine_limit",
        IncidentStatus.OPEN,
        None,
    )
    assert incident.activity_id in {"work", "more"}
    assert incident.message.startswith("The engine stopped at '")
    assert "after 300 steps in a row without reaching a wait" in incident.message
    assert "cancel this instance" in incident.message
    opened = AuditEvent.objects.filter(instance_id=instance.pk, action=AuditAction.INCIDENT_OPENED)
    assert [e.data["kind"] for e in opened] == ["engine_limit"]

    services.incident_retry(incident_id=incident.pk, actor=SYSTEM)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RETRIED
    [again] = Incident.objects.filter(instance=instance, status=IncidentStatus.OPEN)
    assert again.pk != incident.pk and "after 300 steps" in again.message

    services.instance_cancel(instance_id=instance.pk, actor=SYSTEM)
    again.refresh_from_db()
    assert again.status == IncidentStatus.RESOLVED


def test_a_later_run_that_finishes_the_stopped_work_resolves_its_incident(settings):
    settings.FLOWGATE_ENGINE_MAX_STEPS_PER_RUN = 10
    version = deploy_raw(bpmn("branch_long.bpmn"))
    instance = services.instance_start(version=version, variables={}, actor=SYSTEM)
    [incident] = Incident.objects.filter(instance=instance)
    assert "after 10 steps" in incident.message
    with transaction.atomic():
        locked = services.instance_lock(instance_id=instance.pk)
        [task] = load(locked).effects().user_tasks
        services.user_task_complete(instance=locked, task_id=task.task_id, data={}, actor=SYSTEM)
    instance.refresh_from_db()
    incident.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert incident.status == IncidentStatus.RESOLVED


def test_the_time_limit_stops_a_run(settings):
    settings.FLOWGATE_ENGINE_MAX_STEPS_PER_RUN = 10**9
    settings.FLOWGATE_ENGINE_MAX_SECONDS_PER_RUN = 0.3
    version = deploy_raw(bpmn("endless_loop.bpmn"))
    started = time.monotonic()
    instance = services.instance_start(version=version, variables={"stop": 0}, actor=SYSTEM)
    assert time.monotonic() - started < 5
    [incident] = Incident.objects.filter(instance=instance)
    assert "after 0.3 seconds of steps" in incident.message


def test_a_multi_instance_counted_by_a_variable_over_the_limit_refuses_to_start():
    version = deploy_raw(bpmn("mi_expression.bpmn"))
    started = time.monotonic()
    with pytest.raises(Unprocessable) as info:
        services.instance_start(version=version, variables={"n": 1_000_000}, actor=SYSTEM)
    assert time.monotonic() - started < 2
    assert info.value.code == "start_failed"
    assert "would start 1,000,000 instances; one may start at most 1,000" in info.value.message
    assert ProcessInstance.objects.count() == 0


# -- a long loop completes -------------------------------------------------------------------


def test_a_counted_loop_of_600_turns_through_jobs_completes_with_its_variables():
    version = deploy_raw(bpmn("loop_counter.bpmn"))
    assert version.status == VersionStatus.DEPLOYED, version.problems
    instance = services.instance_start(version=version, variables={"i": 0, "n": 600}, actor=SYSTEM)
    run_jobs(instance, max_rounds=700)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables == {"i": 600, "n": 600}
    assert not Incident.objects.filter(instance=instance).exists()


# -- the API answers quickly -----------------------------------------------------------------


def client_for(user) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_starting_runaway_models_over_the_api_answers_quickly(make_user, settings):
    designer = client_for(make_user("designer"))
    starter = client_for(make_user("approver"))
    for name in ("endless_loop.bpmn", "mi_expression.bpmn", "call_self.bpmn"):
        designer.post("/api/v1/processes/deploy/", {"xml": bpmn(name).decode()}, format="json")
    refused = designer.post(
        "/api/v1/processes/deploy/", {"xml": bpmn("call_self.bpmn").decode()}, format="json"
    )
    assert refused.status_code == 422
    assert [d["code"] for d in refused.json()["details"]] == ["recursive_call"]

    started = time.monotonic()
    loop = starter.post(
        "/api/v1/instances/",
        {"process_key": "endless_loop", "variables": {"stop": 0}},
        format="json",
    )
    assert time.monotonic() - started < 2 * settings.FLOWGATE_ENGINE_MAX_SECONDS_PER_RUN + 3
    assert loop.status_code == 201
    assert loop.json()["status"] == "running"
    [incident] = Incident.objects.filter(instance_id=loop.json()["id"])
    assert incident.kind == "engine_limit"

    started = time.monotonic()
    many = starter.post(
        "/api/v1/instances/",
        {"process_key": "mi_expression", "variables": {"n": 1_000_000}},
        format="json",
    )
    assert time.monotonic() - started < 3
    assert many.status_code == 422
    assert many.json()["error"] == "start_failed"
    assert "one may start at most 1,000" in many.json()["message"]
