"""Separation of duties in approvals, and who a task may be handed to (apps.inbox.eligibility).

- one person decides at most once in one multi-instance approval ("2 of 3" is two people): the
  service refuses (page, API, bulk), the database refuses too;
- one person approves at one level of a request, unless the step says
  flowgate:allowSameApprover="true";
- reassign, delegate and out-of-office substitution go only to people eligible for the task,
  never by or to its requester.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, NotFound
from apps.engine.models import ProcessInstance
from apps.inbox import services
from apps.inbox.models import HumanTask
from apps.inbox.selectors import request_state
from apps.processes import gallery
from apps.processes import services as process_services
from apps.processes.demo import demo_decisions_ensure
from tests.engine.conftest import run_jobs
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db


def act(user) -> Actor:
    return Actor.for_user(user)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def deploy_xml(xml: str):
    result = process_services.version_deploy(xml=xml.encode(), actor=Actor.system("test"))
    assert result.deployed, result.version.problems
    return result.version


def state(*tasks: HumanTask) -> list[tuple]:
    return [
        HumanTask.objects.filter(pk=t.pk)
        .values_list("status", "assignee_id", "owner_id", "delegation", "completed_by_id")
        .get()
        for t in tasks
    ]


# --- one decision per person in a multi-instance approval --------------------------------------


@pytest.fixture
def change(people):
    """The gallery's change request: three CAB approvals, two approvals pass the change."""
    deploy_xml(gallery.template_get(slug="change_request").xml())
    instance = start(
        "change_request",
        people["requester"],
        title="Patch",
        risk="low",
        window_start="2030-01-01T00:00:00Z",
    )
    cab = list(HumanTask.objects.filter(instance=instance, status="open").order_by("pk"))
    return instance, cab


def test_the_cab_tasks_are_one_multi_instance_approval(change):
    _, cab = change
    assert len(cab) == 3
    assert len({t.multi_instance_id for t in cab}) == 1 and cab[0].multi_instance_id


