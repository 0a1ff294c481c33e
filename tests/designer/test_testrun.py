"""Test runs: sample variables, stubbed service tasks, human tasks completed from the test
panel, and the path read back (completed elements, taken flows, where it waits, variables)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.designer import testrun
from apps.engine.models import Job, JobStatus, ProcessInstance
from apps.processes import gallery
from apps.processes.services import version_deploy
from tests.support import connectors

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def expense():
    cache.clear()
    return version_deploy(
        xml=gallery.template_get(slug="expense_approval").xml(), actor=SYSTEM
    ).version


def test_a_small_amount_runs_through_with_stubs(expense):
    instance = testrun.testrun_start(
        version=expense,
        variables={"amount": 50, "description": "pens"},
        stubs={"auto_approve": {"approved": True}, "notify_requester": {"sent": True}},
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, expense.xml).as_dict()
    assert trace["status"] == "completed"
    assert trace["completed"] == [
        "submit",
        "amount_check",
        "auto_approve",
        "notify_requester",
        "done",
    ]
    assert trace["flows"] == ["f_submit", "f_low", "f_auto", "f_notified"]
    assert trace["waiting"] == []
    steps = {s["activity_id"]: s["variables"] for s in trace["steps"]}
    assert steps["submit"] == {"amount": 50, "description": "pens"}
    assert steps["done"] == {"amount": 50, "description": "pens", "approved": True, "sent": True}
    # Nothing was left for the workers: every job ran with its stub.
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}


def test_a_large_amount_waits_for_the_manager_and_is_approved_from_the_panel(expense):
    instance = testrun.testrun_start(
        version=expense,
        variables={"amount": 5000, "description": "laptop"},
        stubs={},
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, expense.xml)
    assert trace.as_dict()["waiting"] == ["manager_approval"]
    assert trace.as_dict()["flows"] == ["f_submit", "f_high"]
    assert instance.business_key == testrun.TEST_RUN_KEY

    instance = testrun.testrun_complete_task(
        instance_id=instance.pk,
        activity_id="manager_approval",
        data={"note": "ok"},
        approved=True,
        stubs={},
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, expense.xml).as_dict()
    assert (trace["status"], trace["completed"][-3:]) == (
        "completed",
        ["approved_check", "notify_requester", "done"],
    )
    assert "f_yes" in trace["flows"] and "f_no" not in trace["flows"]
    assert trace["variables"]["approved"] is True  # a boolean, as the automatic approval writes


def test_a_rejection_takes_the_rejected_path_and_bad_requests_are_refused(expense):
    instance = testrun.testrun_start(
        version=expense, variables={"amount": 5000, "description": "x"}, stubs={}, actor=SYSTEM
    )
    from apps.common.errors import Conflict, InvalidInput

    with pytest.raises(InvalidInput, match="Approve or reject"):
        testrun.testrun_complete_task(
            instance_id=instance.pk,
            activity_id="manager_approval",
            data={},
            approved=None,
            stubs={},
            actor=SYSTEM,
        )
    with pytest.raises(Conflict, match="not a human task waiting"):
        testrun.testrun_complete_task(
            instance_id=instance.pk,
            activity_id="auto_approve",
            data={},
            approved=True,
            stubs={},
            actor=SYSTEM,
        )
    with pytest.raises(InvalidInput, match="Stub results must be a JSON object"):
        testrun.testrun_start(version=expense, variables={}, stubs={"a": 1}, actor=SYSTEM)
    instance = testrun.testrun_complete_task(
        instance_id=instance.pk,
        activity_id="manager_approval",
        data={},
        approved=False,
        stubs={},
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, expense.xml).as_dict()
    assert trace["completed"][-1] == "rejected" and trace["flows"][-1] == "f_no"


def test_without_stubs_service_tasks_wait_for_the_workers(expense):
    instance = testrun.testrun_start(
        version=expense, variables={"amount": 1, "description": "x"}, stubs=None, actor=SYSTEM
    )
    trace = testrun.trace_of(instance, expense.xml).as_dict()
    assert trace["waiting"] == ["auto_approve"]
    assert list(Job.objects.values_list("activity_id", "status")) == [
        ("auto_approve", JobStatus.PENDING)
    ]


def test_defaults_come_from_the_start_form_and_the_service_tasks(expense):
    assert testrun.testrun_defaults(xml=expense.xml) == (
        {"amount": 0, "description": ""},
        {"auto_approve": {}, "notify_requester": {}},
    )
    assert testrun.testrun_defaults(xml="<broken") == ({}, {})


def test_the_test_run_api(expense, make_user):
    client = APIClient()
    client.force_authenticate(make_user("designer"))
    started = client.post(
        "/api/v1/processes/expense_approval/test-runs/",
        {"variables": {"amount": 5000, "description": "x"}, "stubs": {}},
        format="json",
    )
    assert started.status_code == 201
    body = started.json()
    assert (body["key"], body["version"], body["waiting"]) == (
        "expense_approval",
        1,
        ["manager_approval"],
    )
    run = client.get(f"/api/v1/test-runs/{body['instance_id']}/")
    assert run.json()["steps"][-1]["activity_id"] == "manager_approval"
    done = client.post(
        f"/api/v1/test-runs/{body['instance_id']}/tasks/manager_approval/complete/",
        {"approved": True, "stubs": {}},
        format="json",
    )
    assert (done.status_code, done.json()["status"]) == (200, "completed")
    missing = client.post("/api/v1/processes/nope/test-runs/", {}, format="json")
    assert missing.status_code == 404

    refused = APIClient()
    refused.force_authenticate(make_user("approver"))
    count = ProcessInstance.objects.count()
    denied = refused.post(
        "/api/v1/processes/expense_approval/test-runs/", {"variables": {}}, format="json"
    )
    assert denied.status_code == 403
    assert ProcessInstance.objects.count() == count
    assert APIClient().get(f"/api/v1/test-runs/{body['instance_id']}/").status_code in (401, 403)


def _run_pending_jobs_as_a_worker(instance) -> None:
    from apps.engine import services as engine

    for job in Job.objects.filter(instance=instance, status=JobStatus.PENDING):
        engine.job_run(job_id=job.pk, worker_id="test-worker", instance_id=instance.pk)


def test_a_stubbed_task_after_a_real_one_is_stubbed_on_the_worker_too(expense):
    """auto_approve runs for real (set_variables); notify_requester, which follows it on the
    worker, completes with its stub result instead of calling its connector."""
    instance = testrun.testrun_start(
        version=expense,
        variables={"amount": 10, "description": "pens"},
        stubs={"notify_requester": {"stubbed": True}},
        real=["auto_approve"],
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, expense.xml).as_dict()
    assert trace["waiting"] == ["auto_approve"]  # left to the workers
    assert list(Job.objects.values_list("activity_id", "status")) == [
        ("auto_approve", JobStatus.PENDING)
    ]

    _run_pending_jobs_as_a_worker(instance)

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["approved"] is True  # the real connector's result
    assert instance.variables["stubbed"] is True  # the stub's result
    echo = Job.objects.get(activity_id="notify_requester")
    assert echo.status == JobStatus.DONE


def test_a_real_task_after_a_stubbed_one_calls_its_connector(expense):
    instance = testrun.testrun_start(
        version=expense,
        variables={"amount": 10, "description": "pens"},
        stubs={"auto_approve": {"approved": True, "from_stub": 1}},
        real=["notify_requester"],
        actor=SYSTEM,
    )
    instance.refresh_from_db()
    _run_pending_jobs_as_a_worker(instance)
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["from_stub"] == 1
    # echo returns its inputs: the real connector ran (a stub would have returned {}).
    assert "message" in instance.variables


def test_instances_that_are_not_test_runs_are_never_stubbed(expense):
    from apps.engine import services as engine

    instance = engine.instance_start(
        version=expense, variables={"amount": 10, "description": "pens"}, actor=SYSTEM
    )
    job = Job.objects.get(instance=instance)
    assert testrun.stub_for_job(job) is None


def test_a_test_run_of_an_earlier_version(expense, make_user):
    second = (
        gallery.template_get(slug="expense_approval")
        .xml()
        .replace('name="Expense approval"', 'name="Expense approval v2"')
    )
    assert version_deploy(xml=second, actor=SYSTEM).version.number == 2
    client = APIClient()
    client.force_authenticate(make_user("designer"))
    url = "/api/v1/processes/expense_approval/test-runs/"
    body = {"variables": {"amount": 5000, "description": "x"}, "stubs": {}}
    assert client.post(url, body, format="json").json()["version"] == 2  # the latest
    first = client.post(url, {**body, "version": 1}, format="json")
    assert (first.status_code, first.json()["version"]) == (201, 1)
    assert ProcessInstance.objects.get(pk=first.json()["instance_id"]).version_id == expense.pk
    missing = client.post(url, {**body, "version": 9}, format="json")
    assert (missing.status_code, missing.json()["error"]) == (404, "version_not_found")
    bad = client.post(url, {**body, "real": "notify"}, format="json")
    assert bad.status_code == 400


def test_a_job_whose_instance_the_engine_has_read_is_judged_without_a_query(
    expense, django_assert_num_queries
):
    """The chained path hands the stub hook the instance it has already read: an instance that is
    not a test run costs the hook no query (most automated steps run there)."""
    ordinary = ProcessInstance(business_key="order-17")
    job = Job(activity_id="notify", connector="echo")
    job.instance = ordinary
    with django_assert_num_queries(0):
        assert testrun.stub_for_job(job) is None


def test_a_waiting_user_task_carries_its_form_and_the_page_the_start_form(expense):
    xml = expense.xml.replace(
        "<bpmn:incoming>f_high</bpmn:incoming>",
        '<bpmn:extensionElements><flowgate:form>{"components": [{"type": "textfield", '
        '"key": "note", "label": "Note"}]}</flowgate:form></bpmn:extensionElements>'
        "<bpmn:incoming>f_high</bpmn:incoming>",
        1,
    )
    version = version_deploy(xml=xml, actor=SYSTEM).version
    run = testrun.testrun_start(
        version=version, variables={"amount": 5000, "description": "x"}, stubs={}, actor=SYSTEM
    )
    steps = {s["activity_id"]: s for s in testrun.trace_of(run, xml).as_dict()["steps"]}
    assert steps["manager_approval"]["form"] == {
        "components": [{"type": "textfield", "key": "note", "label": "Note"}]
    }
    assert steps["submit"]["form"] is None  # only a waiting human task offers its form
    start = testrun.start_form_of(xml=xml)
    assert [c["key"] for c in start["components"]] == ["amount", "description"]


@pytest.fixture
def saga_connectors():
    topics = ("book_hotel", "book_flight", "charge", "cancel_hotel", "cancel_flight")
    names = connectors.register_all({name: lambda inputs, context: {} for name in topics})
    yield
    connectors.unregister_all(names)


def test_a_test_run_shows_the_compensation_path(saga_connectors):
    xml = (Path(__file__).parent / "trip_saga_gateway.bpmn").read_bytes()
    result = version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    version = result.version
    instance = testrun.testrun_start(
        version=version,
        variables={"trip": "T"},
        stubs={
            "BookHotel": {"hotel_booking": "H"},
            "BookFlight": {"flight_booking": "F"},
            "Charge": {"charged": False},
        },
        actor=SYSTEM,
    )
    trace = testrun.trace_of(instance, version.xml).as_dict()
    assert trace["status"] == "completed"
    completed = trace["completed"]
    # the steps are ordered by time to the millisecond: the last handler, the throw and the end
    # event complete in one step and may tie; each handler ran in its own job
    assert completed[:5] == ["StartEvent_1", "BookHotel", "BookFlight", "Charge", "Charged"]
    assert set(completed[5:]) == {"CancelFlight", "CancelHotel", "UndoBookings", "Failed"}
    assert completed.index("CancelFlight") < completed.index("CancelHotel")
    assert "Flow_5" in trace["flows"]
