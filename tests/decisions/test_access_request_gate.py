"""The access request template's policy gate (decision ``access_request_policy``, deployed by
the demo seed): what self-service may never grant ends the request **rejected by policy**, with
the reason, visible to the requester through the API and on the request page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceOutcome, InstanceStatus
from apps.inbox.models import HumanTask
from apps.processes.demo import demo_processes_ensure
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
ADMIN_REASON = "Admin access is never granted through self-service: ask the security team."
PAYROLL_REASON = "Payroll and HR access is only granted in the EU region."


@pytest.fixture
def requester(make_user):
    demo_processes_ensure()
    return make_user(username="rita")


def _request(user, **variables):
    instance = services.instance_start(
        process_key="access_request",
        variables={"justification": "needed for the quarter close", **variables},
        actor=Actor.for_user(user),
        started_by=user,
    )
    run_jobs(instance)
    instance.refresh_from_db()
    return instance


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("variables", "reason", "rule"),
    [
        ({"system": "crm", "access_level": "admin", "region": "EU"}, ADMIN_REASON, "Rule_no_admin"),
        (
            {"system": "Payroll", "access_level": "read", "region": "US"},
            PAYROLL_REASON,
            "Rule_payroll_eu_only",
        ),
    ],
)
def test_a_denied_request_ends_rejected_by_policy_before_anyone_approves(
    requester, variables, reason, rule
):
    instance = _request(requester, **variables)
    assert (instance.status, instance.outcome, instance.outcome_reason) == (
        InstanceStatus.CANCELLED,
        InstanceOutcome.REJECTED_BY_POLICY,
        reason,
    )
    assert not HumanTask.objects.filter(instance=instance).exists()
    assert not instance.incidents.exists()
    evaluated = AuditEvent.objects.get(action="decision.evaluated", instance_id=instance.pk)
    assert evaluated.data["decision"] == "access_request_policy"
    assert evaluated.data["matched_rule_ids"] == [rule]
    assert evaluated.data["policy_gate"] == {"allow": False, "reason": reason}


def test_an_allowed_request_goes_on_to_the_manager(requester):
    instance = _request(requester, system="payroll", access_level="read", region="EU")
    assert (instance.status, instance.outcome) == (InstanceStatus.RUNNING, "")
    assert instance.variables["policy"] == {
        "allow": True,
        "reason": "Allowed by the access request policy.",
    }
    task = HumanTask.objects.get(instance=instance)
    assert (task.activity_id, task.status) == ("manager_approval", "open")


def test_the_api_shows_the_outcome_and_its_reason(requester, make_user):
    denied = _request(requester, system="crm", access_level="admin", region="EU")
    allowed = _request(requester, system="crm", access_level="read", region="EU")

    detail = _api(requester).get(f"/api/v1/requests/{denied.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["status"], body["outcome"], body["outcome_reason"], body["status_label"]) == (
        "cancelled",
        "rejected_by_policy",
        ADMIN_REASON,
        "Rejected by policy",
    )
    mine = _api(requester).get("/api/v1/requests/").json()["results"]
    assert {r["id"]: r["status_label"] for r in mine} == {
        denied.pk: "Rejected by policy",
        allowed.pk: "Running",
    }

    admin = make_user("admin")
    instance = _api(admin).get(f"/api/v1/instances/{denied.pk}/").json()
    assert (instance["status"], instance["outcome"], instance["outcome_reason"]) == (
        "cancelled",
        "rejected_by_policy",
        ADMIN_REASON,
    )
    rejected = _api(admin).get("/api/v1/instances/?outcome=rejected_by_policy").json()["results"]
    assert [r["id"] for r in rejected] == [denied.pk]


def test_the_request_and_instance_pages_show_the_reason(requester, client, make_user):
    denied = _request(requester, system="hr", access_level="write", region="APAC")
    client.force_login(requester)
    page = client.get(f"/requests/{denied.pk}/").content.decode()
    assert 'data-testid="request-status">Rejected by policy</span>' in page
    assert f"<strong>Rejected by policy:</strong> {PAYROLL_REASON}" in page
    listing = client.get("/requests/").content.decode()
    assert f'title="{PAYROLL_REASON}">Rejected by policy</span>' in listing

    client.force_login(make_user("admin"))
    ops = client.get(f"/admin-reports/instances/{denied.pk}/").content.decode()
    assert 'data-testid="instance-status">Rejected by policy</span>' in ops
    assert PAYROLL_REASON in ops