def test_one_approver_cannot_satisfy_two_of_three(change, people):
    instance, cab = change
    alice = people["approver"]
    services.task_complete(task_id=cab[0].pk, user=alice, data={"approved": True}, actor=act(alice))
    before = state(cab[1], cab[2])
    with pytest.raises(AccessDenied) as caught:
        services.task_complete(
            task_id=cab[1].pk, user=alice, data={"approved": True}, actor=act(alice)
        )
    assert caught.value.code == "already_decided"
    assert caught.value.message == (
        "You already decided one of the parallel approvals of 'CAB approval (2 of 3)' in this "
        "request; each person decides once, so another person must decide this one."
    )
    # ...nor by claiming, the API, the page or "Approve selected"
    with pytest.raises(AccessDenied):
        services.task_claim(task_id=cab[1].pk, user=alice, actor=act(alice))
    response = api(alice).post(
        f"/api/v1/tasks/{cab[2].pk}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert (response.status_code, response.json()["error"]) == (403, "already_decided")
    results = services.tasks_bulk_approve(
        task_ids=[cab[1].pk, cab[2].pk], user=alice, actor=act(alice)
    )
    assert [r.ok for r in results] == [False, False]
    assert results[0].message.startswith("You already decided one of the parallel approvals")
    page = APIClient()
    page.force_login(alice)
    shown = page.get(f"/inbox/tasks/{cab[1].pk}/").content.decode()
    assert "You already decided one of the parallel approvals" in shown
    assert 'value="approve"' not in shown
    page.post(f"/inbox/tasks/{cab[1].pk}/decide/", {"decision": "approve"})
    assert state(cab[1], cab[2]) == before
    instance.refresh_from_db()
    assert instance.variables.get("cab_decision") is None or instance.status == "running"
    assert HumanTask.objects.filter(instance=instance, status="open").count() == 2
    # a second person passes it
    bob = people["approver2"]
    services.task_complete(task_id=cab[1].pk, user=bob, data={"approved": True}, actor=act(bob))
    assert HumanTask.objects.filter(instance=instance, status="open").count() == 0


def test_the_database_refuses_a_second_decision_by_the_same_person(change, people):
    _, cab = change
    alice = people["approver"]
    services.task_complete(task_id=cab[0].pk, user=alice, data={"approved": True}, actor=act(alice))
    with pytest.raises(IntegrityError), transaction.atomic():
        HumanTask.objects.filter(pk=cab[1].pk).update(
            status="completed", completed_by=alice, outcome="approved"
        )


def test_the_person_who_decided_is_not_offered_to_take_a_sibling(change, people):
    _, cab = change
    alice, bob = people["approver"], people["approver2"]
    services.task_complete(task_id=cab[0].pk, user=alice, data={"approved": True}, actor=act(alice))
    response = api(bob).post(f"/api/v1/tasks/{cab[1].pk}/delegate/", {"username": "approver1"})
    assert (response.status_code, response.json()["error"]) == (400, "not_eligible")
    page = APIClient()
    page.force_login(bob)
    shown = page.get(f"/inbox/tasks/{cab[1].pk}/").content.decode()
    assert '<option value="approver1">' not in shown
    assert '<option value="approver2">' not in shown  # not to oneself either
    assert '<option value="boss">' in shown


def test_the_inbox_list_offers_no_sibling_to_approve_in_bulk(change, people):
    _, cab = change
    alice, bob = people["approver"], people["approver2"]
    page = APIClient()
    page.force_login(alice)
    assert f'id="select-{cab[1].pk}"' in page.get("/inbox/").content.decode()
    services.task_complete(task_id=cab[0].pk, user=alice, data={"approved": True}, actor=act(alice))
    listed = page.get("/inbox/").content.decode()
    assert f'data-task="{cab[1].pk}"' in listed  # still listed (it is offered to her role)...
    assert f'id="select-{cab[1].pk}"' not in listed  # ...but not selectable to approve
    assert f'id="select-{cab[2].pk}"' not in listed
    page.force_login(bob)
    assert f'id="select-{cab[1].pk}"' in page.get("/inbox/").content.decode()


# --- one approval level per person --------------------------------------------------------------

ACCESS = gallery.template_get(slug="access_request")


def _access(people, *, allow_same: bool):
    xml = ACCESS.xml()
    if allow_same:
        xml = xml.replace(
            'id="security_approval" name="Security approval"',
            'id="security_approval" name="Security approval" flowgate:allowSameApprover="true"',
        )
    demo_decisions_ensure()  # its policy gate's decision
    deploy_xml(xml)
    instance = start(
        "access_request",
        people["requester"],
        system="crm",
        access_level="read",
        region="US",
        justification="sales",
    )
    run_jobs(instance)  # the policy gate allows: on to the manager
    boss = people["manager"]  # a manager and an approver: a candidate at both levels
    services.task_complete(
        task_id=open_task(instance, "manager_approval").pk,
        user=boss,
        data={"approved": True},
        actor=act(boss),
    )
    return instance, open_task(instance, "security_approval")


def test_the_manager_who_approved_cannot_also_approve_the_next_level(people):
    _, second = _access(people, allow_same=False)
    boss = people["manager"]
    with pytest.raises(AccessDenied) as caught:
        services.task_complete(
            task_id=second.pk, user=boss, data={"approved": True}, actor=act(boss)
        )
    assert caught.value.code == "approved_other_step"
    assert "You approved 'Manager approval' of this request" in caught.value.message
    second.refresh_from_db()
    assert second.status == "open"
    ok = services.task_complete(
        task_id=second.pk,
        user=people["approver"],
        data={"approved": True},
        actor=act(people["approver"]),
    )
    assert ok.status == "completed"


def test_a_step_may_allow_the_same_approver_when_the_model_says_so(people):
    _, second = _access(people, allow_same=True)
    assert second.allow_same_approver
    boss = people["manager"]
    done = services.task_complete(
        task_id=second.pk, user=boss, data={"approved": True}, actor=act(boss)
    )
    assert done.status == "completed"


# --- reassign / delegate / substitute: only to eligible people, never by the requester ----------


@pytest.fixture
def expense(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    instance = start("expense_approval", people["requester"], amount=2500, description="Desk")
    return instance, open_task(instance)


def test_the_api_lists_the_people_a_task_may_go_to(expense, people, make_user):
    make_user("manager", username="deputy", first_name="Dee", last_name="Puty")
    make_user(username="norole")
    _, task = expense
    response = api(people["manager"]).get(f"/api/v1/tasks/{task.pk}/eligible-people/")
    assert response.status_code == 200
    assert response.json() == [
        {"username": "boss", "name": ""},
        {"username": "deputy", "name": "Dee Puty"},
    ]  # the managers: not the auditor, nor a user without a role
    assert (
        api(people["auditor"]).get(f"/api/v1/tasks/{task.pk}/eligible-people/").status_code == 404
    )


@pytest.mark.parametrize("service", ["reassign", "delegate"])
@pytest.mark.parametrize(
    ("target", "code"),
    [("auditor1", "not_eligible"), ("norole", "not_eligible"), ("requester", "four_eyes")],
)
def test_a_managers_approval_goes_only_to_an_eligible_person(
    expense, people, make_user, service, target, code
):
    make_user(username="norole")
    _, task = expense
    before = state(task)
    events = AuditEvent.objects.count()
    response = api(people["manager"]).post(
        f"/api/v1/tasks/{task.pk}/{service}/", {"username": target}
    )
    assert (response.status_code, response.json()["error"]) == (400, code)
    assert response.json()["details"][0]["field"] == "username"
    assert state(task) == before and AuditEvent.objects.count() == events


def test_the_ineligible_target_cannot_approve_either(expense, people):
    _, task = expense
    response = api(people["auditor"]).post(
        f"/api/v1/tasks/{task.pk}/complete/", {"data": {"approved": True}}, format="json"
    )
    assert response.status_code in (403, 404)
    task.refresh_from_db()
    assert task.status == "open"


@pytest.mark.parametrize("service", ["reassign", "delegate"])
def test_the_requester_cannot_hand_her_own_approval_to_a_friend(
    deploy_inbox, people, make_user, service
):
    deploy_inbox("expense.bpmn")
    mona = make_user("manager", username="mona")  # a manager who requests her own expense
    make_user("manager", username="friend")
    instance = start("expense_approval", mona, amount=2500, description="Laptop")
    task = open_task(instance)
    before = state(task)
    response = api(mona).post(f"/api/v1/tasks/{task.pk}/{service}/", {"username": "friend"})
    assert (response.status_code, response.json()["error"]) == (403, "four_eyes")
    assert state(task) == before


def test_an_ineligible_substitute_gets_nothing_routed(deploy_inbox, people, make_user):
    deploy_inbox("expense.bpmn")
    boss = people["manager"]
    friend = make_user("auditor", username="friend")
    now = timezone.now()
    services.substitution_set(
        user=boss,
        substitute_username="friend",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        actor=act(boss),
    )
    instance = start("expense_approval", people["requester"], amount=2500, description="Desk")
    task = open_task(instance)
    assert (task.assignee_id, task.on_behalf_of_id) == (None, None)
    with pytest.raises(NotFound):  # not offered to them at all (404, not probeable)
        services.task_claim(task_id=task.pk, user=friend, actor=act(friend))
    created = AuditEvent.objects.get(action="task.created", task_id=task.pk)
    assert created.data["substitutes"] == []
    assert created.data["substitutes_refused"] == [
        {"for": "boss", "substitute": "friend", "reason": "not_candidate"}
    ]
    assert ProcessInstance.objects.get(pk=instance.pk).status == "running"


# --- 'approved' is a boolean on every path ------------------------------------------------------

EXPENSE = gallery.template_get(slug="expense_approval")


@pytest.mark.parametrize("outcome_variable", [None, "approved"])
@pytest.mark.parametrize("decision", [True, False])
def test_approved_is_a_boolean_after_a_person_decides(people, outcome_variable, decision):
    """The gallery's expense template names 'approved' as its outcome variable (and the same
    model with the default one): the gateway compares with True and routes right."""
    xml = EXPENSE.xml()
    assert ' flowgate:outcomeVariable="approved"' in xml  # the template names it so
    if outcome_variable is None:
        xml = xml.replace(' flowgate:outcomeVariable="approved"', "")
    deploy_xml(xml)
    instance = start("expense_approval", people["requester"], amount=5000, description="Desk")
    boss = people["manager"]
    services.task_complete(
        task_id=open_task(instance).pk,
        user=boss,
        data={"approved": decision, "comment": "ok" if decision else "too much"},
        actor=act(boss),
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.variables["approved"] is decision
    assert instance.status == "completed"
    reached = set(request_state(instance=instance).done_activities)
    assert ("done" in reached, "rejected" in reached) == (decision, not decision)


def test_approved_is_a_boolean_after_the_automatic_approval(people):
    deploy_xml(EXPENSE.xml())
    instance = start("expense_approval", people["requester"], amount=10, description="Pens")
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.variables["approved"] is True
    assert "done" in request_state(instance=instance).done_activities


def test_the_engine_refuses_approved_as_text(expense, people):
    _, task = expense
    boss = people["manager"]
    response = api(boss).post(
        f"/api/v1/tasks/{task.pk}/complete/", {"data": {"approved": "yes"}}, format="json"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_data")
    done = services.task_complete(
        task_id=task.pk, user=boss, data={"outcome": "approved"}, actor=act(boss)
    )
    assert done.data["approved"] is True and done.data["outcome"] == "approved"
